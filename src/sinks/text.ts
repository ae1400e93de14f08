/**
 * `--text`: every `dashboard_bucket_size` seconds of data time, a compact summary of the
 * bucket that just ended (rate, status classes, top sections and domains, a line per plug-in, alert state), and
 * every alert and recovery line as it happens. Works live, on files (data time) and in pipes.
 *
 * Buckets are aligned on multiples of their size (as the dashboard's are), so the first and the
 * last period of an input are usually partial: each is printed with its real span, so that
 * every request is in some summary. A bucket wholly before the input began (data time is
 * closed a second or two behind the capture's start) is not printed.
 */
import type { AlertNotice } from '../alerts/monitor';
import type { NotificationFailure } from '../alerts/notify';
import { dateTime, truncate } from '../format';
import { describeLossCounts, LOSS_ADVICE } from '../stats/loss';
import { statusClasses } from '../stats/classify';
import type { RunView } from '../run/runState';
import { moduleRows, type StatModule } from '../stats/statModule';
import type { Sink } from '../run/sink';

/** How many entries each summary line lists. */
const LIST = 3;

/** A plug-in's rows of the recent window on one line: `10.0.0.1 42  10.0.0.2 7`. */
function pluginLine(run: RunView, module: StatModule, now: number): string {
  if (run.stats.failureOf(module.name) !== undefined) return 'disabled';
  const rows = moduleRows(module, 'recent', now, LIST);
  if (rows instanceof Error) return rows.message;
  return rows.rows.map((cells) => cells.map((cell, i) => (i === 0 ? truncate(String(cell), 40) : String(cell))).join(' ')).join('  ') || '-';
}

/** The seconds a summary covers: `start` ≤ second ≤ `last`, within one bucket. */
export interface SummaryPeriod {
  start: number;
  last: number;
}

/** The line --text prints for a notification (webhook, --on-alert command) that failed. */
export function notificationFailureLine(failure: NotificationFailure): string {
  return `${failure.time} notification failed (${failure.rule}): ${failure.message}\n`;
}

/** Prints summaries and alert lines. */
export class TextSink implements Sink {
  private readonly unsubscribe: Array<() => void>;
  /** The last second a printed (or skipped) period covered. */
  private summarizedThrough = -Infinity;

  constructor(private readonly run: RunView, private readonly write: (text: string) => void) {
    this.unsubscribe = [
      run.onSecond((second) => this.onSecond(second)),
      run.onNotice((notice) => this.onNotice(notice)),
    ];
  }

  onEvents(): void {}

  private onNotice(notice: AlertNotice): void {
    this.write(`${notice.message}\n`);
  }

  private onSecond(second: number): void {
    if ((second + 1) % this.run.config.dashboard_bucket_size !== 0) return;
    this.summarizeThrough(second);
  }

  /** Prints the summary of the period that ends with second `last`, unless it holds no second of the input. */
  private summarizeThrough(last: number): void {
    const period = this.periodEndingAt(last);
    this.summarizedThrough = last;
    if (period !== null) this.write(this.summary(period));
  }

  /** The seconds of `last`'s bucket not yet summarized and not before the input began; null if none. */
  periodEndingAt(last: number): SummaryPeriod | null {
    const bucket = this.run.config.dashboard_bucket_size;
    const { health, stats } = this.run;
    // The input begins at its first counters or its first request, whichever the data puts first.
    const inputStart = Math.floor(Math.min(health.started, stats.earliestEventTs));
    const start = Math.max(Math.floor(last / bucket) * bucket, this.summarizedThrough + 1, inputStart);
    return start <= last ? { start, last } : null;
  }

  /** The summary of `period` (a whole bucket, or part of one). */
  summary(period: SummaryPeriod): string {
    const { stats, alerts: monitor, config } = this.run;
    const b = stats.builtins;
    const bucket = config.dashboard_bucket_size;
    // The views' "recent" window as of its bucket's last second is that bucket: the period's
    // data, whether the bucket is whole or the input ended inside it.
    const now = Math.floor(period.last / bucket) * bucket + bucket - 1;
    const seconds = period.last - period.start + 1;
    const partial = seconds < bucket;
    const totals = b.requests.totals('recent', now);
    const rate = totals.requests / seconds;
    const { classes } = statusClasses(b.statuses.top('recent', now, 1000));
    const state = monitor.stateName === 'LEARNING' ? `LEARNING (${monitor.learningLeft()}s left)` : monitor.stateName;
    const list = (entries: Array<{ key: string; count: number }>) => entries.map((e) => `${truncate(e.key, 40)} ${e.count}`).join('  ') || '-';
    const lines = [
      `${dateTime(period.last + 1)}  ${state}  ${totals.requests} req${partial ? ` in ${seconds}s, partial` : ''} (${rate.toFixed(1)}/s)  window ${monitor.lastHits} hits`
        + `${monitor.limit !== null ? ` / limit ${Math.round(monitor.limit)}` : ''}`
        + `  2xx ${classes['2xx']} 3xx ${classes['3xx']} 4xx ${classes['4xx']} 5xx ${classes['5xx']}${classes.none ? ` none ${classes.none}` : ''}`,
      // The filter in effect (--where) is said with every summary: its counts are of what it matched.
      ...(config.where !== null ? [`  where:    ${config.where}`] : []),
      `  sections: ${list(b.sections.top('recent', now, LIST))}`,
      `  domains:  ${list(b.domains.top('recent', now, LIST))}`,
      // TLS only once there is some: a plain-HTTP run's summary stays as it was.
      ...(stats.tls.connections > 0 ? [`  tls:      ${list(stats.tls.names.view('recent', now).entries.slice(0, LIST))}`] : []),
      // Protocols once more than plain HTTP/1.x is seen (HTTP/2, gRPC): a plain run's summary stays as it was.
      ...((this.run.health.latest?.h2Flows ?? 0) > 0 ? [`  protocols: ${list(b.protocols.top('recent', now, LIST))}`] : []),
      ...this.run.stats.plugins.map((module) => `  ${module.name}: ${pluginLine(this.run, module, now)}`),
    ];
    if (this.run.health.latest?.interfaceDown === 1) lines.push('  WARNING: the interface is down: no traffic can be seen');
    const lost = describeLossCounts(this.run.health.between(period.start, period.last + 1));
    if (lost !== '') lines.push(`  WARNING: the capture lost ${lost} in these ${seconds}s: counts are incomplete (${LOSS_ADVICE})`);
    return lines.join('\n') + '\n';
  }

  /** The input is over (its last second closed): the period it ended in is printed too. */
  finish(): void {
    const last = this.run.stats.lastClosed;
    if (last > this.summarizedThrough) this.summarizeThrough(last);
    for (const off of this.unsubscribe) off();
  }
}
