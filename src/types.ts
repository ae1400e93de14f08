/** One HTTP transaction: a request and, when seen, its response. Strings are bounded and sanitised. */
export interface HttpEvent {
  /** Request time, epoch seconds (fractional), from the packet clock. */
  ts: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
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
  /** Message heads dropped because the head buffers of all connections together reached their budget. */
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
  /** Connections given up because their bytes were not HTTP. */
  nonHttpFlows: number;
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
}

/** A CaptureStats with every counter at zero. */
export function emptyCaptureStats(): CaptureStats {
  return {
    packets: 0, bytes: 0, kernelDrops: 0, ifDrops: 0, decodeErrors: 0, badTimestamps: 0, headBufferDrops: 0, interfaceDown: 0, nonTcp: 0, fragments: 0,
    flowsActive: 0, flowsTotal: 0, flowsDropped: 0, flowsExpired: 0, nonHttpFlows: 0, gaps: 0,
    gapBytes: 0, reassemblyDrops: 0, duplicateBytes: 0, uncapturedBytes: 0, parseErrors: 0, unanswered: 0,
    orphanResponses: 0, pipelineDrops: 0, events: 0, eventsDropped: 0,
  };
}
