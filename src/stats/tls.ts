/**
 * TLS connections, counted apart from HTTP requests (the request-rate alert stays about HTTP):
 * top server names with connections, bytes, the version and ALPN protocol most used and
 * handshake time; for one name, its clients and versions. Windowed like the HTTP breakdowns.
 */
import type { Config } from '../config';
import { bytes, milliseconds } from '../format';
import type { TlsConnection } from '../types';
import { KEY_SEPARATOR } from './classify';
import { hits, numeric } from './panelColumns';
import type { PanelRows } from './statModule';
import type { HeavyHitter } from './spaceSaving';
import { KeyBudget } from './keyBudget';
import { MEDIUM, SMALL, WindowedTopK, type TopKCapacity } from './windowedTopK';
import type { WindowName } from './windows';

/** The name shown for connections whose ClientHello named no server (or was not seen). */
export const NO_SERVER_NAME = '(no SNI)';

/** The `tls` section of `--report json`. */
export interface TlsReport {
  connections: number;
  decrypted: number;
  /** Decrypted HTTP/1.x transactions (they are also counted with the requests). */
  decryptedRequests: number;
  http2: number;
  bytes: number;
  approximate: boolean;
  versions: Array<{ version: string; connections: number }>;
  serverNames: Array<{ serverName: string; connections: number; bytes: number; version: string; alpn: string; handshakeMs: { p50: number | null; p95: number | null } }>;
}

/** When a connection ended (its record's `ts` is its ClientHello's). */
export function endTime(connection: TlsConnection): number {
  return connection.ts + connection.durationMs / 1000;
}

/** A TLS connection's server name as a key. */
export function serverNameOf(connection: TlsConnection): string {
  return connection.serverName === '' ? NO_SERVER_NAME : connection.serverName;
}

/** The most counted value of `name`'s composite keys (`name␀value`), or ''. */
function topValue(entries: HeavyHitter[], name: string): string {
  const prefix = name + KEY_SEPARATOR;
  let best: HeavyHitter | null = null;
  for (const e of entries) if (e.key.startsWith(prefix) && (best === null || e.count > best.count)) best = e;
  return best === null ? '' : best.key.slice(prefix.length);
}

/** TLS connections by server name, version, ALPN and client. */
export class TlsModule {
  readonly names: WindowedTopK;
  private readonly nameVersions: WindowedTopK;
  private readonly nameAlpn: WindowedTopK;
  private readonly nameClients: WindowedTopK;
  private readonly versions: WindowedTopK;
  connections = 0;
  decrypted = 0;
  decryptedRequests = 0;
  http2 = 0;
  bytes = 0;

  /** `keys`: what the kept keys' lengths are charged to (see keyBudget). */
  constructor(config: Config, keys = KeyBudget.unbounded()) {
    const layout = { bucketSeconds: config.dashboard_bucket_size, retentionSeconds: config.max_retention_length };
    const make = (capacity: TopKCapacity, latency = false) => new WindowedTopK(layout, capacity, latency, keys);
    this.names = make(MEDIUM, true);
    this.nameVersions = make(MEDIUM);
    this.nameAlpn = make(MEDIUM);
    this.nameClients = make(MEDIUM);
    this.versions = make(SMALL);
  }

  /** A connection is counted in the second it ended (when its record comes), so it is never late for its window. */
  ingest(c: TlsConnection): void {
    const at = endTime(c);
    const name = serverNameOf(c);
    const size = c.bytesToServer + c.bytesToClient;
    const version = c.version === '' ? '?' : c.version;
    this.connections++;
    this.bytes += size;
    if (c.decrypted) this.decrypted++;
    this.decryptedRequests += c.requests;
    if (c.alpn === 'h2') this.http2++;
    this.names.add(name, at, size, false, c.handshakeMs);
    this.nameVersions.add(name + KEY_SEPARATOR + version, at, size, false, null);
    this.nameAlpn.add(name + KEY_SEPARATOR + (c.alpn === '' ? '-' : c.alpn), at, size, false, null);
    this.nameClients.add(name + KEY_SEPARATOR + c.src, at, size, false, null);
    this.versions.add(version, at, size, false, null);
  }

  /** Every breakdown it keeps. */
  private counters(): WindowedTopK[] {
    return [this.names, this.nameVersions, this.nameAlpn, this.nameClients, this.versions];
  }

  /** Gives back what its kept keys are charged: it is being forgotten. */
  release(): void {
    for (const counter of this.counters()) counter.release();
  }

  tick(second: number): void {
    for (const counter of this.counters()) counter.closeSecond(second);
  }

  /** Top server names of a window. */
  rows(window: WindowName, now: number, limit: number): PanelRows {
    const view = this.names.view(window, now);
    const versions = this.nameVersions.view(window, now).entries;
    const alpn = this.nameAlpn.view(window, now).entries;
    const entries = view.entries.slice(0, limit);
    return {
      title: 'TLS server names',
      columns: [
        { header: 'Server name', priority: 9 },
        { header: 'Conns', width: 7, alignRight: true, priority: 8 },
        numeric('Bytes', 5),
        { header: 'TLS', width: 7, priority: 6 },
        { header: 'ALPN', width: 8, priority: 4 },
        numeric('HS ms', 3),
      ],
      rows: entries.map((e) => [
        e.key, hits(e), bytes(e.bytes, 'compact'), topValue(versions, e.key), topValue(alpn, e.key),
        milliseconds(e.latency?.quantile(0.5)),
      ]),
      approximate: view.approximate,
      keys: entries.map((e) => e.key),
    };
  }

  /** One server name's clients and its versions. */
  nameRows(name: string, window: WindowName, now: number, limit: number): { clients: PanelRows; versions: PanelRows } {
    const prefix = name + KEY_SEPARATOR;
    const part = (counter: WindowedTopK, title: string, header: string): PanelRows => {
      const entries = counter.view(window, now).entries.filter((e) => e.key.startsWith(prefix)).slice(0, limit);
      return {
        title,
        columns: [{ header, priority: 9 }, { header: 'Conns', width: 7, alignRight: true, priority: 8 }, numeric('Bytes', 5)],
        rows: entries.map((e) => [e.key.slice(prefix.length), hits(e), bytes(e.bytes, 'compact')]),
        keys: entries.map((e) => e.key.slice(prefix.length)),
      };
    };
    return { clients: part(this.nameClients, 'Clients', 'Client'), versions: part(this.nameVersions, 'Versions', 'Version') };
  }

  /** Connections in a window. */
  total(window: WindowName, now: number): number {
    return this.names.view(window, now).total;
  }

  report(now: number, limit: number): TlsReport {
    const view = this.names.view('all', now);
    const versions = this.nameVersions.view('all', now).entries;
    const alpn = this.nameAlpn.view('all', now).entries;
    return {
      connections: this.connections,
      decrypted: this.decrypted,
      decryptedRequests: this.decryptedRequests,
      http2: this.http2,
      bytes: this.bytes,
      approximate: view.approximate,
      versions: this.versions.view('all', now).entries.map((e) => ({ version: e.key, connections: e.count })),
      serverNames: view.entries.slice(0, limit).map((e) => ({
        serverName: e.key,
        connections: e.count,
        bytes: e.bytes,
        version: topValue(versions, e.key),
        alpn: topValue(alpn, e.key),
        handshakeMs: { p50: e.latency?.quantile(0.5) ?? null, p95: e.latency?.quantile(0.95) ?? null },
      })),
    };
  }
}
