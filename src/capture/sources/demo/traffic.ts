/**
 * A deterministic generator of HTTP/1.1 traffic on keep-alive connections: TCP handshakes,
 * requests, ACKs, responses split into segments, and teardowns, as Ethernet frames in time
 * order; with the profile's say, a share of the requests over HTTP/2 and gRPC (h2Traffic.ts)
 * and TLS connections beside (tlsTraffic.ts). The same seed and profile always give the same
 * packets. Used by `--demo` and by the benchmark, and by tests that need a capture with a known
 * schedule.
 */
import { BODY, pickExchange } from './exchanges';
import type { TimedFrame } from './frames';
import { Http2Traffic, type Http2Profile } from './h2Traffic';
import { TcpConversation } from './tcpConversation';
import { TimeHeap } from './timeHeap';
import { tlsConnections } from './tlsTraffic';

export type { TimedFrame } from './frames';

/** A stretch of traffic at a steady request rate. */
export interface TrafficPhase {
  seconds: number;
  /** Requests per second. */
  rps: number;
}

/** What to generate. */
export interface TrafficProfile {
  /** Epoch seconds of the first request. */
  startTs: number;
  phases: TrafficPhase[];
  seed: number;
  /** Keep-alive connections open at once. */
  connections: number;
  /** Requests a connection carries before it is closed and replaced. */
  requestsPerConnection: number;
  /** TLS connections a second beside the HTTP traffic (the demo's; default none). */
  tlsPerSecond?: number;
  /** Shares of the arrivals that go over HTTP/2 and gRPC instead of HTTP/1.1 (the demo's; default none). */
  http2?: Http2Profile;
}

/** A small, fast, seeded PRNG (mulberry32): deterministic across runs and machines. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Connection {
  tcp: TcpConversation;
  served: number;
  busyUntil: number;
  open: boolean;
}

/** Total requests a profile generates (before rounding of the last arrivals). */
export function plannedRequests(profile: TrafficProfile): number {
  return profile.phases.reduce((sum, p) => sum + Math.round(p.seconds * p.rps), 0);
}

/** Yields the profile's frames in time order. */
export function* generateTraffic(profile: TrafficProfile): Generator<TimedFrame> {
  const random = seededRandom(profile.seed);
  const heap = new TimeHeap<TimedFrame>();
  const pool: Connection[] = [];
  let nextPort = 20000;

  const push = (frame: TimedFrame): void => heap.push(frame);
  // HTTP/2 draws on a random stream of its own too: without it, the HTTP/1.1 traffic is the same as before it came.
  const http2 = profile.http2 !== undefined ? new Http2Traffic(profile.http2, seededRandom(profile.seed + 104729), push) : null;

  const openConnection = (slot: number, ts: number): Connection => {
    const client = { addr: `10.1.${slot % 250}.${1 + Math.floor(random() * 200)}`, port: nextPort };
    const server = { addr: `10.0.0.${1 + (slot % 4)}`, port: 80 };
    const isn = { client: Math.floor(random() * 2 ** 32), server: Math.floor(random() * 2 ** 32) };
    const tcp = new TcpConversation(client, server, isn, push);
    nextPort = nextPort >= 60000 ? 20000 : nextPort + 1;
    // The handshake just before the first request; these SYNs carry a zero ack field.
    tcp.open(ts - 0.0003, ts - 0.0002, ts - 0.0001, 0);
    return { tcp, served: 0, busyUntil: ts, open: true };
  };

  const closeConnection = (conn: Connection, ts: number): void => {
    conn.tcp.close(ts, ts + 0.0001, ts + 0.0002);
    conn.open = false;
  };

  let t = profile.startTs;
  let slot = 0;
  // TLS connections draw on a random stream of their own: the HTTP traffic is the same without them.
  const tlsRandom = seededRandom(profile.seed + 7919);
  let tlsPort = 40000;
  for (const phase of profile.phases) {
    const phaseEnd = t + phase.seconds;
    if ((profile.tlsPerSecond ?? 0) > 0) tlsPort = tlsConnections(t, phase.seconds, profile.tlsPerSecond!, tlsRandom, (frame) => heap.push(frame), tlsPort);
    const count = Math.round(phase.seconds * phase.rps);
    const interval = phase.seconds / Math.max(1, count);
    for (let n = 0; n < count; n++) {
      const arrival = t + interval * (n + random());
      // HTTP/2 writes what is due by now first: its frames must reach the heap before the heap passes their time.
      http2?.flushUntil(arrival);
      while (heap.size > 0 && heap.peek().ts <= arrival - 0.001) yield heap.pop();
      if (http2?.take(arrival) === true) continue;
      slot = (slot + 1) % profile.connections;
      let conn = pool[slot];
      if (conn === undefined || !conn.open) conn = pool[slot] = openConnection(slot, arrival);
      const start = Math.max(arrival, conn.busyUntil);
      conn.busyUntil = transaction(conn, start);
      if (++conn.served >= profile.requestsPerConnection) closeConnection(conn, conn.busyUntil + 0.0002);
    }
    t = phaseEnd;
  }
  http2?.finish();
  for (const conn of pool) if (conn?.open) closeConnection(conn, conn.busyUntil + 0.0002);
  while (heap.size > 0) yield heap.pop();

  /** Schedules one request/response exchange; returns when the connection is free again. */
  function transaction(conn: Connection, ts: number): number {
    const x = pickExchange(random);
    const requestBody = x.requestBody > 0 ? BODY.subarray(0, x.requestBody) : null;
    const head = `${x.method} ${x.uri} HTTP/1.1\r\nHost: ${x.host}\r\nUser-Agent: ${x.ua}\r\nAccept: */*\r\n`
      + (requestBody ? `Content-Type: application/json\r\nContent-Length: ${requestBody.length}\r\n` : '') + '\r\n';
    const request = requestBody ? Buffer.concat([Buffer.from(head, 'latin1'), requestBody]) : Buffer.from(head, 'latin1');
    // The request fits one segment; the server acknowledges it at once.
    conn.tcp.send('client', request, ts, { step: 0, ackDelay: 0.0001 });

    const responseHead = `HTTP/1.1 ${x.status} ${x.reason}\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: ${x.responseBody}\r\n\r\n`;
    const response = Buffer.concat([Buffer.from(responseHead, 'latin1'), BODY.subarray(0, x.responseBody)]);
    // The client acknowledges every segment it receives.
    const done = conn.tcp.send('server', response, ts + x.latency, { step: 0.00005, ackDelay: 0.00003 });
    return done + 0.0002;
  }
}
