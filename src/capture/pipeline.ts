/**
 * Frames in, HTTP transactions out: decode → connection tracking and reassembly → HTTP parsing
 * → pairing, plus the release of finished transactions in request-time order. Pure and
 * synchronous, so the worker and the tests drive it the same way.
 */
import { emptyCaptureStats, type CaptureStats, type HttpEvent, type TlsConnection } from '../types';
import { DecodeResult, DecodedSegment, decodeFrame } from './decode';
import type { RequestNaming } from '../http/h1/connection';
import { ClientResolver } from '../http/clientAddress';
import { Http1Protocol } from '../http/h1/http1Protocol';
import { Http2Protocol } from '../http/h2/http2Protocol';
import { RouteTemplater } from '../http/route';
import type { ProtocolSet } from '../protocol/dispatcher';
import { TextCache } from '../protocol/sanitize';
import type { KeyLog } from '../tls/keyLog';
import { TlsProtocol } from '../tls/tlsProtocol';
import { FlowTable } from './flowTable';
import type { CaptureLimits } from './limits';
import { isPlausibleTimestamp, type FrameSink } from './packetSource';

/** Seconds of data time between sweeps for idle connections. */
const SWEEP_INTERVAL = 1;

/** What a pipeline reads beyond its limits. */
export interface PipelineOptions {
  /** Keep only TCP segments from or to these ports (the `-p` filter applied to a capture file). */
  ports?: ReadonlySet<number> | null;
  /** Routes and clients of requests (default: the built-in rules, no trusted proxy). */
  naming?: RequestNaming;
  /** Secrets to decrypt TLS with (`--keylog`). */
  keyLog?: KeyLog | null;
}

/**
 * The protocols a connection is dispatched to, in the order they are tried: TLS (its plaintext
 * dispatched again), HTTP/2 (its preface, or frames when joined mid-way), then HTTP/1.x, which
 * takes whatever is left from a stream's start.
 */
function captureProtocols(limits: CaptureLimits, naming: RequestNaming, keyLog: KeyLog | null): ProtocolSet {
  // Repeated Host and User-Agent values, shared by every connection's parsers.
  const texts = new TextCache();
  const http1 = new Http1Protocol(limits, naming, texts);
  const http2 = new Http2Protocol(limits, naming, limits, texts);
  return { outer: [new TlsProtocol(limits, keyLog), http2, http1], nested: [http2, http1] };
}

/** The capture's packet-to-transaction pipeline. */
export class CapturePipeline implements FrameSink {
  readonly stats: CaptureStats = emptyCaptureStats();
  private readonly segment = new DecodedSegment();
  private readonly flows: FlowTable;
  private held: HttpEvent[] = [];
  /** Ended TLS connections not yet taken (they go out with the next flush, in the order they ended). */
  private tlsEnded: TlsConnection[] = [];
  /** What the held transactions cost (see eventCost). */
  private heldBytes = 0;
  private lastSweep = -Infinity;
  /** Data time: the latest packet timestamp seen (or the wall clock, in live mode). */
  now = 0;
  /**
   * Every transaction that started before this time has been released (except ones still open
   * after the hold time): consumers may close their statistics up to here.
   */
  watermark = -Infinity;

  private readonly ports: ReadonlySet<number> | null;

  /**
   * `holdSeconds` bounds how long a finished transaction may wait for an earlier, still open
   * one before it is released out of order.
   */
  constructor(private readonly limits: CaptureLimits, private readonly holdSeconds: number, options: PipelineOptions = {}) {
    this.ports = options.ports ?? null;
    const naming = options.naming ?? requestNaming([], [], limits.maxStrLength);
    const protocols = captureProtocols(limits, naming, options.keyLog ?? null);
    this.flows = new FlowTable(limits, this.stats, protocols, (event) => {
      this.held.push(event);
      this.heldBytes += eventCost(event);
    }, (connection) => this.tlsEnded.push(connection));
  }

  /**
   * Takes one captured frame: `buf[offset, offset + caplen)` of `linkType`, captured at `ts`,
   * `wireLength` bytes long on the wire.
   */
  onFrame(buf: Buffer, offset: number, caplen: number, wireLength: number, ts: number, linkType: number): void {
    const stats = this.stats;
    stats.packets++;
    stats.bytes += wireLength;
    if (!isPlausibleTimestamp(ts)) {
      stats.badTimestamps++;
      return;
    }
    if (ts > this.now) this.now = ts;
    switch (decodeFrame(buf, offset, caplen, wireLength, linkType, this.segment)) {
      case DecodeResult.Tcp: {
        const seg = this.segment;
        if (this.ports === null || this.ports.has(seg.dport) || this.ports.has(seg.sport)) this.flows.onSegment(seg, buf, ts);
        break;
      }
      case DecodeResult.NotTcp:
        stats.nonTcp++;
        break;
      case DecodeResult.Fragment:
        stats.fragments++;
        break;
      case DecodeResult.Error:
        stats.decodeErrors++;
        break;
    }
  }

  /** Moves data time on (live mode: also with no packets) and ends idle connections. */
  tick(now: number): void {
    if (now > this.now) this.now = now;
    if (this.now - this.lastSweep >= SWEEP_INTERVAL) {
      this.lastSweep = this.now;
      this.flows.expireIdle(this.now);
    }
  }

  /**
   * Finished transactions that can go out now, in request-time order: those no open
   * transaction precedes, and those held longer than the hold time.
   */
  release(): HttpEvent[] {
    this.stats.headBufferDrops = this.limits.headBuffers.refused;
    const threshold = Math.max(this.flows.oldestPendingTs(), this.now - this.holdSeconds);
    // Never move the watermark back (a new connection can start with an old timestamp).
    if (threshold > this.watermark) this.watermark = Math.min(threshold, this.now);
    if (this.held.length === 0) return [];
    if (this.heldBytes > this.limits.maxHeldBytes) return this.releaseOldest(this.heldBytes - this.limits.maxHeldBytes / 2, threshold);
    return this.releaseBefore(threshold);
  }

  /**
   * The finished transactions waiting for an earlier, still open one are over their share of the
   * budget (a flood of unanswered pipelined requests holds every later one for the hold time):
   * the oldest that cost `bytes` go out now, and any earlier one that finishes later goes out
   * after them (the statistics take stragglers).
   */
  private releaseOldest(bytes: number, threshold: number): HttpEvent[] {
    const held = this.held;
    if (!isSortedByTs(held)) sortByTs(held);
    let count = 0;
    for (let freed = 0; count < held.length - 1 && freed < bytes; count++) freed += eventCost(held[count]);
    return this.releaseBefore(Math.max(threshold, held[count].ts));
  }

  /** TLS connections that ended since the last call. */
  releaseTls(): TlsConnection[] {
    const ended = this.tlsEnded;
    if (ended.length > 0) this.tlsEnded = [];
    return ended;
  }

  /** Ends every connection and returns all remaining transactions (end of capture; then releaseTls() has the last TLS connections). */
  finish(): HttpEvent[] {
    this.flows.endAll(this.now);
    this.stats.headBufferDrops = this.limits.headBuffers.refused;
    this.watermark = this.now;
    return this.releaseBefore(Infinity);
  }

  private releaseBefore(threshold: number): HttpEvent[] {
    const held = this.held;
    // Transactions mostly finish in the order they started: sort only when they did not.
    if (!isSortedByTs(held)) sortByTs(held);
    let n = 0;
    while (n < held.length && held[n].ts < threshold) n++;
    if (n === held.length) {
      this.held = [];
      this.heldBytes = 0;
      return held;
    }
    this.held = held.slice(n);
    const released = held.slice(0, n);
    for (const event of released) this.heldBytes -= eventCost(event);
    return released;
  }
}

/** Routes from `routes` (the config's) and the built-in rules; clients behind `trustedProxies`. */
export function requestNaming(routes: readonly string[], trustedProxies: readonly string[], maxStrLength: number): RequestNaming {
  const templater = new RouteTemplater(routes, maxStrLength);
  const resolver = new ClientResolver(trustedProxies);
  return {
    route: (uri) => templater.route(uri),
    client: (peer, forwardedFor) => resolver.client(peer, forwardedFor),
  };
}

/** What a held transaction costs: its object and its strings, at two bytes a character at worst. */
function eventCost(event: HttpEvent): number {
  return 240 + 2 * (event.method.length + event.host.length + event.uri.length + event.ua.length + event.version.length + event.src.length
    + event.dst.length + event.route.length + event.requestHeaders.length + event.responseHeaders.length);
}

function isSortedByTs(events: HttpEvent[]): boolean {
  for (let i = 1; i < events.length; i++) if (events[i].ts < events[i - 1].ts) return false;
  return true;
}

function byTs(a: HttpEvent, b: HttpEvent): number {
  return a.ts - b.ts;
}

/** Keys of the typed-array sort (see sortByTs), reused. */
let sortKeys = new Float64Array(4096);
/** Positions a key has room for: the low bits of a key hold the event's position in the batch. */
const POSITION_BITS = 2 ** 13;
/** Nanoseconds a batch may span for its keys to stay exact in a double (2^53 / 2^13 ns: ~18 minutes). */
const MAX_SPAN_NS = 2 ** 40;
/**
 * The earliest time the keys hold: from 2^23 s on (97 days after 1970) two distinct doubles are
 * at least ~1.9 ns apart, so nanoseconds keep them apart; a capture with relative times near 0
 * (sub-nanosecond apart) takes the comparator sort.
 */
const MIN_KEYED_TS = 2 ** 23;

/**
 * Sorts transactions by start time, equal times in the order they finished (a stable sort).
 * A comparator sort calls back into JavaScript ~n log n times (a tenth of the capture thread on
 * keep-alive traffic); here each transaction becomes one number — its nanoseconds after the
 * earliest, then its position — sorted natively. Epoch seconds as doubles differ by at least
 * ~240 ns, so distinct times stay distinct and in order (see MIN_KEYED_TS).
 */
export function sortByTs(events: HttpEvent[]): void {
  const n = events.length;
  if (n > POSITION_BITS) {
    events.sort(byTs);
    return;
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const ts = events[i].ts;
    if (ts < min) min = ts;
    if (ts > max) max = ts;
  }
  if ((max - min) * 1e9 >= MAX_SPAN_NS || min < MIN_KEYED_TS) {
    events.sort(byTs);
    return;
  }
  if (sortKeys.length < n) sortKeys = new Float64Array(Math.max(n, sortKeys.length * 2));
  const keys = sortKeys.subarray(0, n);
  for (let i = 0; i < n; i++) keys[i] = Math.floor((events[i].ts - min) * 1e9) * POSITION_BITS + i;
  keys.sort();
  const sorted = events.slice();
  for (let i = 0; i < n; i++) events[i] = sorted[keys[i] % POSITION_BITS];
}
