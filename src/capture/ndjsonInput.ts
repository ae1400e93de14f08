/**
 * wiretop's own `--ndjson` as input, for one dashboard over many servers: each line back into
 * a transaction (as hostile as the wire: every field checked, strings bounded and stripped of
 * control characters, a bad line counted and skipped), and the time-ordered merge of several
 * sources within a bounded delay.
 */
import { escapeControls } from '../protocol/sanitize';
import { isPlausibleTimestamp } from './packetSource';
import type { HttpEvent, TlsConnection } from '../types';

/** A transaction from a source, with the node it came from. */
export type NodeEvent = HttpEvent & { node: string };

function text(value: unknown, max: number): string | null {
  if (typeof value !== 'string') return null;
  return escapeControls(value.length > max * 4 ? value.slice(0, max * 4) : value, max);
}

function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

/** What a sending wiretop's health line says its capture dropped (running totals). */
export interface NodeHealth {
  node: string;
  packets: number;
  drops: number;
}

/** The health line of a `--ndjson --node` stream, or null when the line is not one. */
export function parseHealthLine(line: string): NodeHealth | null {
  if (!line.includes('"kind":"health"')) return null;
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    if (o.kind !== 'health') return null;
    const node = text(o.node, 64);
    const values = [o.packets, o.kernelDrops, o.ifDrops, o.eventsDropped].map(count);
    if (node === null || values.some((v) => v === null)) return null;
    return { node, packets: values[0]!, drops: values[1]! + values[2]! + values[3]! };
  } catch {
    return null;
  }
}

/**
 * The transaction of one `--ndjson` line, or null when the line is not one (counted by the
 * caller). `node`: the source's name, used when the line has no `node` field.
 */
export function parseEventLine(line: string, maxStr: number, node: string): NodeEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  const ts = o.ts;
  if (typeof ts !== 'number' || !isPlausibleTimestamp(ts)) return null;
  const strings = {
    src: text(o.src, 64), dst: text(o.dst, 64), method: text(o.method, 32), host: text(o.host, maxStr), section: text(o.section, maxStr),
    ua: text(o.ua, maxStr), version: text(o.version, 8),
  };
  const uri = text(o.uri, 8192);
  if (uri === null || Object.values(strings).some((s) => s === null)) return null;
  const status = o.status === null ? null : typeof o.status === 'number' && Number.isInteger(o.status) && o.status >= 100 && o.status <= 999 ? o.status : undefined;
  const latencyMs = o.latencyMs === null ? null : count(o.latencyMs) ?? undefined;
  const sport = count(o.sport);
  const dport = count(o.dport);
  const reqBytes = count(o.reqBytes);
  const respBytes = count(o.respBytes);
  if (status === undefined || latencyMs === undefined || sport === null || dport === null || reqBytes === null || respBytes === null) return null;
  const route = text(o.route, maxStr) ?? strings.section!;
  const client = text(o.client, 64) ?? strings.src!;
  const named = text(o.node, 64);
  const event: NodeEvent = {
    ts, src: strings.src!, sport, dst: strings.dst!, dport, method: strings.method!, host: strings.host!, uri, section: strings.section!,
    status, reqBytes, respBytes, ua: strings.ua!, latencyMs, version: strings.version!, route, client, uriTruncated: o.uriTruncated === true,
    requestHeaders: '', responseHeaders: '', node: named !== null && named !== '' ? named : node, ...(o.https === true ? { https: true } : {}),
  };
  const sni = o.https === true ? text(o.sni, maxStr) : null;
  if (sni !== null && sni !== '') event.sni = sni;
  readHttp2Fields(o, event, maxStr);
  return event;
}

/** The HTTP/2 and gRPC fields of a line, where present and well formed (a bad one is left out, not the line). */
function readHttp2Fields(o: Record<string, unknown>, event: HttpEvent, maxStr: number): void {
  const streamId = count(o.streamId);
  if (streamId !== null) event.streamId = streamId;
  const grpcMethod = text(o.grpcMethod, maxStr);
  if (grpcMethod === null) return;
  event.grpcMethod = grpcMethod;
  event.grpcStatus = count(o.grpcStatus);
  event.grpcMessage = text(o.grpcMessage, maxStr) ?? '';
  event.grpcRequestMessages = count(o.grpcRequestMessages) ?? 0;
  event.grpcResponseMessages = count(o.grpcResponseMessages) ?? 0;
}

/** Transactions held for the merge, at most; past it the oldest go out at once. */
export const MAX_MERGE_HELD = 100_000;

/** One source of the merge. */
interface MergeSource {
  name: string;
  /** The latest transaction time seen (-Infinity before the first). */
  latest: number;
  /** The first transaction time seen (Infinity before the first). */
  first: number;
  ended: boolean;
  /** Lines that were no transaction. */
  malformed: number;
  events: number;
}

/**
 * Merges transactions from several sources in time order. A transaction goes out once every
 * source still running has sent something at least as late (each source's lines are in time
 * order, as wiretop writes them), or once the merge holds `MAX_MERGE_HELD`; a source that has
 * sent nothing for `maxWaitMs` of wall time is not waited for.
 */
export class EventMerger {
  readonly sources: MergeSource[];
  private held: NodeEvent[] = [];
  private readonly lastHeard: number[];

  constructor(names: readonly string[], private readonly maxWaitMs = 2000, private readonly clock: () => number = Date.now) {
    this.sources = names.map((name) => ({ name, latest: -Infinity, first: Infinity, ended: false, malformed: 0, events: 0 }));
    this.lastHeard = names.map(() => clock());
  }

  add(source: number, events: readonly NodeEvent[]): void {
    const s = this.sources[source];
    this.lastHeard[source] = this.clock();
    for (const event of events) {
      this.held.push(event);
      s.events++;
      if (event.ts > s.latest) s.latest = event.ts;
      if (event.ts < s.first) s.first = event.ts;
    }
  }

  malformed(source: number): void {
    this.sources[source].malformed++;
    this.lastHeard[source] = this.clock();
  }

  end(source: number): void {
    this.sources[source].ended = true;
  }

  get allEnded(): boolean {
    return this.sources.every((s) => s.ended);
  }

  /** Every transaction before this time has gone out (or is late). */
  watermark(): number {
    const now = this.clock();
    let mark = Infinity;
    this.sources.forEach((s, i) => {
      if (s.ended || now - this.lastHeard[i] > this.maxWaitMs) return;
      if (s.latest < mark) mark = s.latest;
    });
    return mark;
  }

  /** The transactions that can go out now, in time order. */
  release(): NodeEvent[] {
    if (this.held.length === 0) return [];
    this.held.sort((a, b) => a.ts - b.ts);
    let mark = this.watermark();
    if (this.held.length > MAX_MERGE_HELD) mark = Math.max(mark, this.held[this.held.length - MAX_MERGE_HELD / 2].ts);
    let n = 0;
    while (n < this.held.length && this.held[n].ts <= mark) n++;
    const out = this.held.slice(0, n);
    this.held = this.held.slice(n);
    return out;
  }

  /**
   * Sources whose clock is more than `seconds` away from the others': their first transaction
   * against the median of all first transactions (streams started together start within
   * seconds of each other; how fast each is read does not matter). Decided once every source
   * has sent something.
   */
  skewed(seconds: number): number[] {
    const started = this.sources.filter((s) => s.first !== Infinity);
    if (started.length < 2 || this.sources.some((s) => s.first === Infinity && !s.ended)) return [];
    const firsts = started.map((s) => s.first).sort((a, b) => a - b);
    const median = firsts[Math.floor((firsts.length - 1) / 2)];
    return this.sources.map((s, i) => (s.first !== Infinity && Math.abs(s.first - median) > seconds ? i : -1)).filter((i) => i >= 0);
  }
}

/** The TLS connection of a `"kind":"tls"` line, or null when the line is not one (checked like a transaction line). */
export function parseTlsLine(line: string, maxStr: number, node: string): TlsConnection | null {
  if (!line.includes('"kind":"tls"')) return null;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (o === null || typeof o !== 'object' || o.kind !== 'tls' || typeof o.ts !== 'number' || !isPlausibleTimestamp(o.ts)) return null;
  const strings = { src: text(o.src, 64), dst: text(o.dst, 64), serverName: text(o.serverName, maxStr), version: text(o.version, 16), cipher: text(o.cipher, 64), alpn: text(o.alpn, 32) };
  const numbers = { sport: count(o.sport), dport: count(o.dport), bytesToServer: count(o.bytesToServer), bytesToClient: count(o.bytesToClient), durationMs: count(o.durationMs), requests: count(o.requests) };
  if (Object.values(strings).some((v) => v === null) || Object.values(numbers).some((v) => v === null)) return null;
  const list = (value: unknown, max: number) => (Array.isArray(value) ? value.slice(0, 16).map((v) => text(v, max)).filter((v): v is string => v !== null) : []);
  const named = text(o.node, 64);
  return {
    ts: o.ts, src: strings.src!, sport: numbers.sport!, dst: strings.dst!, dport: numbers.dport!, serverName: strings.serverName!,
    versionsOffered: list(o.versionsOffered, 16), version: strings.version!, cipher: strings.cipher!, alpnOffered: list(o.alpnOffered, 32), alpn: strings.alpn!,
    handshakeMs: count(o.handshakeMs), bytesToServer: numbers.bytesToServer!, bytesToClient: numbers.bytesToClient!, durationMs: numbers.durationMs!,
    decrypted: o.decrypted === true, requests: numbers.requests!, node: named !== null && named !== '' ? named : node,
  };
}
