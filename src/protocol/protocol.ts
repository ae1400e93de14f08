/**
 * The contract between the dispatcher and the protocols it chooses from (as in Zeek's analyzer
 * tree): each protocol has a probe that looks at a direction's first bytes, and opens a session
 * for a connection it takes. No protocol detects or hosts another; a nested stream goes back
 * through the dispatcher (FlowContext.openNested).
 */
import type { HttpEvent } from '../types';
import type { FlowContext } from './flowContext';
import type { StreamReceiver } from './streamReceiver';

/** A probe's answer. */
export const enum Probe {
  No,
  Yes,
  /** Could be: show me more bytes (the dispatcher holds a few). */
  NeedMore,
}

/** One connection read as one protocol. */
export interface ProtocolSession {
  /** Receivers of the bytes sent by A and by B. */
  readonly a: StreamReceiver;
  readonly b: StreamReceiver;
  /** A direction ended (FIN): what is delimited by the close ends here. */
  finish(fromA: boolean, ts: number): void;
  /** The connection is over: emit what waits, report what is reported at the end. */
  close(ts: number): void;
  /** Request time of the oldest transaction not yet emitted, or Infinity. */
  readonly oldestPendingTs: number;
  /**
   * A session opened for the bytes after an HTTP/1 Upgrade is offered the request that asked
   * for it (`event`: as HTTP/1 would emit it, status 101, latency to the 101), once, right after
   * open() and before any byte. True: the session adopts it as its own first transaction (h2c:
   * stream 1, whose response comes in HTTP/2; RFC 7540 §3.2) and emits it itself, through its
   * context, with the real response (and counts it in `stats.events`, as any it emits); HTTP/1
   * then does not emit it, nor keeps it: the event is the session's to change. False or absent:
   * HTTP/1 emits it as it is.
   */
  adoptUpgradedRequest?(event: HttpEvent): boolean;
}

/** A protocol the dispatcher can choose. */
export interface Protocol {
  readonly name: string;
  /** ALPN names it reads when they announce a nested stream (`h2`, `http/1.1`). */
  readonly alpn: readonly string[];
  /**
   * Is `buf[start, end)`, the first bytes of a direction, this protocol? `midStream`: bytes were
   * lost before them (a connection joined after its start), so they may begin anywhere.
   */
  probe(buf: Buffer, start: number, end: number, midStream: boolean): Probe;
  /** A session for the connection of `context`, or null when it cannot have one (its budget is spent; counted). */
  open(context: FlowContext): ProtocolSession | null;
  /** The session's connection ended: it may be kept for a later one (the protocol pools them). */
  recycle(session: ProtocolSession): void;
}
