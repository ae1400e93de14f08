/**
 * Tracks TCP connections: finds a segment's connection by its address/port 4-tuple, feeds the
 * right direction's reassembly, and ends connections on FIN/RST, on idleness, and at the end of
 * the capture. Bounded: a full table refuses new connections and counts them.
 */
import type { CaptureStats } from '../types';
import { HttpConnection, type ConnectionLimits, type EventEmitter } from '../http/connection';
import { DecodedSegment, TCP_FIN, TCP_RST, TCP_SYN, formatIpv4 } from './decode';
import { ReassemblyBudget, TcpStream, type ReassemblyLimits, type StreamReceiver } from './reassembly';

/** Limits of the whole tracking state. */
export interface FlowLimits extends ReassemblyLimits, ConnectionLimits {
  maxFlows: number;
  /** Seconds without a segment after which a connection is ended. */
  idleSeconds: number;
  /** Out-of-order bytes all connections together may hold. */
  maxBufferedBytes: number;
}

type EndpointKey = number | string;

/** One tracked connection. A is the sender of its first segment seen. */
class Flow {
  readonly streamA: TcpStream;
  readonly streamB: TcpStream;
  finA = false;
  finB = false;
  lastSeen: number;

  constructor(
    readonly keyA: EndpointKey,
    readonly keyB: EndpointKey,
    readonly connection: HttpConnection,
    limits: ReassemblyLimits,
    budget: ReassemblyBudget,
    stats: CaptureStats,
    ts: number,
  ) {
    this.streamA = new TcpStream(receiverFor(connection, true), limits, budget, stats);
    this.streamB = new TcpStream(receiverFor(connection, false), limits, budget, stats);
    this.lastSeen = ts;
  }
}

function receiverFor(connection: HttpConnection, sideA: boolean): StreamReceiver {
  const parser = sideA ? connection.parserA : connection.parserB;
  return {
    onData: (buf, start, end, ts) => parser.push(buf, start, end, ts),
    onGap: (ts, missing) => parser.gap(ts, missing),
  };
}

/** All connections being tracked. */
export class FlowTable {
  /** Endpoint → peer endpoint → flow; each flow is entered under both of its directions. */
  private readonly byEndpoint = new Map<EndpointKey, Map<EndpointKey, Flow>>();
  private readonly flows = new Set<Flow>();
  private readonly budget: ReassemblyBudget;

  constructor(
    private readonly limits: FlowLimits,
    private readonly stats: CaptureStats,
    private readonly emit: EventEmitter,
  ) {
    this.budget = new ReassemblyBudget(limits.maxBufferedBytes);
  }

  /** Takes one decoded segment of `frame` captured at `ts`. */
  onSegment(seg: DecodedSegment, frame: Buffer, ts: number): void {
    const flags = seg.flags;
    const length = seg.payloadLength;
    // A bare ACK changes nothing the parsers see: skip the lookup (half of all packets).
    if (length === 0 && (flags & (TCP_SYN | TCP_FIN | TCP_RST)) === 0) return;
    const srcKey: EndpointKey = seg.ipVersion === 4 ? seg.src4 * 65536 + seg.sport : `${seg.src6}]${seg.sport}`;
    const dstKey: EndpointKey = seg.ipVersion === 4 ? seg.dst4 * 65536 + seg.dport : `${seg.dst6}]${seg.dport}`;
    let flow = this.byEndpoint.get(srcKey)?.get(dstKey);
    if (flow === undefined) {
      if ((flags & TCP_RST) !== 0 || (length === 0 && (flags & TCP_SYN) === 0)) return;
      const created = this.create(seg, srcKey, dstKey, ts);
      if (created === null) return;
      flow = created;
    }
    flow.lastSeen = ts;
    const fromA = flow.keyA === srcKey;
    const stream = fromA ? flow.streamA : flow.streamB;
    if ((flags & TCP_SYN) !== 0) stream.onSyn(seg.seq);
    if (length > 0) stream.onSegment(frame, seg.payloadOffset, length, (flags & TCP_SYN) !== 0 ? (seg.seq + 1) >>> 0 : seg.seq, ts);
    if ((flags & TCP_RST) !== 0) {
      this.end(flow, ts);
    } else if ((flags & TCP_FIN) !== 0) {
      stream.flush(ts);
      if (fromA) { flow.finA = true; flow.connection.parserA.finish(ts); } else { flow.finB = true; flow.connection.parserB.finish(ts); }
      if (flow.finA && flow.finB) this.end(flow, ts);
    }
  }

  private create(seg: DecodedSegment, srcKey: EndpointKey, dstKey: EndpointKey, ts: number): Flow | null {
    if (this.flows.size >= this.limits.maxFlows) {
      this.stats.flowsDropped++;
      return null;
    }
    const endpoints = seg.ipVersion === 4
      ? { addrA: formatIpv4(seg.src4), portA: seg.sport, addrB: formatIpv4(seg.dst4), portB: seg.dport }
      : { addrA: seg.src6, portA: seg.sport, addrB: seg.dst6, portB: seg.dport };
    const connection = new HttpConnection(endpoints, this.limits, this.stats, this.emit);
    const flow = new Flow(srcKey, dstKey, connection, this.limits, this.budget, this.stats, ts);
    this.enter(srcKey, dstKey, flow);
    this.enter(dstKey, srcKey, flow);
    this.flows.add(flow);
    this.stats.flowsTotal++;
    this.stats.flowsActive = this.flows.size;
    return flow;
  }

  private enter(from: EndpointKey, to: EndpointKey, flow: Flow): void {
    let peers = this.byEndpoint.get(from);
    if (peers === undefined) {
      peers = new Map();
      this.byEndpoint.set(from, peers);
    }
    peers.set(to, flow);
  }

  private leave(from: EndpointKey, to: EndpointKey): void {
    const peers = this.byEndpoint.get(from);
    if (peers === undefined) return;
    peers.delete(to);
    if (peers.size === 0) this.byEndpoint.delete(from);
  }

  /** Ends a connection: delivers what waits behind holes, finishes both parsers, forgets it. */
  private end(flow: Flow, ts: number): void {
    flow.streamA.flush(ts);
    flow.streamB.flush(ts);
    flow.connection.close(ts);
    flow.streamA.dispose();
    flow.streamB.dispose();
    this.leave(flow.keyA, flow.keyB);
    this.leave(flow.keyB, flow.keyA);
    this.flows.delete(flow);
    this.stats.flowsActive = this.flows.size;
  }

  /** Ends connections idle since before `now − idleSeconds`. */
  expireIdle(now: number): void {
    const cutoff = now - this.limits.idleSeconds;
    for (const flow of this.flows) {
      if (flow.lastSeen < cutoff) {
        this.stats.flowsExpired++;
        this.end(flow, now);
      }
    }
  }

  /** Ends every connection (end of the capture). */
  endAll(now: number): void {
    for (const flow of this.flows) this.end(flow, now);
  }

  /** Request time of the oldest transaction still open anywhere, or Infinity. */
  oldestPendingTs(): number {
    let oldest = Infinity;
    for (const flow of this.flows) {
      const ts = flow.connection.oldestPendingTs;
      if (ts < oldest) oldest = ts;
    }
    return oldest;
  }
}
