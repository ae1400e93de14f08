/**
 * `--text`: every `dashboard_bucket_size` seconds of data time, a compact summary of the
 * bucket that just ended (rate, status classes, top sections and domains, alert state), and
 * every alert and recovery line as it happens. Works live, on files (data time) and in pipes.
 */
import type { AlertNotice } from '../alerts/monitor';
import { dateTime, truncate } from '../format';
import { describeLossCounts, LOSS_ADVICE } from '../run/captureHealth';
import { statusClasses } from '../stats/modules';
import type { Session } from '../session';
import type { Sink } from './sink';

/** How many entries each summary line lists. */
const LIST = 3;

/** Prints summaries and alert lines. */
export class TextSink implements Sink {
  private readonly unsubscribe: Array<() => void>;

  constructor(private readonly session: Session, private readonly write: (text: string) => void) {
    this.unsubscribe = [
      session.store.subscribe((second) => this.onSecond(second)),
      session.monitor.onNotice((notice) => this.onNotice(notice)),
    ];
  }

  onEvents(): void {}

  private onNotice(notice: AlertNotice): void {
    this.write(`${notice.message}\n`);
  }

  private onSecond(second: number): void {
    const bucket = this.session.config.dashboard_bucket_size;
    if ((second + 1) % bucket !== 0) return;
    this.write(this.summary(second));
  }

  /** The summary of the bucket that ends with second `now`. */
  summary(now: number): string {
    const { store, monitor, config } = this.session;
    const b = store.builtins;
    const span = b.requests.span('recent', now);
    const totals = b.requests.totals('recent', now);
    const rate = totals.requests / config.dashboard_bucket_size;
    const { classes } = statusClasses(b.statuses.top('recent', now, 1000));
    const state = monitor.state.name === 'LEARNING' ? `LEARNING (${monitor.learningLeft()}s left)` : monitor.state.name;
    const list = (entries: Array<{ key: string; count: number }>) => entries.map((e) => `${truncate(e.key, 40)} ${e.count}`).join('  ') || '-';
    const lines = [
      `${dateTime(now + 1)}  ${state}  ${totals.requests} req (${rate.toFixed(1)}/s)  window ${monitor.lastHits} hits`
        + `${monitor.limit !== null ? ` / limit ${Math.round(monitor.limit)}` : ''}`
        + `  2xx ${classes['2xx']} 3xx ${classes['3xx']} 4xx ${classes['4xx']} 5xx ${classes['5xx']}${classes.none ? ` none ${classes.none}` : ''}`,
      `  sections: ${list(b.sections.top('recent', now, LIST))}`,
      `  domains:  ${list(b.domains.top('recent', now, LIST))}`,
    ];
    const lost = describeLossCounts(this.session.health.between(span.start, span.end));
    if (lost !== '') lines.push(`  WARNING: the capture lost ${lost} in these ${config.dashboard_bucket_size}s: counts are incomplete (${LOSS_ADVICE})`);
    return lines.join('\n') + '\n';
  }

  finish(): void {
    for (const off of this.unsubscribe) off();
  }
}
