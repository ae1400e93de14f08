/** The built-in statistics: request counts and rates, and the top-N breakdowns. */
import type { Config } from '../config';
import type { HttpEvent } from '../types';
import { RateSeries } from './rateSeries';
import type { PanelRows, StatModule } from './statModule';
import { WindowedTopK, type TopKCapacity, type TopView } from './windowedTopK';
import { windowSeconds, windowSpan, type SecondSpan, type WindowName } from './windows';
import type { HeavyHitter } from './spaceSaving';
import { bytes, milliseconds as ms, share as percent } from '../format';

/** An event counts as an error when the server failed (5xx) or never answered. */
export function isErrorEvent(event: HttpEvent): boolean {
  return event.status === null || event.status >= 500;
}

/** Bytes of a transaction: request and response bodies. */
export function eventBytes(event: HttpEvent): number {
  return event.reqBytes + event.respBytes;
}

/** Requests, their rate over time, errors and bytes. */
export class RequestsModule implements StatModule {
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
    const span = windowSeconds(window, this.config.dashboard_bucket_size, this.config.max_retention_length);
    if (this.firstTs === Infinity) return 0;
    return Math.max(1, Math.min(span, now - Math.floor(this.firstTs) + 1));
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
    const totals = this.totals(window, now);
    const seconds = window === 'recent' ? this.config.dashboard_bucket_size : this.coveredSeconds(window, now);
    return {
      title: 'Requests',
      columns: ['Requests', 'Req/s', 'Errors', 'Bytes'],
      rows: [[String(totals.requests), (totals.requests / seconds).toFixed(1), percent(totals.errors, totals.requests), bytes(totals.bytes, 'compact')]],
    };
  }

  report(): unknown {
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

/** How a top-N module shows its entries. */
interface TopColumns {
  title: string;
  columns: string[];
  cells(entry: HeavyHitter, total: number): string[];
}

/** A breakdown by one key (section, host, user agent...) over every window. */
export class TopModule implements StatModule {
  readonly counter: WindowedTopK;

  constructor(
    readonly name: string,
    private readonly keyOf: (event: HttpEvent) => string,
    private readonly columns: TopColumns,
    config: Config,
    capacity: TopKCapacity,
    keepsLatency: boolean,
  ) {
    this.counter = new WindowedTopK({ bucketSeconds: config.dashboard_bucket_size, retentionSeconds: config.max_retention_length }, capacity, keepsLatency);
  }

  ingest(event: HttpEvent): void {
    this.counter.add(this.keyOf(event), event.ts, eventBytes(event), isErrorEvent(event), event.latencyMs);
  }

  tick(second: number): void {
    this.counter.closeSecond(second);
  }

  /** The merged summary of a window. */
  view(window: WindowName, now: number): TopView {
    return this.counter.view(window, now);
  }

  /** The top `limit` entries of a window, optionally only keys passing `filter`. */
  top(window: WindowName, now: number, limit: number, filter?: (key: string) => boolean): HeavyHitter[] {
    const entries = this.view(window, now).entries;
    const kept = filter === undefined ? entries : entries.filter((e) => filter(e.key));
    return kept.slice(0, limit);
  }

  rows(window: WindowName, now: number, limit: number, filter?: (key: string) => boolean): PanelRows {
    const view = this.view(window, now);
    return {
      title: this.columns.title,
      columns: this.columns.columns,
      rows: this.top(window, now, limit, filter).map((e) => this.columns.cells(e, view.total)),
      approximate: view.approximate,
    };
  }

  report(now: number, limit: number): unknown {
    const view = this.view('all', now);
    return {
      approximate: view.approximate,
      top: view.entries.slice(0, limit).map((e) => ({
        key: e.key,
        hits: e.count,
        ...(e.overcount > 0 ? { error: e.overcount } : {}),
        bytes: e.bytes,
        errors: e.errors,
        ...(e.latency !== null ? { latencyMs: { p50: e.latency.quantile(0.5), p95: e.latency.quantile(0.95), p99: e.latency.quantile(0.99) } } : {}),
      })),
    };
  }
}

/** Separates the two parts of a composite key (host + section). */
export const KEY_SEPARATOR = '\u0000';

const SMALL: TopKCapacity = { slice: 32, cumulative: 256, perSecond: 256 };
const MEDIUM: TopKCapacity = { slice: 128, cumulative: 2048, perSecond: 1024 };
const LARGE: TopKCapacity = { slice: 256, cumulative: 4096, perSecond: 2048 };

/** Every built-in module, by role. */
export interface BuiltinModules {
  requests: RequestsModule;
  sections: TopModule;
  domains: TopModule;
  userAgents: TopModule;
  methods: TopModule;
  statuses: TopModule;
  uris: TopModule;
  domainSections: TopModule;
}

/** The names the built-in modules take (a plug-in may not reuse them). */
export const BUILTIN_MODULE_NAMES = ['requests', 'sections', 'domains', 'userAgents', 'methods', 'statuses', 'uris', 'domainSections'] as const;

/** Creates the built-in modules for a config. */
export function createBuiltinModules(config: Config): BuiltinModules {
  return {
    requests: new RequestsModule(config),
    sections: new TopModule('sections', (e) => e.section, {
      title: 'Top sections', columns: ['Section', 'Hits', 'Share', 'Bytes', 'p95 ms', 'Err%'],
      cells: (e, total) => [e.key, String(e.count), percent(e.count, total), bytes(e.bytes, 'compact'), ms(e.latency?.quantile(0.95) ?? null), percent(e.errors, e.count)],
    }, config, MEDIUM, true),
    domains: new TopModule('domains', (e) => e.host, {
      title: 'Top domains', columns: ['Domain', 'Hits', 'Bytes', 'p50 ms', 'p95 ms', 'p99 ms'],
      cells: (e) => [e.key, String(e.count), bytes(e.bytes, 'compact'), ms(e.latency?.quantile(0.5) ?? null), ms(e.latency?.quantile(0.95) ?? null), ms(e.latency?.quantile(0.99) ?? null)],
    }, config, MEDIUM, true),
    userAgents: new TopModule('userAgents', (e) => (e.ua === '' ? '(none)' : e.ua), {
      title: 'User agents', columns: ['User agent', 'Hits', 'Share'],
      cells: (e, total) => [e.key, String(e.count), percent(e.count, total)],
    }, config, MEDIUM, false),
    methods: new TopModule('methods', (e) => e.method, {
      title: 'Methods', columns: ['Method', 'Hits', 'Share'],
      cells: (e, total) => [e.key, String(e.count), percent(e.count, total)],
    }, config, SMALL, false),
    statuses: new TopModule('statuses', (e) => (e.status === null ? 'none' : String(e.status)), {
      title: 'Status codes', columns: ['Status', 'Hits', 'Share'],
      cells: (e, total) => [e.key, String(e.count), percent(e.count, total)],
    }, config, SMALL, false),
    uris: new TopModule('uris', (e) => e.uri, {
      title: 'Top URIs', columns: ['URI', 'Hits', 'Share', 'Bytes', 'p95 ms', 'Err%'],
      cells: (e, total) => [e.key, String(e.count), percent(e.count, total), bytes(e.bytes, 'compact'), ms(e.latency?.quantile(0.95) ?? null), percent(e.errors, e.count)],
    }, config, LARGE, false),
    domainSections: new TopModule('domainSections', (e) => `${e.host}${KEY_SEPARATOR}${e.section}`, {
      title: 'Sections of domain', columns: ['Section', 'Hits', 'Share', 'Bytes', 'p95 ms', 'Err%'],
      cells: (e, total) => [e.key.slice(e.key.indexOf(KEY_SEPARATOR) + 1), String(e.count), percent(e.count, total), bytes(e.bytes, 'compact'), ms(e.latency?.quantile(0.95) ?? null), percent(e.errors, e.count)],
    }, config, MEDIUM, true),
  };
}

/** Counts of status classes (1xx..5xx, none) from a statuses view, and the error rate. */
export function statusClasses(entries: HeavyHitter[]): { classes: Record<string, number>; errorRate: number | null } {
  const classes: Record<string, number> = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 };
  let total = 0;
  for (const e of entries) {
    total += e.count;
    if (e.key === 'none') classes.none += e.count;
    else {
      const cls = `${e.key[0]}xx`;
      if (cls in classes) classes[cls] += e.count;
    }
  }
  return { classes, errorRate: total === 0 ? null : (classes['5xx'] + classes.none) / total };
}
