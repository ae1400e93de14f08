/** A connection's two ends, oriented: the client (`src`, `sport`) and the server (`dst`, `dport`). */
export interface FlowAddress {
  src: string;
  sport: number;
  dst: string;
  dport: number;
}

/** One HTTP transaction: a request and, when seen, its response. Strings are bounded and sanitised. */
export interface HttpEvent extends FlowAddress {
  /** Request time, epoch seconds (fractional), from the packet clock. */
  ts: number;
  method: string;
  /** Host header without its port, else the server address. */
  host: string;
  uri: string;
  /** First path segment of the URI: `/pages/create` → `/pages`, `/` → `/`. */
  section: string;
  /** Response status, or null when no response was seen. */
  status: number | null;
  /** Request body bytes. */
  reqBytes: number;
  /** Response body bytes. */
  respBytes: number;
  ua: string;
  /** Request sent → first byte of the response, or null when unknown. */
  latencyMs: number | null;
  /** HTTP version of the request, e.g. `1.1`, `0.9`. */
  version: string;
  /** The URI's path with its variable parts named: `/users/{id}` (see src/http/route.ts). */
  route: string;
  /** The client: the TCP peer, or the address a trusted proxy forwarded for. */
  client: string;
  /** The URI was longer than 8 KiB and is cut. */
  uriTruncated: boolean;
  /** Request headers kept for the detail (`Name: value` lines); secrets only as `present, not shown`. */
  requestHeaders: string;
  /** Response headers kept for the detail, likewise. */
  responseHeaders: string;
  /** The server it was seen on, when several wiretops' streams are merged (`-r a -r b`). */
  node?: string;
  /** Decrypted from TLS with a key log (`--keylog`). */
  https?: boolean;
  /** HTTPS: the server name (SNI) of its TLS connection's ClientHello, lower-cased; absent when none was sent. */
  sni?: string;
  /** HTTP/2: the stream the transaction went on. */
  streamId?: number;
  /** gRPC (HTTP/2 with content-type application/grpc): the method, `package.Service/Method`. */
  grpcMethod?: string;
  /** gRPC: the `grpc-status` code (0 is OK), null when none was seen. */
  grpcStatus?: number | null;
  /** gRPC: the `grpc-message`, '' when none. */
  grpcMessage?: string;
  /** gRPC: length-prefixed messages the client sent, and the server. */
  grpcRequestMessages?: number;
  grpcResponseMessages?: number;
  /** `--processes`: the program on this host the connection belongs to (one shared object per process: one field added per transaction). */
  owner?: ProcessOwner;
}

/** A program on this host, as transactions name it (`--processes`; strings escaped). */
export interface ProcessOwner {
  /** The command name (`nginx`). */
  process: string;
  pid: number;
  /** The user name, or the uid as text when it has none. */
  user: string;
  /** `docker:0123456789ab`, `kubernetes:<pod uid>/<id>`; '' on the host. */
  container: string;
  /** The command line, at most 512 characters. */
  commandLine: string;
  /** How the processes breakdown keys it: the command, with its container when it has one. */
  key: string;
}

/** What a field of a transaction shows when the wire did not say it (an HTTP/2 header compressed against a table from before the capture began). */
export const UNKNOWN_TEXT = '<unknown>';

/**
 * One TLS connection, from its handshake's metadata and its byte counts (see
 * src/tls/handshakeObserver.ts). The client is the ClientHello's sender.
 */
export interface TlsConnection extends FlowAddress {
  /** Time of the ClientHello (of the connection's first byte when the handshake was not seen). */
  ts: number;
  /** Server name indication, lower-cased; empty when none was sent (or the handshake not seen). */
  serverName: string;
  /** Versions the client offered and the version chosen (`TLS 1.3`), empty when unknown. */
  versionsOffered: string[];
  version: string;
  /** The cipher suite chosen (its IANA name), empty when unknown. */
  cipher: string;
  alpnOffered: string[];
  /** The protocol chosen by ALPN (`h2`, `http/1.1`), empty when none. */
  alpn: string;
  /** ClientHello → first byte of the server's answer, ms; null when not seen. */
  handshakeMs: number | null;
  bytesToServer: number;
  bytesToClient: number;
  /** First to last byte seen, ms. */
  durationMs: number;
  /** Its records were decrypted with a key log. */
  decrypted: boolean;
  /** HTTP/1.x transactions decrypted from it. */
  requests: number;
  /** The server it was seen on, when streams are merged. */
  node?: string;
}

/** Capture-health counters; every field is a running total since the capture started. */
export interface CaptureStats {
  packets: number;
  bytes: number;
  /** Dropped by the kernel (libpcap ps_drop). */
  kernelDrops: number;
  /** Dropped by the interface (libpcap ps_ifdrop). */
  ifDrops: number;
  /** Frames that could not be decoded down to TCP (truncated, unknown link or protocol). */
  decodeErrors: number;
  /** 1 while the live interface is down (no traffic can be seen), else 0. */
  interfaceDown: number;
  /**
   * Message heads dropped because the head buffers of all connections together reached their
   * budget; also a client's bytes held after an Upgrade or CONNECT request until its answer, past
   * their bound or that budget.
   */
  headBufferDrops: number;
  /** Frames whose timestamp is no plausible time (not a number, before 1970, after 2200), skipped. */
  badTimestamps: number;
  /** Frames that are not TCP over IP (ARP, UDP, ICMP...), skipped. */
  nonTcp: number;
  /** IP fragments, counted and skipped. */
  fragments: number;
  /** TCP connections tracked now. */
  flowsActive: number;
  /** TCP connections seen in all. */
  flowsTotal: number;
  /** Connections ended early to make room in a full flow table (the least recently active). */
  flowsDropped: number;
  /** Connections expired after being idle. */
  flowsExpired: number;
  /** Connections given up because their bytes were not HTTP (nor TLS). */
  nonHttpFlows: number;
  /** Connections switched by an HTTP/1 Upgrade (101) to a protocol wiretop does not read (WebSocket): their later bytes are skipped. */
  upgradedFlows: number;
  /** Connections that speak TLS (a handshake, or TLS records when joined mid-way). */
  tlsFlows: number;
  /** TLS hellos that could not be read (malformed, over 64 KiB, no memory budget left). */
  tlsHelloErrors: number;
  /** TLS connections decrypted with the key log. */
  tlsDecrypted: number;
  /** TLS connections the key log had no secrets for (counted only with --keylog). */
  tlsNoKey: number;
  /** TLS records that did not decrypt (wrong key, damaged, unsupported). */
  tlsDecryptErrors: number;
  /** Holes in a TCP stream (lost packets, capture joined mid-connection) skipped over. */
  gaps: number;
  /** Bytes of payload skipped at those holes, as far as sequence numbers tell. */
  gapBytes: number;
  /** Out-of-order segments dropped because a stream's buffer was full. */
  reassemblyDrops: number;
  /** Retransmitted or overlapping payload bytes not delivered twice. */
  duplicateBytes: number;
  /** Payload bytes past the snapshot length, skipped by design (a body's bytes are counted, not read). */
  uncapturedBytes: number;
  /** Connections read as HTTP/2 (h2 decrypted from TLS, or h2c). */
  h2Flows: number;
  /** HTTP/2 header fields that referred to HPACK table entries from before the capture began: shown as unknown. */
  h2UnknownFields: number;
  /** HTTP/2 header blocks that could not be read (malformed, too large, cut by lost bytes): that stream's headers are lost. */
  h2HeaderErrors: number;
  /** HTTP/2 requests a server's GOAWAY said it never took (a client sends them again on another connection): not transactions. */
  h2Refused: number;
  /** Messages the HTTP parser could not make sense of. */
  parseErrors: number;
  /** Requests emitted without a response. */
  unanswered: number;
  /** Responses that came with no request to pair with. */
  orphanResponses: number;
  /** Requests dropped because a connection had too many unanswered ones queued. */
  pipelineDrops: number;
  /** HTTP transactions emitted. */
  events: number;
  /** Transactions dropped because the main thread fell too far behind a live capture. */
  eventsDropped: number;
  /**
   * Keys the statistics counted shortened (first characters and `…`) because their share of the
   * memory budget was spent on long keys (a flood of distinct long URIs, hosts or user agents).
   * Counted by the main thread, not the capture.
   */
  keysShortened: number;
}

/** A CaptureStats with every counter at zero. */
export function emptyCaptureStats(): CaptureStats {
  return {
    packets: 0, bytes: 0, kernelDrops: 0, ifDrops: 0, decodeErrors: 0, badTimestamps: 0, headBufferDrops: 0, interfaceDown: 0, nonTcp: 0, fragments: 0,
    flowsActive: 0, flowsTotal: 0, flowsDropped: 0, flowsExpired: 0, nonHttpFlows: 0, tlsFlows: 0, tlsHelloErrors: 0, tlsDecrypted: 0, tlsNoKey: 0, tlsDecryptErrors: 0, gaps: 0,
    gapBytes: 0, reassemblyDrops: 0, duplicateBytes: 0, uncapturedBytes: 0, parseErrors: 0, unanswered: 0,
    orphanResponses: 0, pipelineDrops: 0, events: 0, eventsDropped: 0, upgradedFlows: 0, h2Flows: 0, h2UnknownFields: 0, h2HeaderErrors: 0, h2Refused: 0,
    keysShortened: 0,
  };
}
