/** The `requests` statistic: requests, their rate over time, errors and bytes. */
import type { Config } from '../config';
import type { HttpEvent } from '../types';
import { eventBytes, isErrorEvent } from './classify';
import { requestsRows } from './panelColumns';
import { RateSeries } from './rateSeries';
import type { PanelRows, StatModule } from './statModule';
import { nowSpan, windowSpan, type SecondSpan, type WindowName } from './windows';

/** The `requests` module's report: totals over everything kept. */
export interface RequestsReport {
  requests: number;
  firstTs: number | null;
  lastTs: number | null;
  durationSeconds: number;
  requestsPerSecond: number;
  errors: number;
  bytes: number;
}

/** Requests, their rate over time, errors and bytes. */
export class RequestsModule implements StatModule<RequestsReport> {
  readonly name = 'requests';
  readonly series: RateSeries;
  total = 0;
  errors = 0;
  bytes = 0;
  firstTs = Infinity;
  lastTs = -Infinity;
  /** Events older than the retention when they arrived (not counted in the series). */
  tooOld = 0;

  constructor(private readonly config: Config) {
    this.series = new RateSeries(Math.ceil(config.max_retention_length) + 1);
  }

  ingest(event: HttpEvent): void {
    this.total++;
    const error = isErrorEvent(event);
    if (error) this.errors++;
    this.bytes += eventBytes(event);
    if (event.ts < this.firstTs) this.firstTs = event.ts;
    if (event.ts > this.lastTs) this.lastTs = event.ts;
    if (!this.series.add(event.ts, error, eventBytes(event))) this.tooOld++;
  }

  tick(second: number): void {
    this.series.advance(second);
  }

  /** Requests in the `seconds` seconds that end with second `now`. */
  requestsInLast(seconds: number, now: number): number {
    return this.series.requestsIn(now - seconds, now);
  }

  /** Seconds of `window` that data covers as of `now` (less than the window early on). */
  coveredSeconds(window: WindowName, now: number): number {
    const { start, end } = this.span(window, now);
    if (this.firstTs === Infinity) return 0;
    return Math.max(1, Math.min(end - start, now - Math.floor(this.firstTs) + 1));
  }

  /** Requests per second "now": the mean over the last NOW_SECONDS closed seconds (see nowSpan). */
  rateNow(now: number): number {
    if (now === -Infinity) return 0;
    const { start, end } = nowSpan(now);
    return this.series.requestsIn(start - 1, end - 1) / (end - start);
  }

  /** The seconds of a window (see windowSpan). */
  span(window: WindowName, now: number): SecondSpan {
    return windowSpan(window, now, this.config.dashboard_bucket_size, this.config.max_retention_length);
  }

  /** Requests, errors and bytes in a window. */
  totals(window: WindowName, now: number): { requests: number; errors: number; bytes: number } {
    const { start, end } = this.span(window, now);
    return this.series.totalsIn(start - 1, end - 1);
  }

  rows(window: WindowName, now: number): PanelRows {
    return requestsRows(this.totals(window, now), this.coveredSeconds(window, now));
  }

  report(): RequestsReport {
    const has = this.total > 0;
    const duration = has ? this.lastTs - this.firstTs : 0;
    return {
      requests: this.total,
      firstTs: has ? this.firstTs : null,
      lastTs: has ? this.lastTs : null,
      durationSeconds: Math.round(duration * 1000) / 1000,
      requestsPerSecond: duration > 0 ? Math.round((this.total / duration) * 100) / 100 : this.total,
      errors: this.errors,
      bytes: this.bytes,
    };
  }
}
