/**
 * What a protocol session knows of its connection: the endpoints (named client and server once
 * the session knows which is which), where its transactions and connection records go, the
 * capture's counters, and the way back to the dispatcher for a stream nested inside it (TLS
 * plaintext, the bytes after an HTTP/1 Upgrade or CONNECT).
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

/** What a nested stream is: it decides which protocols may read it, and how one is chosen. */
export const enum NestedKind {
  /**
   * TLS plaintext: the protocol its ALPN name lists, else (no ALPN) the first of the nested
   * protocols whose probe says yes. Its transactions are marked `https`.
   */
  TlsPlaintext,
  /**
   * The bytes after an HTTP/1 `101 Switching Protocols`: only the protocol that lists the
   * upgrade's name (`h2c`) reads them, never a probe (a WebSocket frame is no HTTP/1 message);
   * with none (`websocket`), they are dropped quietly, counted in `upgradedFlows`.
   */
  Upgrade,
  /**
   * The bytes after a CONNECT's 2xx: a connection of its own, probed from its first bytes among
   * the outer protocols (usually TLS, whose connection record is then reported as usual).
   */
  Tunnel,
}

/** How a nested stream is opened. */
export interface NestedOptions {
  readonly kind: NestedKind;
  /**
   * Upgrade only: the HTTP/1 request that asked for it, as HTTP/1 would emit it (status 101),
   * offered to the session chosen (ProtocolSession.adoptUpgradedRequest) before any byte.
   */
  readonly upgradedRequest?: HttpEvent;
  /** TLS plaintext only: the ClientHello's server name, given to the transactions read from it ('' when none). */
  readonly serverName?: string;
}

/** A stream opened inside a connection (its TLS plaintext, its bytes after an Upgrade or CONNECT), dispatched like a connection of its own. */
export interface NestedFlow {
  /** Receivers of the bytes sent by A and by B (the same A and B as the connection's). */
  readonly a: StreamReceiver;
  readonly b: StreamReceiver;
  /** Transactions it has emitted. */
  readonly transactions: number;
  /** Request time of its oldest transaction not yet emitted, or Infinity. */
  readonly oldestPendingTs: number;
  /**
   * Its session adopted `upgradedRequest`: it emits that transaction itself (h2c's stream 1),
   * so the opener must not. False when none was offered, or no session took it.
   */
  readonly adoptedUpgradedRequest: boolean;
  /** A direction ended (FIN). */
  finish(fromA: boolean, ts: number): void;
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
  /** Would TLS plaintext announced as `alpn` (its ALPN; '' when none) find a protocol to read it? */
  acceptsNested(alpn: string): boolean;
  /**
   * Opens a stream nested in this connection, announced as `name` (TLS's ALPN name, an
   * Upgrade's protocol lower-cased; '' when none): a protocol whose `alpn` lists the name takes it
   * at once, without a probe; else `options.kind` says what happens (see NestedKind). Without
   * `options`, TLS plaintext.
   */
  openNested(name: string, options?: NestedOptions): NestedFlow;
}
