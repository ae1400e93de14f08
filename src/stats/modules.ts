/** The built-in statistics: request counts and rates, and the top-N breakdowns. */
import type { Config } from '../config';
import type { HttpEvent } from '../types';
import { RateSeries } from './rateSeries';
import type { PanelColumn, PanelRows, StatModule } from './statModule';
import { WindowedTopK, type TopKCapacity, type TopView } from './windowedTopK';
import { nowSpan, windowSpan, type SecondSpan, type WindowName } from './windows';
import type { HeavyHitter } from './spaceSaving';
import { bytes, compactNumber, compactRate, milliseconds as ms, share as percent } from '../format';
import { SlowestModule } from './slowest';

/** An event counts as an error when the server failed (5xx) or never answered. */
export function isErrorEvent(event: HttpEvent): boolean {
  return event.status === null || event.status >= 500;
}

/** Bytes of a transaction: request and response bodies. */
export function eventBytes(event: HttpEvent): number {
  return event.reqBytes + event.respBytes;
}

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
    const totals = this.totals(window, now);
    const seconds = this.coveredSeconds(window, now);
    return {
      title: 'Requests',
      columns: ['Requests', 'Req/s', 'Errors', 'Bytes'],
      rows: [[String(totals.requests), (totals.requests / seconds).toFixed(1), percent(totals.errors, totals.requests), bytes(totals.bytes, 'compact')]],
    };
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

/** How a top-N module shows its entries: its columns, and each entry's cells. */
interface TopColumns {
  title: string;
  columns: PanelColumn[];
  /** `total`: the hits the shares are of; `key`: the key as shown; `seconds`: the window's length, for rates. */
  cells(entry: HeavyHitter, total: number, key: string, seconds: number): string[];
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

/** A breakdown by one key (section, host, user agent...) over every window. */
export class TopModule implements StatModule<TopReport> {
  readonly counter: WindowedTopK;

  constructor(
    readonly name: string,
    private readonly keyOf: (event: HttpEvent) => string,
    private readonly columns: TopColumns,
    private readonly config: Config,
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

/** Separates the two parts of a composite key (host + section). */
export const KEY_SEPARATOR = '\u0000';

export const SMALL: TopKCapacity = { slice: 32, cumulative: 256, perSecond: 256 };
export const MEDIUM: TopKCapacity = { slice: 128, cumulative: 2048, perSecond: 1024 };
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
  endpoints: TopModule;
  clients: TopModule;
  slowest: SlowestModule;
  nodes: TopModule;
}

/** The names the built-in modules take (a plug-in may not reuse them). */
export const BUILTIN_MODULE_NAMES = ['requests', 'sections', 'domains', 'userAgents', 'methods', 'statuses', 'uris', 'domainSections', 'endpoints', 'clients', 'slowest', 'nodes'] as const;

/** A count as panels show it: compact, marked `~` when it may be over-estimated. */
export function hits(entry: HeavyHitter): string {
  return (entry.overcount > 0 ? '~' : '') + compactNumber(entry.count);
}

/** A six-cell numeric column (bytes, shares, rates, latencies) of a given priority. */
export function numeric(header: string, priority: number): PanelColumn {
  return { header, width: 6, alignRight: true, priority };
}

// Counts up to 99,999 (`~12K` beyond) fit in five cells: Hits shrinks before it is dropped.
const HITS: PanelColumn = { header: 'Hits', width: 7, alignRight: true, priority: 8, minWidth: 5 };
const SHARE: PanelColumn = numeric('Share', 5);

/** Sections (and a section's URIs, a domain's sections): traffic, latency and failures. */
const SECTION_COLUMNS = (first: string): TopColumns => ({
  title: first === 'URI' ? 'Top URIs' : 'Top sections',
  columns: [
    { header: first, priority: 9 }, HITS, SHARE,
    numeric('Bytes', 3),
    numeric('p95ms', 4),
    numeric('Err%', 6),
  ],
  cells: (e, total, key) => [key, hits(e), percent(e.count, total), bytes(e.bytes, 'compact'), ms(e.latency?.quantile(0.95)), percent(e.errors, e.count)],
});

/** Keys, hits and share: user agents, methods, status codes. */
const SHARE_COLUMNS = (title: string, first: string, narrow: boolean): TopColumns => ({
  title,
  // User agents are long: their column keeps room before the share goes (not before the
  // hits: a user agent without its count says little); codes are short.
  columns: [{ header: first, priority: 9, minWidth: narrow ? 4 : 14 }, narrow ? { ...HITS, width: 5 } : HITS, SHARE],
  cells: (e, total, key) => [key, hits(e), percent(e.count, total)],
});

/** Creates the built-in modules for a config. */
export function createBuiltinModules(config: Config): BuiltinModules {
  return {
    requests: new RequestsModule(config),
    sections: new TopModule('sections', (e) => e.section, SECTION_COLUMNS('Section'), config, MEDIUM, true),
    domains: new TopModule('domains', (e) => e.host, {
      title: 'Top domains',
      // Host names are what the panel is for: they keep room, the latency columns go first.
      columns: [
        { header: 'Domain', priority: 9, minWidth: 20 }, HITS,
        numeric('Bytes', 5),
        numeric('p50ms', 3),
        numeric('p95ms', 6),
        numeric('p99ms', 2),
      ],
      cells: (e, _total, key) => [key, hits(e), bytes(e.bytes, 'compact'), ms(e.latency?.quantile(0.5)), ms(e.latency?.quantile(0.95)), ms(e.latency?.quantile(0.99))],
    }, config, MEDIUM, true),
    userAgents: new TopModule('userAgents', (e) => (e.ua === '' ? '(none)' : e.ua), SHARE_COLUMNS('User agents', 'User agent', false), config, MEDIUM, false),
    methods: new TopModule('methods', (e) => e.method, SHARE_COLUMNS('Methods', 'Method', true), config, SMALL, false),
    statuses: new TopModule('statuses', (e) => (e.status === null ? 'none' : String(e.status)), SHARE_COLUMNS('Status codes', 'Status', true), config, SMALL, false),
    // A URI may be 8 KiB: the summaries keep it within max_str_length (a fresh copy, not a slice pinning the whole).
    uris: new TopModule('uris', (e) => boundedKey(e.uri, config.max_str_length), SECTION_COLUMNS('URI'), config, LARGE, false),
    domainSections: new TopModule('domainSections', (e) => `${e.host}${KEY_SEPARATOR}${e.section}`, SECTION_COLUMNS('Section'), config, MEDIUM, true),
    endpoints: new TopModule('endpoints', endpointKeys(), ENDPOINT_COLUMNS, config, LARGE, true),
    clients: new TopModule('clients', (e) => e.client, {
      title: 'Clients',
      columns: [
        { header: 'Client', priority: 9, minWidth: 15 }, HITS,
        numeric('Err%', 6),
        numeric('Bytes', 5),
      ],
      cells: (e, _total, key) => [key, hits(e), percent(e.errors, e.count), bytes(e.bytes, 'compact')],
    }, config, MEDIUM, false),
    slowest: new SlowestModule(config),
    // The servers of a merged view (`-r a -r b` of --ndjson streams); one empty key otherwise.
    nodes: new TopModule('nodes', (e) => e.node ?? '', {
      title: 'Nodes',
      columns: [
        { header: 'Node', priority: 9, minWidth: 12 }, HITS,
        numeric('Err%', 7),
        numeric('p95ms', 6),
        numeric('Bytes', 3),
      ],
      cells: (e, _total, key) => [key, hits(e), percent(e.errors, e.count), ms(e.latency?.quantile(0.95)), bytes(e.bytes, 'compact')],
    }, config, SMALL, true),
  };
}

/** An endpoint: the method and the route, `GET /users/{id}`. */
export function endpointOf(event: HttpEvent): string {
  return `${event.method} ${event.route}`;
}

/** Distinct routes whose endpoint keys are kept for reuse, at most (then the cache starts over). */
const MAX_CACHED_ROUTES = 4096;

/**
 * endpointOf with the keys kept: a key made per event is a new string to hash for every lookup
 * of the summaries, while a route (shared by the events of a batch) keeps its hash.
 */
function endpointKeys(): (event: HttpEvent) => string {
  const byRoute = new Map<string, Map<string, string>>();
  return (event) => {
    let byMethod = byRoute.get(event.route);
    if (byMethod === undefined) {
      if (byRoute.size >= MAX_CACHED_ROUTES) byRoute.clear();
      byMethod = new Map();
      byRoute.set(event.route, byMethod);
    }
    let key = byMethod.get(event.method);
    if (key === undefined) {
      key = endpointOf(event);
      if (byMethod.size < 16) byMethod.set(event.method, key);
    }
    return key;
  };
}

/** Endpoints: traffic, rate, failures and latency quantiles, as width allows. */
const ENDPOINT_COLUMNS: TopColumns = {
  title: 'Endpoints',
  columns: [
    { header: 'Endpoint', priority: 9, minWidth: 24 }, HITS,
    numeric('Req/s', 4),
    numeric('Err%', 7),
    numeric('p50ms', 3),
    numeric('p95ms', 6),
    numeric('p99ms', 2),
    numeric('Bytes', 1),
  ],
  cells: (e, _total, key, seconds) => [
    key, hits(e), compactRate(e.count / seconds), percent(e.errors, e.count),
    ms(e.latency?.quantile(0.5)), ms(e.latency?.quantile(0.95)), ms(e.latency?.quantile(0.99)), bytes(e.bytes, 'compact'),
  ],
};

/** `text` within `maxLength`, as a string of its own when cut (a slice would keep the original alive). */
export function boundedKey(text: string, maxLength: number): string {
  return text.length <= maxLength ? text : Buffer.from(text.slice(0, maxLength), 'utf16le').toString('utf16le');
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
