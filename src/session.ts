/**
 * One run of wiretop as its outputs see it: the settings, the statistics store, the alert
 * monitor, capture health, and the dashboard's filter. The main loop feeds it; outputs read it.
 *
 * A filter (`/` in the dashboard) narrows every panel to transactions whose host or URI match:
 * a second store takes the matching transactions from then on, primed with the matching ones
 * among the last `RECENT_EVENTS` seen, so the view is not empty when the filter starts.
 */
import { AlertMonitor } from './alerts/monitor';
import type { Config } from './config';
import type { StatModule } from './stats/statModule';
import { StatsStore } from './stats/store';
import type { CaptureStats, HttpEvent } from './types';

/** Transactions remembered to prime a new filter (bounded: ~15 MB at most). */
export const RECENT_EVENTS = 50_000;

/** An active filter. */
export interface ActiveFilter {
  text: string;
  matches: (event: HttpEvent) => boolean;
  store: StatsStore;
  /** Data time of the oldest transaction the filtered store knows. */
  since: number;
}

/** Parses a filter: `/regex/flags`, or a case-insensitive substring. Throws on a bad regex. */
export function parseFilter(text: string): (event: HttpEvent) => boolean {
  const regex = /^\/(.+)\/([a-z]*)$/.exec(text);
  if (regex !== null) {
    const pattern = new RegExp(regex[1], regex[2]);
    return (e) => pattern.test(e.host) || pattern.test(e.uri);
  }
  const needle = text.toLowerCase();
  return (e) => e.host.toLowerCase().includes(needle) || e.uri.toLowerCase().includes(needle);
}

/** The state of a run. */
export class Session {
  readonly store: StatsStore;
  readonly monitor: AlertMonitor;
  /** The latest capture-health counters (null before the first), and their data time. */
  captureStats: CaptureStats | null = null;
  statsNow = -Infinity;
  /** The capture is over (end of file, or stopped). */
  ended = false;
  filter: ActiveFilter | null = null;
  private readonly recent: HttpEvent[] = [];
  private recentNext = 0;

  constructor(readonly config: Config, readonly source: string, plugins: StatModule[] = []) {
    this.store = new StatsStore(config, plugins);
    this.monitor = new AlertMonitor(this.store, config);
  }

  /** Takes a batch of transactions. */
  ingest(events: readonly HttpEvent[]): void {
    this.store.ingest(events);
    for (const event of events) {
      if (this.recent.length < RECENT_EVENTS) this.recent.push(event);
      else this.recent[this.recentNext] = event;
      this.recentNext = (this.recentNext + 1) % RECENT_EVENTS;
    }
    const filter = this.filter;
    if (filter !== null) filter.store.ingest(events.filter(filter.matches));
  }

  /** Data time moves on (see StatsStore.advanceTo). */
  advanceTo(time: number): void {
    this.store.advanceTo(time);
    this.filter?.store.advanceTo(time);
  }

  /** New capture-health counters at data time `now`. */
  updateCapture(stats: CaptureStats, now: number): void {
    this.captureStats = stats;
    if (now > this.statsNow) this.statsNow = now;
  }

  /** The store the views read: the filtered one while a filter is on. */
  get viewStore(): StatsStore {
    return this.filter?.store ?? this.store;
  }

  /** Starts filtering by `text`; returns an error message for a bad pattern. */
  setFilter(text: string): string | null {
    let matches: (event: HttpEvent) => boolean;
    try {
      matches = parseFilter(text);
    } catch (error) {
      return `bad filter: ${(error as Error).message}`;
    }
    const store = new StatsStore(this.config);
    const ordered = this.recent.length < RECENT_EVENTS ? this.recent : [...this.recent.slice(this.recentNext), ...this.recent.slice(0, this.recentNext)];
    const primed = ordered.filter(matches);
    store.ingest(primed);
    if (this.store.lastClosed !== -Infinity) store.advanceTo(this.store.lastClosed + 1);
    this.filter = { text, matches, store, since: ordered.length > 0 ? ordered[0].ts : this.store.lastClosed };
    return null;
  }

  clearFilter(): void {
    this.filter = null;
  }
}
