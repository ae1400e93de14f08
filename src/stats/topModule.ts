/**
 * A top-N breakdown by one key (section, host, user agent...) over every window: what it
 * counts by, how many keys it tracks and how it shows are given (see builtins.ts); it counts,
 * answers the panels' and reports' queries, and forgets past the retention.
 */
import type { Config } from '../config';
import type { HttpEvent } from '../types';
import { eventBytes, isErrorEvent } from './classify';
import type { TopColumns } from './panelColumns';
import type { KeyBudget } from './keyBudget';
import { NO_LATENCY, latencyBucket } from './logHistogram';
import type { HeavyHitter } from './spaceSaving';
import type { PanelRows, StatModule } from './statModule';
import { WindowedTopK, type TopKCapacity, type TopView } from './windowedTopK';
import { windowSpan, type WindowName } from './windows';

/** A breakdown row as reported. */
export interface TopReportRow {
  key: string;
  hits: number;
  bytes: number;
  errors: number;
  /** Present when the count may be over by up to this much (more distinct keys than tracked). */
  error?: number;
  latencyMs?: { p50: number | null; p95: number | null; p99: number | null };
}

/** A top-N module's report: the top entries over everything kept. */
export interface TopReport {
  approximate: boolean;
  top: TopReportRow[];
}

/** What a breakdown is: its key, its size, whether it keeps latency, how it shows. */
export interface TopStatistic {
  /** The key an event counts under. */
  keyOf: (event: HttpEvent) => string;
  /** Keys tracked by each summary (see windowedTopK). */
  capacity: TopKCapacity;
  /** Keeps a latency histogram per key (for quantile columns and reports). */
  keepsLatency: boolean;
  columns: TopColumns;
}

/** Narrowing a top-N panel: only some keys, shares of another total, keys shown without a prefix. */
export interface TopRowsOptions {
  filter?: (key: string) => boolean;
  /** The hits shares are computed of (default: the window's total). */
  total?: number;
  /** A prefix every kept key has, left out of what is shown. */
  stripPrefix?: string;
  /** Seconds the window covers (for rates; default: its full length). */
  seconds?: number;
}

/**
 * What every breakdown counts of a transaction beside its key, worked out once per transaction
 * for all of them: its second, bytes, error flag and latency bucket. One object refilled for
 * each transaction, and its numbers small integers, so that passing them on allocates nothing.
 */
export class EventFacts {
  second = 0;
  bytes = 0;
  isError = false;
  latencyBucket = NO_LATENCY;

  /** Fills in `event`'s facts; returns this. */
  of(event: HttpEvent): this {
    this.second = Math.floor(event.ts);
    this.bytes = eventBytes(event);
    this.isError = isErrorEvent(event);
    // `== null`: an event made by hand (a plug-in's test) may leave the latency out.
    this.latencyBucket = event.latencyMs == null ? NO_LATENCY : latencyBucket(event.latencyMs);
    return this;
  }
}

/**
 * The key of a breakdown whose feature is off (no --processes): such a breakdown counts nothing,
 * and costs nothing per transaction. (--processes is one of --persist's settings: a snapshot
 * made without it is not taken back into a run with it.)
 */
export const UNUSED_KEY = (): string => '';

/** A breakdown by one key over every window. */
export class TopModule implements StatModule<TopReport> {
  readonly counter: WindowedTopK;
  private readonly keyOf: (event: HttpEvent) => string;
  private readonly columns: TopColumns;

  /** `keys`: what the kept keys' lengths are charged to (see keyBudget). */
  constructor(readonly name: string, statistic: TopStatistic, private readonly config: Config, keys?: KeyBudget) {
    this.keyOf = statistic.keyOf;
    this.columns = statistic.columns;
    this.counter = new WindowedTopK({ bucketSeconds: config.dashboard_bucket_size, retentionSeconds: config.max_retention_length }, statistic.capacity, statistic.keepsLatency, keys);
  }

  /** False when its feature is off (see UNUSED_KEY). */
  get inUse(): boolean {
    return this.keyOf !== UNUSED_KEY;
  }

  ingest(event: HttpEvent): void {
    if (this.inUse) this.count(event, new EventFacts().of(event));
  }

  /** `ingest` with what every breakdown reads of the event worked out once (see EventFacts). */
  count(event: HttpEvent, facts: EventFacts): void {
    this.counter.count(this.keyOf(event), facts.second, facts.bytes, facts.isError, facts.latencyBucket);
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

  rows(window: WindowName, now: number, limit: number, options: TopRowsOptions = {}): PanelRows {
    const view = this.view(window, now);
    const entries = this.top(window, now, limit, options.filter);
    const strip = options.stripPrefix?.length ?? 0;
    const keys = entries.map((e) => e.key.slice(strip));
    const { start, end } = windowSpan(window, now, this.config.dashboard_bucket_size, this.config.max_retention_length);
    const seconds = options.seconds ?? end - start;
    return {
      title: this.columns.title,
      columns: this.columns.columns,
      rows: entries.map((e, i) => this.columns.cells(e, options.total ?? view.total, keys[i], Math.max(1, seconds))),
      approximate: view.approximate,
      keys,
    };
  }

  report(now: number, limit: number): TopReport {
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
