/**
 * What a protocol session knows of its connection: the endpoints (named client and server once
 * the session knows which is which), where its transactions and connection records go, the
 * capture's counters, and the way back to the dispatcher for a stream nested inside it (TLS
 * plaintext).
 */
import type { CaptureStats, FlowAddress, HttpEvent, TlsConnection } from '../types';
import type { StreamReceiver } from './streamReceiver';

/** The two endpoints of a connection, in the order its first packet went. */
export interface Endpoints {
  addrA: string;
  portA: number;
  addrB: string;
  portB: number;
}

/** The endpoints as client and server, `clientIsA` saying which of A and B is the client. */
export function orientFlow(e: Endpoints, clientIsA: boolean): FlowAddress {
  return clientIsA
    ? { src: e.addrA, sport: e.portA, dst: e.addrB, dport: e.portB }
    : { src: e.addrB, sport: e.portB, dst: e.addrA, dport: e.portA };
}

/** Where finished transactions go. */
export type EventEmitter = (event: HttpEvent) => void;

/** Where the records of ended TLS connections go. */
export type TlsEmitter = (connection: TlsConnection) => void;

/** A stream opened inside a connection (the plaintext of its TLS), dispatched like a connection of its own. */
export interface NestedFlow {
  /** Receivers of the bytes sent by A and by B. */
  readonly a: StreamReceiver;
  readonly b: StreamReceiver;
  /** Transactions it has emitted. */
  readonly transactions: number;
  /** Request time of its oldest transaction not yet emitted, or Infinity. */
  readonly oldestPendingTs: number;
  /** It is over: emits what waits, and gives its buffers back. */
  close(ts: number): void;
}

/** One connection, as its protocol session sees it. */
export interface FlowContext {
  /** Owned by the flow: the same object across reuse, changed in place. */
  readonly endpoints: Endpoints;
  readonly stats: CaptureStats;
  emit: EventEmitter;
  emitTls: TlsEmitter;
  /** Would a nested stream announced as `alpn` (TLS's ALPN; '' when none) find a protocol to read it? */
  acceptsNested(alpn: string): boolean;
  /** Opens a nested stream announced as `alpn`; its transactions are marked `https`. */
  openNested(alpn: string): NestedFlow;
}
