/**
 * A deterministic generator of HTTP/1.1 traffic on keep-alive connections: TCP handshakes,
 * requests, ACKs, responses split into segments, and teardowns, as Ethernet frames in time
 * order. The same seed and profile always give the same packets. Used by `--demo` and by the
 * benchmark, and by tests that need a capture with a known schedule.
 */
import type { TimedFrame } from './frames';
import { TcpConversation } from './tcpConversation';
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

const SITES: Array<{ host: string; sections: string[]; weight: number }> = [
  { host: 'shop.example.com', sections: ['/cart', '/products', '/checkout', '/search'], weight: 5 },
  { host: 'api.example.com', sections: ['/v1', '/v2', '/auth', '/health'], weight: 4 },
  { host: 'static.example.com', sections: ['/css', '/js', '/img', '/fonts'], weight: 3 },
  { host: 'www.example.com', sections: ['/', '/about', '/pages', '/blog', '/contact'], weight: 2 },
  { host: 'admin.example.com', sections: ['/users', '/reports', '/settings'], weight: 1 },
];

const USER_AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'curl/8.5.0',
  'python-requests/2.32.3',
  'Go-http-client/1.1',
  'kube-probe/1.30',
  'Googlebot/2.1 (+http://www.google.com/bot.html)',
];

const METHODS: Array<[string, number]> = [['GET', 0.85], ['POST', 0.08], ['PUT', 0.03], ['DELETE', 0.02], ['HEAD', 0.02]];
const STATUSES: Array<[number, string, number]> = [
  [200, 'OK', 0.87], [304, 'Not Modified', 0.05], [404, 'Not Found', 0.04], [301, 'Moved Permanently', 0.02],
  [500, 'Internal Server Error', 0.01], [503, 'Service Unavailable', 0.01],
];

function pickWeighted<T>(random: () => number, items: Array<[T, number]>): T {
  let r = random();
  for (const [item, weight] of items) {
    if (r < weight) return item;
    r -= weight;
  }
  return items[items.length - 1][0];
}

interface Connection {
  tcp: TcpConversation;
  served: number;
  busyUntil: number;
  open: boolean;
}

/** A binary min-heap of frames by time: packets of overlapping transactions come out in order. */
class FrameHeap {
  private items: TimedFrame[] = [];
  get size(): number { return this.items.length; }
  peek(): TimedFrame { return this.items[0]; }
  push(item: TimedFrame): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent].ts <= item.ts) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = item;
  }
  pop(): TimedFrame {
    const items = this.items;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= items.length) break;
        const right = left + 1;
        const child = right < items.length && items[right].ts < items[left].ts ? right : left;
        if (items[child].ts >= last.ts) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}

const BODY = Buffer.alloc(64 * 1024, 'x');

/** Total requests a profile generates (before rounding of the last arrivals). */
export function plannedRequests(profile: TrafficProfile): number {
  return profile.phases.reduce((sum, p) => sum + Math.round(p.seconds * p.rps), 0);
}

/** Yields the profile's frames in time order. */
export function* generateTraffic(profile: TrafficProfile): Generator<TimedFrame> {
  const random = seededRandom(profile.seed);
  const heap = new FrameHeap();
  const pool: Connection[] = [];
  let nextPort = 20000;
  const siteWeights: Array<[typeof SITES[number], number]> = SITES.map((s) => [s, s.weight / 15]);

  const push = (frame: TimedFrame): void => heap.push(frame);

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
      while (heap.size > 0 && heap.peek().ts <= arrival - 0.001) yield heap.pop();
      slot = (slot + 1) % profile.connections;
      let conn = pool[slot];
      if (conn === undefined || !conn.open) conn = pool[slot] = openConnection(slot, arrival);
      const start = Math.max(arrival, conn.busyUntil);
      conn.busyUntil = transaction(conn, start);
      if (++conn.served >= profile.requestsPerConnection) closeConnection(conn, conn.busyUntil + 0.0002);
    }
    t = phaseEnd;
  }
  for (const conn of pool) if (conn?.open) closeConnection(conn, conn.busyUntil + 0.0002);
  while (heap.size > 0) yield heap.pop();

  /** Schedules one request/response exchange; returns when the connection is free again. */
  function transaction(conn: Connection, ts: number): number {
    const site = pickWeighted(random, siteWeights);
    const section = site.sections[Math.floor(random() * site.sections.length)];
    const method = pickWeighted(random, METHODS);
    const item = Math.floor(1 / (0.001 + random() * random())) % 5000;
    const uri = section === '/' ? (random() < 0.5 ? '/' : `/index.html?ref=${item}`) : `${section}/item/${item}`;
    const ua = USER_AGENTS[Math.floor(random() * random() * USER_AGENTS.length)];
    const requestBody = method === 'POST' || method === 'PUT' ? BODY.subarray(0, 50 + Math.floor(random() * 400)) : null;
    const head = `${method} ${uri} HTTP/1.1\r\nHost: ${site.host}\r\nUser-Agent: ${ua}\r\nAccept: */*\r\n`
      + (requestBody ? `Content-Type: application/json\r\nContent-Length: ${requestBody.length}\r\n` : '') + '\r\n';
    const request = requestBody ? Buffer.concat([Buffer.from(head, 'latin1'), requestBody]) : Buffer.from(head, 'latin1');
    // The request fits one segment; the server acknowledges it at once.
    conn.tcp.send('client', request, ts, { step: 0, ackDelay: 0.0001 });

    const [status, reason] = pickWeighted(random, STATUSES.map(([s, r, w]) => [[s, r] as [number, string], w]));
    const latency = 0.001 + random() * random() * 0.08;
    const hasBody = method !== 'HEAD' && status !== 304;
    const bodyLength = hasBody ? 100 + Math.floor(random() * 2400) : 0;
    const responseHead = `HTTP/1.1 ${status} ${reason}\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: ${bodyLength}\r\n\r\n`;
    const response = Buffer.concat([Buffer.from(responseHead, 'latin1'), BODY.subarray(0, method === 'HEAD' ? 0 : bodyLength)]);
    // The client acknowledges every segment it receives.
    const done = conn.tcp.send('server', response, ts + latency, { step: 0.00005, ackDelay: 0.00003 });
    return done + 0.0002;
  }
}
