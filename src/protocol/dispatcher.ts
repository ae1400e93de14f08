/**
 * The per-connection dispatcher: it receives both directions' bytes from reassembly, asks each
 * protocol in turn whether the first bytes are its own, opens the session of the first that
 * says yes, and from then on hands every byte straight to it. A stream nested inside a session
 * (TLS plaintext, the bytes after an HTTP/1 Upgrade or CONNECT) is dispatched the same way, by a
 * dispatcher of its own; one announced by name (ALPN, the Upgrade's protocol) goes at once to
 * the protocol that lists the name (see NestedKind for the rest).
 *
 * Tolerance, written down: a connection joined mid-way (bytes lost before the first ones seen)
 * is probed segment by segment, and bytes no protocol recognises are dropped until one does,
 * as an HTTP/1 parser resynchronising would drop them; a probe that wants more bytes is shown
 * at most MAX_PROBE_BYTES of them, past which it counts as a no.
 */
import type { CaptureStats, HttpEvent } from '../types';
import { NestedKind, type Endpoints, type EventEmitter, type FlowContext, type NestedFlow, type NestedOptions, type TlsEmitter } from './flowContext';
import { Probe, type Protocol, type ProtocolSession } from './protocol';
import type { StreamReceiver } from './streamReceiver';

/** Bytes a direction may hold while a probe asks for more (an HTTP/2 preface is 24). */
export const MAX_PROBE_BYTES = 64;

/**
 * Streams nested in streams, at most (TLS in a CONNECT tunnel in TLS is 3): deeper ones are
 * given up, counted as non-HTTP, since each level costs a session and a call on every byte.
 */
export const MAX_NESTING_DEPTH = 6;

/** Receives and forgets (a connection no protocol could take). */
const NOWHERE: StreamReceiver = { push: () => undefined, gap: () => undefined };

/** The protocols of a capture: those tried on a connection, and those tried on a stream nested in one. */
export interface ProtocolSet {
  readonly outer: readonly Protocol[];
  readonly nested: readonly Protocol[];
}

/** One direction's way in: straight to the session once there is one, else to the choice. */
class DispatchDirection implements StreamReceiver {
  /** The session's receiver for this direction, once chosen. */
  target: StreamReceiver | null = null;
  /** Bytes were lost before the first ones seen. */
  midStream = false;
  /** First bytes held while a probe wants more. */
  held: Buffer | null = null;
  heldTs = 0;

  constructor(private readonly dispatcher: FlowDispatcher, readonly fromA: boolean) {}

  push(buf: Buffer, start: number, end: number, ts: number): void {
    const target = this.target;
    if (target !== null) target.push(buf, start, end, ts);
    else this.dispatcher.onFirstBytes(this, buf, start, end, ts);
  }

  gap(ts: number, missing: number): void {
    const target = this.target;
    if (target !== null) {
      target.gap(ts, missing);
      return;
    }
    // Whatever was held came before the hole: the stream starts again after it, anywhere.
    this.held = null;
    this.midStream = true;
  }

  reset(): void {
    this.target = null;
    this.midStream = false;
    this.held = null;
  }
}

/** What a stream nested without options is: TLS plaintext. */
const TLS_PLAINTEXT: NestedOptions = { kind: NestedKind.TlsPlaintext };

/** Chooses and feeds one connection's protocol session. */
export class FlowDispatcher implements FlowContext, NestedFlow {
  readonly a: StreamReceiver;
  readonly b: StreamReceiver;
  emit: EventEmitter;
  private readonly dirA: DispatchDirection;
  private readonly dirB: DispatchDirection;
  private session: ProtocolSession | null = null;
  private protocol: Protocol | null = null;
  /** No protocol can take this connection: its bytes are dropped. */
  private dead = false;
  /** Transactions emitted through this dispatcher. */
  transactions = 0;
  /** Its session adopted the upgrade request it was offered (a nested stream after an Upgrade). */
  adoptedUpgradedRequest = false;

  /**
   * `candidates`: the protocols tried, in order (a nested stream's are not a connection's);
   * `depth`: how many streams this one is nested in.
   */
  constructor(
    /** Owned by the flow: the same object across reuse. */
    readonly endpoints: Endpoints,
    readonly stats: CaptureStats,
    private readonly protocols: ProtocolSet,
    emit: EventEmitter,
    readonly emitTls: TlsEmitter,
    private readonly candidates: readonly Protocol[] = protocols.outer,
    private readonly depth = 0,
  ) {
    this.dirA = new DispatchDirection(this, true);
    this.dirB = new DispatchDirection(this, false);
    this.a = this.dirA;
    this.b = this.dirB;
    this.emit = (event: HttpEvent) => {
      this.transactions++;
      emit(event);
    };
  }

  /** Request time of the oldest transaction not yet emitted, or Infinity. */
  get oldestPendingTs(): number {
    return this.session === null ? Infinity : this.session.oldestPendingTs;
  }

  /** Name of the protocol chosen, or '' while none is. */
  get protocolName(): string {
    return this.protocol?.name ?? '';
  }

  acceptsNested(alpn: string): boolean {
    return alpn === '' || this.protocols.nested.some((protocol) => protocol.alpn.includes(alpn));
  }

  openNested(name: string, options: NestedOptions = TLS_PLAINTEXT): NestedFlow {
    const emit = this.emit;
    const kind = options.kind;
    const tunnel = kind === NestedKind.Tunnel;
    // Its transactions go out through this dispatcher's emit: one nested in TLS plaintext at any
    // depth (an Upgrade, a tunnel inside it) is marked https on its way through the plaintext's.
    const serverName = options.serverName ?? '';
    const nestedEmit: EventEmitter = kind !== NestedKind.TlsPlaintext ? emit : serverName === ''
      ? (event) => { event.https = true; emit(event); }
      : (event) => { event.https = true; event.sni = serverName; emit(event); };
    const candidates = tunnel ? this.protocols.outer : this.protocols.nested;
    const depth = this.depth + 1;
    const nested = new FlowDispatcher(this.endpoints, this.stats, this.protocols, nestedEmit, this.emitTls, candidates, depth);
    if (depth > MAX_NESTING_DEPTH) {
      nested.giveUp(true);
      return nested;
    }
    const named = name === '' || tunnel ? undefined : candidates.find((protocol) => protocol.alpn.includes(name));
    if (named !== undefined) nested.startNamed(named, options.upgradedRequest);
    else if (kind === NestedKind.Upgrade) {
      // A protocol nothing here reads (WebSocket): its bytes are neither HTTP/1 nor unknown, only skipped.
      this.stats.upgradedFlows++;
      nested.giveUp(false);
    }
    return nested;
  }

  /** Opens `protocol`'s session at once (a nested stream announced by name), offering it `upgradedRequest`. */
  private startNamed(protocol: Protocol, upgradedRequest: HttpEvent | undefined): void {
    this.start(protocol, 0);
    const session = this.session;
    if (upgradedRequest !== undefined && session !== null && session.adoptUpgradedRequest !== undefined) {
      this.adoptedUpgradedRequest = session.adoptUpgradedRequest(upgradedRequest);
    }
  }

  /** Bytes of a direction no session has been chosen for yet. */
  onFirstBytes(direction: DispatchDirection, buf: Buffer, start: number, end: number, ts: number): void {
    if (this.dead) {
      direction.target = NOWHERE;
      return;
    }
    let data = buf;
    let from = start;
    let to = end;
    if (direction.held !== null) {
      data = Buffer.concat([direction.held, buf.subarray(start, end)]);
      from = 0;
      to = data.length;
      ts = direction.heldTs;
    }
    const chosen = this.choose(data, from, to, direction.midStream, false);
    if (chosen === 'wait') {
      // Kept as an own copy: the capture's buffer is reused for the next packet.
      if (direction.held === null) direction.heldTs = ts;
      direction.held = Buffer.from(data.subarray(from, to));
      return;
    }
    direction.held = null;
    if (chosen === null) {
      // Mid-stream bytes nobody knows: dropped, and the next ones are probed again.
      if (!direction.midStream) this.giveUp(true);
      return;
    }
    this.start(chosen, ts);
    direction.target!.push(data, from, to, ts);
  }

  /**
   * The first protocol that takes these bytes; 'wait' when one earlier in the list asks for more
   * (and there is room to hold them); null when none takes them. `final`: no more bytes will come.
   */
  private choose(buf: Buffer, start: number, end: number, midStream: boolean, final: boolean): Protocol | 'wait' | null {
    for (const protocol of this.candidates) {
      const answer = protocol.probe(buf, start, end, midStream);
      if (answer === Probe.Yes) return protocol;
      if (answer === Probe.NeedMore && !final && end - start < MAX_PROBE_BYTES) return 'wait';
    }
    return null;
  }

  /** Opens `protocol`'s session; both directions then go straight to it (a direction joined mid-way says so first). */
  private start(protocol: Protocol, ts: number): void {
    const session = protocol.open(this);
    if (session === null) {
      this.giveUp(false);
      return;
    }
    this.protocol = protocol;
    this.session = session;
    this.dirA.target = session.a;
    this.dirB.target = session.b;
    for (const direction of [this.dirA, this.dirB]) {
      if (direction.midStream) session[direction.fromA ? 'a' : 'b'].gap(ts, -1);
    }
    // The other direction may hold bytes a probe wanted more of: they go to the session now.
    for (const direction of [this.dirA, this.dirB]) this.deliverHeld(direction);
  }

  private deliverHeld(direction: DispatchDirection): void {
    const held = direction.held;
    if (held === null) return;
    direction.held = null;
    direction.target!.push(held, 0, held.length, direction.heldTs);
  }

  /** No protocol can read this connection; `unknown`: none knows its bytes (counted), else its protocol could not open a session (the protocol counts that). */
  private giveUp(unknown: boolean): void {
    if (unknown) this.stats.nonHttpFlows++;
    this.dead = true;
    this.dirA.target = NOWHERE;
    this.dirB.target = NOWHERE;
    this.dirA.held = null;
    this.dirB.held = null;
  }

  /** Bytes still held when no more will come: the probes decide on what there is. */
  private settle(): void {
    for (const direction of [this.dirA, this.dirB]) {
      const held = direction.held;
      if (held === null || this.session !== null || this.dead) continue;
      direction.held = null;
      const chosen = this.choose(held, 0, held.length, direction.midStream, true);
      if (chosen === null || chosen === 'wait') {
        if (!direction.midStream) this.giveUp(true);
        continue;
      }
      this.start(chosen, direction.heldTs);
      direction.target!.push(held, 0, held.length, direction.heldTs);
    }
  }

  /** A direction ended (FIN). */
  finish(fromA: boolean, ts: number): void {
    this.settle();
    this.session?.finish(fromA, ts);
  }

  /** The connection is over: its session emits what waits and goes back to its protocol. */
  close(ts: number): void {
    this.settle();
    const session = this.session;
    if (session === null) return;
    session.close(ts);
    this.protocol!.recycle(session);
    this.session = null;
    this.protocol = null;
  }

  /** Back to a new connection's state (flows are reused; the endpoints object is changed by the flow). */
  reset(): void {
    this.session = null;
    this.protocol = null;
    this.dead = false;
    this.transactions = 0;
    this.adoptedUpgradedRequest = false;
    this.dirA.reset();
    this.dirB.reset();
  }
}
