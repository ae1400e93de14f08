/**
 * The slowest transactions: for each dashboard bucket the `SLOWEST` with the highest latency,
 * and the slowest of the whole run; a window's list merges the buckets it covers. Bounded:
 * buckets are kept for an hour (the longest window short of `all`), each holding at most
 * `SLOWEST` transactions (whole, so a list entry opens its detail), and all of them at most
 * `MAX_KEPT_BYTES` (hostile 8 KiB URIs and long headers would otherwise make 7,200 kept
 * transactions cost hundreds of MB): past it the oldest buckets go.
 */
import type { Config } from '../config';
import { truncate } from '../format';
import type { HttpEvent } from '../types';
import { slowestRows } from './panelColumns';
import type { PanelRows, StatModule } from './statModule';
import { windowSpan, type WindowName } from './windows';

/** Transactions a list holds. */
export const SLOWEST = 20;

/** Seconds of buckets kept: the 1-hour window's. */
const KEPT_SECONDS = 3600;

/** What the kept transactions may cost together. */
const MAX_KEPT_BYTES = 8 * 1024 * 1024;

/** What a kept transaction costs: its object and its strings at two bytes a character. */
function costOf(event: HttpEvent): number {
  return 300 + 2 * (event.uri.length + event.host.length + event.ua.length + event.route.length + event.requestHeaders.length + event.responseHeaders.length);
}

/** One transaction as `--report json` lists it. */
export interface SlowTransaction {
  ts: number;
  client: string;
  method: string;
  host: string;
  uri: string;
  route: string;
  status: number | null;
  latencyMs: number;
  respBytes: number;
}

/** The `SLOWEST` slowest of what it is given, slowest first (small: a sorted array). */
export class SlowestList {
  readonly events: HttpEvent[] = [];
  /** What its transactions cost (see costOf). */
  cost = 0;

  add(event: HttpEvent): void {
    const latency = event.latencyMs ?? -1;
    const list = this.events;
    if (list.length === SLOWEST && latency <= (list[list.length - 1].latencyMs ?? -1)) return;
    let at = list.length;
    while (at > 0 && (list[at - 1].latencyMs ?? -1) < latency) at--;
    list.splice(at, 0, event);
    this.cost += costOf(event);
    if (list.length > SLOWEST) this.cost -= costOf(list.pop()!);
  }
}

/** The slowest transactions over every window. */
export class SlowestModule implements StatModule<SlowTransaction[]> {
  readonly name = 'slowest';
  /** Bucket start second → its slowest. */
  private readonly buckets = new Map<number, SlowestList>();
  private readonly all = new SlowestList();

  constructor(private readonly config: Config) {}

  ingest(event: HttpEvent): void {
    if (event.latencyMs === null) return;
    const size = this.config.dashboard_bucket_size;
    const start = Math.floor(event.ts / size) * size;
    let bucket = this.buckets.get(start);
    if (bucket === undefined) {
      bucket = new SlowestList();
      this.buckets.set(start, bucket);
    }
    bucket.add(event);
    this.all.add(event);
  }

  tick(second: number): void {
    const oldest = second - KEPT_SECONDS - this.config.dashboard_bucket_size;
    let cost = this.all.cost;
    for (const [start, bucket] of this.buckets) {
      if (start < oldest) this.buckets.delete(start);
      else cost += bucket.cost;
    }
    // Buckets are in time order (a Map keeps insertion order, and data time goes forward).
    for (const [start, bucket] of this.buckets) {
      if (cost <= MAX_KEPT_BYTES) break;
      cost -= bucket.cost;
      this.buckets.delete(start);
    }
  }

  /** The slowest transactions of a window, slowest first. */
  list(window: WindowName, now: number): HttpEvent[] {
    if (window === 'all') return [...this.all.events];
    const { start, end } = windowSpan(window, now, this.config.dashboard_bucket_size, this.config.max_retention_length);
    const merged = new SlowestList();
    for (const [bucketStart, bucket] of this.buckets) {
      if (bucketStart + this.config.dashboard_bucket_size <= start || bucketStart >= end) continue;
      for (const event of bucket.events) if (event.ts >= start && event.ts < end) merged.add(event);
    }
    return merged.events;
  }

  rows(window: WindowName, now: number, limit: number): PanelRows {
    return slowestRows(this.list(window, now).slice(0, limit));
  }

  report(): SlowTransaction[] {
    return this.all.events.map((e) => ({
      ts: e.ts, client: e.client, method: e.method, host: e.host, uri: truncate(e.uri, this.config.max_str_length), route: e.route,
      status: e.status, latencyMs: e.latencyMs ?? 0, respBytes: e.respBytes,
    }));
  }
}
