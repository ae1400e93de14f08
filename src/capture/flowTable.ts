/**
 * Tracks TCP connections: finds a segment's connection by its address/port 4-tuple, feeds the
 * right direction's reassembly, and ends connections on FIN/RST, on idleness, and at the end of
 * the capture. Bounded (`maxFlows`, from the memory budget, TLS sessions taking their share of
 * it): a full table ends the least recently active connection it finds to make room, and counts it.
 */
import type { CaptureStats } from '../types';
import { FlowDispatcher, type ProtocolSet } from '../protocol/dispatcher';
import type { EventEmitter, TlsEmitter } from '../protocol/flowContext';
import { DecodedSegment, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, formatIpv4 } from './decode';
import type { ByteBudget } from '../protocol/byteBudget';
import { mix32 } from '../mix32';
import { ReassemblyBudget, TcpStream, type ReassemblyLimits } from './reassembly';

/**
 * What one tracked connection costs: its objects (two streams, the dispatcher, two
 * parsers and the HTTP pairing) and its entries in the tables, 1.15–1.6 KB of heap measured with 50,000 of
 * them (`node --expose-gc`, heap used before and after), plus the collector's slack. Its
 * buffers and waiting requests are charged to their own parts.
 */
export const CONNECTION_COST = 1536;

/** Limits of the whole tracking state. */
export interface FlowLimits extends ReassemblyLimits {
  maxFlows: number;
  /** Seconds without a segment after which a connection is ended. */
  idleSeconds: number;
  /** Out-of-order bytes all connections together may hold. */
  maxBufferedBytes: number;
  /** What protocol sessions cost beyond their connection (counted as room taken). */
  sessionCosts: ByteBudget;
}

/** One tracked connection. A is the sender of its first segment seen. Reused once ended. */
class Flow {
  readonly streamA: TcpStream;
  readonly streamB: TcpStream;
  finA = false;
  finB = false;
  lastSeen: number;
  /** The next flow in the same hash slot. */
  next: Flow | null = null;
  /** Neighbours in the table's list of live flows, oldest first (see FlowTable.first). */
  older: Flow | null = null;
  newer: Flow | null = null;

  constructor(
    /** Endpoint A: IPv4 address as a number, or IPv6 text; and its port. */
    public addrA: number | string,
    public portA: number,
    public addrB: number | string,
    public portB: number,
    public bucket: number,
    readonly dispatcher: FlowDispatcher,
    limits: ReassemblyLimits,
    budget: ReassemblyBudget,
    stats: CaptureStats,
    ts: number,
  ) {
    this.streamA = new TcpStream(dispatcher.a, limits, budget, stats);
    this.streamB = new TcpStream(dispatcher.b, limits, budget, stats);
    this.lastSeen = ts;
  }

  /** Makes an ended flow a new connection's. */
  reuse(addrA: number | string, portA: number, addrB: number | string, portB: number, bucket: number, textA: string, textB: string, ts: number): void {
    this.addrA = addrA;
    this.portA = portA;
    this.addrB = addrB;
    this.portB = portB;
    this.bucket = bucket;
    this.finA = false;
    this.finB = false;
    this.lastSeen = ts;
    this.next = null;
    this.older = null;
    this.newer = null;
    this.streamA.reset();
    this.streamB.reset();
    const e = this.dispatcher.endpoints;
    e.addrA = textA;
    e.portA = portA;
    e.addrB = textB;
    e.portB = portB;
    this.dispatcher.reset();
  }
}

/**
 * Ended flows kept for new connections at most: a flow is a dozen objects (streams, the
 * dispatcher), and allocating them for every short connection kept the collector busy (its
 * protocol session is pooled by its protocol).
 */
const MAX_SPARE_FLOWS = 1024;

/** A hash of the 4-tuple that is the same in both directions and fits a small integer (see connectionHash). */
function bucketOf(a: number, portA: number, b: number, portB: number): number {
  const x = (Math.imul(a | 0, 0x9e3779b1) ^ Math.imul(portA, 0x85ebca6b)) | 0;
  const y = (Math.imul(b | 0, 0x9e3779b1) ^ Math.imul(portB, 0x85ebca6b)) | 0;
  return ((x + y) ^ ((x + y) >>> 15)) & 0x3fffffff;
}

/**
 * The connection of a decoded segment as one small integer, the same in both directions: the
 * file reader's choice of worker (flowHash). Not keyed: the flow table uses keyedHash.
 */
export function connectionHash(seg: DecodedSegment): number {
  return seg.ipVersion === 4
    ? bucketOf(seg.src4, seg.sport, seg.dst4, seg.dport)
    : bucketOf(stringHash(seg.src6, 0), seg.sport, stringHash(seg.dst6, 0), seg.dport);
}

/**
 * The flow table's hash of a connection, keyed with `seed`, the same in both directions: the sum
 * of its two endpoints' hashes, each address and port mixed with the seed through murmur3's
 * finaliser. Mixed before they are added: a sum of lightly mixed endpoints keeps structure an
 * attacker can use without the seed (two endpoints of one address differ only where their
 * ports' products do, so spoofed SYNs from an address to itself fell on 16 hashes at most).
 */
function keyedHash(seg: DecodedSegment, seed: number): number {
  const a = seg.ipVersion === 4 ? seg.src4 : stringHash(seg.src6, seed);
  const b = seg.ipVersion === 4 ? seg.dst4 : stringHash(seg.dst6, seed);
  return (endpointHash(a, seg.sport, seed) + endpointHash(b, seg.dport, seed)) & 0x3fffffff;
}

function endpointHash(address: number, port: number, seed: number): number {
  return mix32(Math.imul(address ^ seed, 0x9e3779b1) ^ Math.imul(port ^ (seed >>> 16), 0x85ebca6b));
}

/** FNV-1a of a text, its offset basis changed by `seed`. */
function stringHash(text: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}

/** Connections looked at to choose the one to end when the table is full. */
const EVICTION_CANDIDATES = 16;

/**
 * Places of the IPv4 address texts kept for reuse, a power of two: the text of an address is
 * kept in the place its hash picks (the last address there wins). A server's and its clients'
 * addresses recur; a scan of new ones only overwrites places, so the cache never grows.
 */
const ADDRESS_TEXT_BITS = 14;
const ADDRESS_TEXT_PLACES = 1 << ADDRESS_TEXT_BITS;

/**
 * Hash slots the table starts with, a power of two; doubled whenever the live flows would
 * outnumber them, never shrunk (at most the power of two above max_flows: 256 KB at the default
 * memory budget).
 */
const INITIAL_SLOTS = 1024;

/** All connections being tracked. */
export class FlowTable {
  /**
   * Slot (the 4-tuple's hash, either direction, cut to the table's size) → chain of the flows
   * that hash there. An array and chains threaded through the flows, not a Map and a Set: with a
   * new connection every few packets, the Map's and Set's tables were rebuilt over and over as
   * entries came and went (a fifth of the capture thread's allocation on one request per
   * connection), and a Map lookup hashes its key on every packet.
   */
  private slots: Array<Flow | null> = new Array<Flow | null>(INITIAL_SLOTS).fill(null);
  /**
   * Keys the connections' hash (see keyedHash). The unkeyed one is easily inverted: for every
   * port there is an IPv4 address that gives a chosen hash, and spoofed SYNs so made would all
   * have been chained in one slot, each packet's lookup walking all of them. It changes nothing
   * but where a connection is chained: lookups compare the whole 4-tuple.
   */
  private readonly hashSeed = (Math.random() * 0x100000000) | 0;
  /** The live flows in the order they were added (or last moved to the back by makeRoom). */
  private first: Flow | null = null;
  private last: Flow | null = null;
  private live = 0;
  private readonly budget: ReassemblyBudget;
  private readonly addressNumbers = new Int32Array(ADDRESS_TEXT_PLACES);
  private readonly addressTexts = new Array<string | undefined>(ADDRESS_TEXT_PLACES).fill(undefined);
  private readonly spareFlows: Flow[] = [];

  constructor(
    private readonly limits: FlowLimits,
    private readonly stats: CaptureStats,
    private readonly protocols: ProtocolSet,
    private readonly emit: EventEmitter,
    private readonly emitTls: TlsEmitter,
  ) {
    this.budget = new ReassemblyBudget(limits.maxBufferedBytes);
  }

  /** Takes one decoded segment of `frame` captured at `ts`. */
  onSegment(seg: DecodedSegment, frame: Buffer, ts: number): void {
    const flags = seg.flags;
    const length = seg.payloadLength;
    const uncaptured = seg.payloadUncaptured;
    // A bare ACK changes nothing the parsers see: skip the lookup (half of all packets).
    if (length + uncaptured === 0 && (flags & (TCP_SYN | TCP_FIN | TCP_RST)) === 0) return;
    const v4 = seg.ipVersion === 4;
    const src = v4 ? seg.src4 : seg.src6;
    const dst = v4 ? seg.dst4 : seg.dst6;
    const sport = seg.sport;
    const dport = seg.dport;
    const bucket = keyedHash(seg, this.hashSeed);
    let flow = this.slots[this.slotOf(bucket)];
    let fromA = true;
    while (flow !== null) {
      if (flow.portA === sport && flow.portB === dport && flow.addrA === src && flow.addrB === dst) break;
      if (flow.portA === dport && flow.portB === sport && flow.addrA === dst && flow.addrB === src) { fromA = false; break; }
      flow = flow.next;
    }
    if (flow === null) {
      if ((flags & TCP_RST) !== 0 || (length + uncaptured === 0 && (flags & TCP_SYN) === 0)) return;
      flow = this.create(seg, src, dst, bucket, ts);
    }
    flow.lastSeen = ts;
    const stream = fromA ? flow.streamA : flow.streamB;
    if ((flags & TCP_ACK) !== 0) (fromA ? flow.streamB : flow.streamA).onAcked(seg.ack, ts);
    if ((flags & TCP_SYN) !== 0) stream.onSyn(seg.seq);
    if (length + uncaptured > 0) stream.onSegment(frame, seg.payloadOffset, length, (flags & TCP_SYN) !== 0 ? (seg.seq + 1) >>> 0 : seg.seq, ts, uncaptured);
    if ((flags & TCP_RST) !== 0) {
      this.end(flow, ts);
    } else if ((flags & TCP_FIN) !== 0) {
      stream.flush(ts);
      if (fromA) flow.finA = true;
      else flow.finB = true;
      flow.dispatcher.finish(fromA, ts);
      if (flow.finA && flow.finB) this.end(flow, ts);
    }
  }

  /**
   * The table is full: ends the least recently active of the oldest connections (approximate
   * LRU). Those looked at and spared were active more recently and go to the back of the line,
   * so the next look finds others. A flood of new connections thus pushes out idle and flood
   * connections, not the busy ones that keep sending.
   */
  private makeRoom(ts: number): void {
    let victim: Flow | null = null;
    const spared: Flow[] = [];
    for (let flow = this.first; flow !== null; flow = flow.newer) {
      if (victim === null || flow.lastSeen < victim.lastSeen) {
        if (victim !== null) spared.push(victim);
        victim = flow;
      } else {
        spared.push(flow);
      }
      if (spared.length + 1 >= EVICTION_CANDIDATES) break;
    }
    for (const flow of spared) {
      this.detach(flow);
      this.append(flow);
    }
    if (victim === null) return;
    this.stats.flowsDropped++;
    this.end(victim, ts);
  }

  private create(seg: DecodedSegment, src: number | string, dst: number | string, bucket: number, ts: number): Flow {
    // Protocol sessions (TLS) take room too: what they cost, in connections.
    for (let tries = 0; tries < 4 && this.live > 0 && this.live + Math.ceil(this.limits.sessionCosts.used / CONNECTION_COST) >= this.limits.maxFlows; tries++) {
      this.makeRoom(ts);
    }
    const textA = seg.ipVersion === 4 ? this.ipv4Text(seg.src4) : seg.src6;
    const textB = seg.ipVersion === 4 ? this.ipv4Text(seg.dst4) : seg.dst6;
    let flow = this.spareFlows.pop();
    if (flow !== undefined) {
      flow.reuse(src, seg.sport, dst, seg.dport, bucket, textA, textB, ts);
    } else {
      const endpoints = { addrA: textA, portA: seg.sport, addrB: textB, portB: seg.dport };
      const dispatcher = new FlowDispatcher(endpoints, this.stats, this.protocols, this.emit, this.emitTls);
      flow = new Flow(src, seg.sport, dst, seg.dport, bucket, dispatcher, this.limits, this.budget, this.stats, ts);
    }
    // Grown before the new flow is in the list: growSlots chains every flow of the list.
    if (this.live >= this.slots.length) this.growSlots();
    const slot = this.slotOf(bucket);
    flow.next = this.slots[slot];
    this.slots[slot] = flow;
    this.append(flow);
    this.live++;
    this.stats.flowsTotal++;
    this.stats.flowsActive = this.live;
    return flow;
  }

  /** Twice the slots, and every live flow chained into its new one: chains stay about one flow long. */
  private growSlots(): void {
    const size = this.slots.length * 2;
    this.slots = new Array<Flow | null>(size).fill(null);
    for (let flow = this.first; flow !== null; flow = flow.newer) {
      const slot = this.slotOf(flow.bucket);
      flow.next = this.slots[slot];
      this.slots[slot] = flow;
    }
  }

  /** Puts `flow` at the back of the list of live flows. */
  private append(flow: Flow): void {
    flow.older = this.last;
    flow.newer = null;
    if (this.last === null) this.first = flow;
    else this.last.newer = flow;
    this.last = flow;
  }

  /** Is `flow` in the list of live flows (not ended)? */
  private isLive(flow: Flow): boolean {
    return flow.older !== null || this.first === flow;
  }

  /** Takes `flow`, which must be in it, out of the list of live flows. */
  private detach(flow: Flow): void {
    if (flow.older === null) this.first = flow.newer;
    else flow.older.newer = flow.newer;
    if (flow.newer === null) this.last = flow.older;
    else flow.newer.older = flow.older;
    flow.older = null;
    flow.newer = null;
  }

  /** The text of an IPv4 address; the addresses of a server and its clients recur, so they are kept (bounded). */
  private ipv4Text(address: number): string {
    const key = address | 0;
    const place = Math.imul(key, 0x9e3779b1) >>> (32 - ADDRESS_TEXT_BITS);
    const kept = this.addressTexts[place];
    if (kept !== undefined && this.addressNumbers[place] === key) return kept;
    const text = formatIpv4(address);
    this.addressTexts[place] = text;
    this.addressNumbers[place] = key;
    return text;
  }

  private unlink(flow: Flow): void {
    const slot = this.slotOf(flow.bucket);
    let head = this.slots[slot];
    if (head === flow) {
      this.slots[slot] = flow.next;
    } else {
      while (head !== null && head.next !== flow) head = head.next;
      if (head !== null) head.next = flow.next;
    }
    // A pooled flow must not keep its old neighbours alive.
    flow.next = null;
  }

  /** The most connections chained in one slot (for tests: a lookup walks its slot's chain). */
  longestChain(): number {
    let longest = 0;
    for (const head of this.slots) {
      let length = 0;
      for (let flow = head; flow !== null; flow = flow.next) length++;
      if (length > longest) longest = length;
    }
    return longest;
  }

  /** The slot of a connection's hash (keyedHash's bits are mixed already: its low ones will do). */
  private slotOf(bucket: number): number {
    return bucket & (this.slots.length - 1);
  }

  /** Ends a connection: delivers what waits behind holes, closes its session, forgets it. */
  private end(flow: Flow, ts: number): void {
    // Ended already (no path does this; the list and the pool would be corrupted if one did).
    if (!this.isLive(flow)) return;
    flow.streamA.flush(ts);
    flow.streamB.flush(ts);
    flow.dispatcher.close(ts);
    flow.streamA.reset();
    flow.streamB.reset();
    this.unlink(flow);
    this.detach(flow);
    this.live--;
    this.stats.flowsActive = this.live;
    if (this.spareFlows.length < MAX_SPARE_FLOWS) this.spareFlows.push(flow);
  }

  /** Ends connections idle since before `now − idleSeconds`. */
  expireIdle(now: number): void {
    const cutoff = now - this.limits.idleSeconds;
    for (let flow = this.first; flow !== null;) {
      // end() takes the flow out of the list (and may pool it): its successor first.
      const newer = flow.newer;
      if (flow.lastSeen < cutoff) {
        this.stats.flowsExpired++;
        this.end(flow, now);
      }
      flow = newer;
    }
  }

  /** Ends every connection (end of the capture). */
  endAll(now: number): void {
    for (let flow = this.first; flow !== null;) {
      const newer = flow.newer;
      this.end(flow, now);
      flow = newer;
    }
  }

  /** Request time of the oldest transaction still open anywhere, or Infinity. */
  oldestPendingTs(): number {
    let oldest = Infinity;
    for (let flow = this.first; flow !== null; flow = flow.newer) {
      const ts = flow.dispatcher.oldestPendingTs;
      if (ts < oldest) oldest = ts;
    }
    return oldest;
  }
}
