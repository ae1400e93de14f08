/**
 * How the built-in statistics read on a panel: their columns (and how each gives way on a
 * narrow screen) and each row's cells. The modules count; this only formats what they count.
 */
import { bytes, clockTime, compactNumber, compactRate, milliseconds as ms, share as percent } from '../format';
import type { HttpEvent } from '../types';
import { isErrorKey, statusKeyOf, statusOfKey } from './classify';
import type { HeavyHitter } from './spaceSaving';
import type { PanelColumn, PanelRows, RowTone } from './statModule';

/** How a top-N module shows its entries: its columns, and each entry's cells. */
export interface TopColumns {
  title: string;
  columns: PanelColumn[];
  /** `total`: the hits the shares are of; `key`: the key as shown; `seconds`: the window's length, for rates. */
  cells(entry: HeavyHitter, total: number, key: string, seconds: number): string[];
}

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
function sectionColumns(title: string, first: string): TopColumns {
  return {
    title,
    columns: [
      { header: first, priority: 9 }, HITS, SHARE,
      numeric('Bytes', 3),
      numeric('p95ms', 4),
      numeric('Err%', 6),
    ],
    cells: (e, total, key) => [key, hits(e), percent(e.count, total), bytes(e.bytes, 'compact'), ms(e.latency?.quantile(0.95)), percent(e.errors, e.count)],
  };
}

/** Keys, hits and share: user agents, methods, status codes. */
function shareColumns(title: string, first: string, keys: 'long' | 'short'): TopColumns {
  return {
    title,
    // User agents are long: their column keeps room before the share goes (not before the
    // hits: a user agent without its count says little); codes are short.
    columns: [{ header: first, priority: 9, minWidth: keys === 'short' ? 4 : 14 }, keys === 'short' ? { ...HITS, width: 5 } : HITS, SHARE],
    cells: (e, total, key) => [key, hits(e), percent(e.count, total)],
  };
}

export const SECTION_COLUMNS = sectionColumns('Top sections', 'Section');
export const URI_COLUMNS = sectionColumns('Top URIs', 'URI');
export const USER_AGENT_COLUMNS = shareColumns('User agents', 'User agent', 'long');
export const AGENT_COLUMNS = shareColumns('Agents', 'Agent', 'long');
export const NETWORK_COLUMNS = shareColumns('Networks', 'Network', 'long');
export const METHOD_COLUMNS = shareColumns('Methods', 'Method', 'short');
export const STATUS_COLUMNS = shareColumns('Status codes', 'Status', 'short');
export const PROTOCOL_COLUMNS = shareColumns('Protocols', 'Protocol', 'short');

export const DOMAIN_COLUMNS: TopColumns = {
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
};

/** Endpoints: traffic, rate, failures and latency quantiles, as width allows. */
export const ENDPOINT_COLUMNS: TopColumns = {
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

export const CLIENT_COLUMNS: TopColumns = {
  title: 'Clients',
  columns: [
    { header: 'Client', priority: 9, minWidth: 15 }, HITS,
    numeric('Err%', 6),
    numeric('Bytes', 5),
  ],
  cells: (e, _total, key) => [key, hits(e), percent(e.errors, e.count), bytes(e.bytes, 'compact')],
};

/** Hits, errors, p95 latency and bytes by a key that names where the traffic went; `empty` labels the key ''. */
function serviceColumns(title: string, header: string, empty = ''): TopColumns {
  return {
    title,
    columns: [
      { header, priority: 9, minWidth: 12 }, HITS,
      numeric('Err%', 7),
      numeric('p95ms', 6),
      numeric('Bytes', 3),
    ],
    cells: (e, _total, key) => [key === '' ? empty : key, hits(e), percent(e.errors, e.count), ms(e.latency?.quantile(0.95)), bytes(e.bytes, 'compact')],
  };
}

/** Programs on this host (--processes); the empty key is the traffic no scan named. */
export const PROCESS_COLUMNS = serviceColumns('Processes', 'Process', '(none named)');
export const NODE_COLUMNS = serviceColumns('Nodes', 'Node');

/** How a status key reads in a list: failures (the error rule) red, client errors (4xx) yellow. */
export function statusTone(key: string): RowTone | null {
  if (isErrorKey(key)) return 'alert';
  const status = statusOfKey(key);
  return status !== null && status >= 400 ? 'warning' : null;
}

/** The requests panel: one row of a window's totals; `seconds` is what data covers of it. */
export function requestsRows(totals: { requests: number; errors: number; bytes: number }, seconds: number): PanelRows {
  return {
    title: 'Requests',
    columns: ['Requests', 'Req/s', 'Errors', 'Bytes'],
    rows: [[String(totals.requests), (totals.requests / seconds).toFixed(1), percent(totals.errors, totals.requests), bytes(totals.bytes, 'compact')]],
  };
}

/** The slowest requests panel: one transaction a row, slowest first. */
export function slowestRows(events: readonly HttpEvent[]): PanelRows {
  return {
    title: 'Slowest requests',
    columns: [
      { header: 'Request', priority: 9, minWidth: 16 },
      { header: 'Latency', width: 8, alignRight: true, priority: 8 },
      { header: 'Status', width: 6, alignRight: true, priority: 7 },
      { header: 'Time', width: 8, priority: 5 },
    ],
    rows: events.map((e) => [`${e.method} ${e.host}${e.uri}`, `${ms(e.latencyMs)}ms`, statusKeyOf(e), clockTime(e.ts)]),
  };
}
