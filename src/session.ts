/**
 * One run of wiretop as its outputs see it: the settings, the statistics store, the alert
 * monitor, capture health, and the dashboard's filter. The main loop feeds it; outputs read it.
 *
 * A filter (`/` in the dashboard) narrows every panel to transactions whose host or URI match:
 * a second store takes the matching transactions from then on, primed with the matching ones
 * among the last `RECENT_EVENTS` seen, so the view is not empty when the filter starts. Those
 * are kept in the compact form they crossed from the worker in (~200 bytes each, outside the
 * JavaScript heap), not as objects: 50,000 event objects cost ~65 MB of heap.
 */
import { AlertMonitor } from './alerts/monitor';
import type { Config } from './config';
import type { StatModule } from './stats/statModule';
import { StatsStore } from './stats/store';
import type { CaptureStats, HttpEvent } from './types';
import { decodeEvents, encodeEvents, type EncodedBatch } from './capture/eventBatch';
import { CaptureHealth } from './run/captureHealth';

/** Seconds of data time over which "the capture is losing" is judged for the live views. */
export const LOSS_RECENT_SECONDS = 10;

/** Transactions remembered to prime a new filter (bounded: ~10 MB). */
export const RECENT_EVENTS = 50_000;

/** The last RECENT_EVENTS transactions (and less than one batch more), as encoded batches. */
class RecentTransactions {
  private readonly batches: EncodedBatch[] = [];
  private count = 0;

  add(batch: EncodedBatch): void {
    if (batch.count === 0) return;
    this.batches.push(batch);
    this.count += batch.count;
    while (this.count - this.batches[0].count >= RECENT_EVENTS) this.count -= this.batches.shift()!.count;
  }

  /** The remembered transactions, oldest first. */
  events(): HttpEvent[] {
    const events = this.batches.flatMap(decodeEvents);
    return events.length > RECENT_EVENTS ? events.slice(events.length - RECENT_EVENTS) : events;
  }
}

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
  readonly health: CaptureHealth;
  /** The capture is over (end of file, or stopped). */
  ended = false;
  filter: ActiveFilter | null = null;
  private readonly recent = new RecentTransactions();

  constructor(readonly config: Config, readonly source: string, plugins: StatModule[] = []) {
    this.store = new StatsStore(config, plugins);
    this.health = new CaptureHealth(Math.max(config.average_bucket_size, LOSS_RECENT_SECONDS) + 2);
    this.monitor = new AlertMonitor(this.store, config, (from, to) => this.health.between(from, to));
  }

  /** Takes a batch of transactions; `encoded` is their compact form when the caller has it. */
  ingest(events: readonly HttpEvent[], encoded: EncodedBatch = encodeEvents(events)): void {
    this.store.ingest(events);
    this.recent.add(encoded);
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
    this.health.update(stats, now);
  }

  /** The latest capture-health counters (null before the first). */
  get captureStats(): CaptureStats | null {
    return this.health.latest;
  }

  /** The data time of the latest capture-health counters. */
  get statsNow(): number {
    return this.health.now;
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
    const ordered = this.recent.events();
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
