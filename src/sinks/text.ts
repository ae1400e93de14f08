/**
 * `--text`: every `dashboard_bucket_size` seconds of data time, a compact summary of the
 * bucket that just ended (rate, status classes, top sections and domains, a line per plug-in, alert state), and
 * every alert and recovery line as it happens. Works live, on files (data time) and in pipes.
 */
import type { AlertNotice } from '../alerts/monitor';
import { dateTime, truncate } from '../format';
import { describeLossCounts, LOSS_ADVICE } from '../run/captureHealth';
import { statusClasses } from '../stats/modules';
import type { RunView } from '../run/runState';
import { moduleRows, type StatModule } from '../stats/statModule';
import type { Sink } from './sink';

/** How many entries each summary line lists. */
const LIST = 3;

/** A plug-in's rows of the recent window on one line: `10.0.0.1 42  10.0.0.2 7`. */
function pluginLine(run: RunView, module: StatModule, now: number): string {
  if (run.stats.failureOf(module.name) !== undefined) return 'disabled';
  const rows = moduleRows(module, 'recent', now, LIST);
  if (rows instanceof Error) return rows.message;
  return rows.rows.map((cells) => cells.map((cell, i) => (i === 0 ? truncate(String(cell), 40) : String(cell))).join(' ')).join('  ') || '-';
}

/** Prints summaries and alert lines. */
export class TextSink implements Sink {
  private readonly unsubscribe: Array<() => void>;

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
    const bucket = this.run.config.dashboard_bucket_size;
    if ((second + 1) % bucket !== 0) return;
    this.write(this.summary(second));
  }

  /** The summary of the bucket that ends with second `now`. */
  summary(now: number): string {
    const { stats, alerts: monitor, config } = this.run;
    const b = stats.builtins;
    const span = b.requests.span('recent', now);
    const totals = b.requests.totals('recent', now);
    const rate = totals.requests / config.dashboard_bucket_size;
    const { classes } = statusClasses(b.statuses.top('recent', now, 1000));
    const state = monitor.stateName === 'LEARNING' ? `LEARNING (${monitor.learningLeft()}s left)` : monitor.stateName;
    const list = (entries: Array<{ key: string; count: number }>) => entries.map((e) => `${truncate(e.key, 40)} ${e.count}`).join('  ') || '-';
    const lines = [
      `${dateTime(now + 1)}  ${state}  ${totals.requests} req (${rate.toFixed(1)}/s)  window ${monitor.lastHits} hits`
        + `${monitor.limit !== null ? ` / limit ${Math.round(monitor.limit)}` : ''}`
        + `  2xx ${classes['2xx']} 3xx ${classes['3xx']} 4xx ${classes['4xx']} 5xx ${classes['5xx']}${classes.none ? ` none ${classes.none}` : ''}`,
      `  sections: ${list(b.sections.top('recent', now, LIST))}`,
      `  domains:  ${list(b.domains.top('recent', now, LIST))}`,
      // TLS only once there is some: a plain-HTTP run's summary stays as it was.
      ...(stats.tls.connections > 0 ? [`  tls:      ${list(stats.tls.names.view('recent', now).entries.slice(0, LIST))}`] : []),
      ...this.run.stats.plugins.map((module) => `  ${module.name}: ${pluginLine(this.run, module, now)}`),
    ];
    if (this.run.health.latest?.interfaceDown === 1) lines.push('  WARNING: the interface is down: no traffic can be seen');
    const lost = describeLossCounts(this.run.health.between(span.start, span.end));
    if (lost !== '') lines.push(`  WARNING: the capture lost ${lost} in these ${config.dashboard_bucket_size}s: counts are incomplete (${LOSS_ADVICE})`);
    return lines.join('\n') + '\n';
  }

  finish(): void {
    for (const off of this.unsubscribe) off();
  }
}
