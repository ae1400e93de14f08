/**
 * The HTTP/2 share of the generated traffic: a few long-lived h2c connections to one server,
 * some carrying an edge proxy's requests (the same sites, methods and statuses as HTTP/1.1), one
 * a gRPC client's calls (unary, and a search that streams its results; now and then NOT_FOUND or
 * UNAVAILABLE). Each connection opens with the preface and SETTINGS, multiplexes its streams
 * (several in flight, their DATA frames interleaved), compresses its headers with HPACK's dynamic
 * table, and is retired by the server with a GOAWAY after so many streams.
 *
 * Why frames are written late: the streams of one connection share its TCP sequence and each
 * side's HPACK table, so a frame can be numbered and encoded only when all that goes before it on
 * the wire has been. A stream's later frames wait in a queue by time and are written when the
 * generator's time reaches them (`flushUntil`).
 */
import { TCP_ACK } from '../../decode';
import { BODY, pickExchange, pickLatency, pickStatus, pickWeighted } from './exchanges';
import type { Endpoint, TimedFrame } from './frames';
import { H2Side, PREFACE, data, goAway, grpcMessage, settings, windowUpdate } from './h2Builders';
import { TcpConversation, otherSide, type Side } from './tcpConversation';
import { TimeHeap } from './timeHeap';

/** How much of the traffic is HTTP/2, and on how many connections. */
export interface Http2Profile {
  /** Share of the arrivals sent as plain HTTP/2 requests (0 to 1). */
  share: number;
  /** Share of the arrivals sent as gRPC calls. */
  grpcShare: number;
  /** h2c connections carrying the plain requests. */
  connections: number;
  /** h2c connections carrying the gRPC calls. */
  grpcConnections: number;
  /** Streams a connection carries before the server retires it. */
  streamsPerConnection: number;
}

/** The server of every HTTP/2 connection. */
export const HTTP2_SERVER: Endpoint = { addr: '10.0.0.5', port: 8080 };

/** Seconds from one segment of a connection to its next. */
const STEP = 0.00002;
/** Seconds from a segment to the receiver's acknowledgement of it. */
const ACK_DELAY = 0.00003;
/** A connection's opening (handshake, prefaces, SETTINGS) starts this long before its first request. */
const OPENING = 0.0009;
/** The most bytes of a response body a DATA frame carries: servers write bodies as the application gives them. */
const DATA_CHUNK = 512;

type Kind = 'web' | 'grpc';

/** The demo's gRPC methods: path, weight, and how many messages a call answers with at most. */
const GRPC_METHODS: Array<[{ path: string; messages: number }, number]> = [
  [{ path: '/shop.Catalog/Search', messages: 4 }, 0.35],
  [{ path: '/shop.Catalog/GetProduct', messages: 1 }, 0.25],
  [{ path: '/shop.Cart/AddItem', messages: 1 }, 0.2],
  [{ path: '/shop.Cart/GetCart', messages: 1 }, 0.15],
  [{ path: '/shop.Checkout/PlaceOrder', messages: 1 }, 0.05],
];

/** What the gRPC server says instead of OK: its status code and message. */
const GRPC_FAILURES: Record<number, [number, string]> = {
  404: [5, 'no such item'],
  500: [14, 'no healthy upstream'],
  503: [14, 'no healthy upstream'],
};

interface H2Connection {
  tcp: TcpConversation;
  client: H2Side;
  server: H2Side;
  nextStreamId: number;
  /** The time of its last frame written: the next goes at least a step later. */
  lastTs: number;
  /** The time of its last frame scheduled: a retired connection closes after it. */
  lastScheduled: number;
  retired: boolean;
}

/** A write waiting for its time; `write` encodes its bytes then (see the file's comment). */
interface Pending {
  ts: number;
  conn: H2Connection;
  write: (ts: number) => void;
}

type Headers = Array<[string, string]>;

/** The HTTP/2 traffic of one generator run. */
export class Http2Traffic {
  private readonly queue = new TimeHeap<Pending>();
  private readonly pools: Record<Kind, Array<H2Connection | undefined>>;
  private readonly turns: Record<Kind, number> = { web: 0, grpc: 0 };
  private nextPort = 50000;

  /** `random`: a stream of its own; `push` takes every frame (the generator's heap). */
  constructor(private readonly profile: Http2Profile, private readonly random: () => number, private readonly push: (frame: TimedFrame) => void) {
    this.pools = { web: new Array(profile.connections).fill(undefined), grpc: new Array(profile.grpcConnections).fill(undefined) };
  }

  /** Writes every frame due by `ts`. Call it before the heap hands out the frames up to `ts`. */
  flushUntil(ts: number): void {
    const queue = this.queue;
    while (queue.size > 0 && queue.peek().ts <= ts) {
      const pending = queue.pop();
      pending.write(Math.max(pending.ts, pending.conn.lastTs + STEP));
    }
  }

  /**
   * Takes the request arriving at `ts` when its draw falls in the HTTP/2 or gRPC share: its
   * HEADERS go now, the rest is scheduled. False leaves it to HTTP/1.1.
   */
  take(ts: number): boolean {
    const draw = this.random();
    const { share, grpcShare } = this.profile;
    const kind: Kind | null = draw < grpcShare ? 'grpc' : draw < grpcShare + share ? 'web' : null;
    if (kind === null) return false;
    const pool = this.pools[kind];
    const slot = this.turns[kind]++ % pool.length;
    let conn = pool[slot];
    const at = conn === undefined || conn.retired ? ts : Math.max(ts, conn.lastTs + STEP);
    // A request counts in the second its HEADERS go: one its busy connection would push into the
    // next second goes as HTTP/1.1 instead, so that every second keeps the requests of its arrivals.
    if (Math.floor(at) !== Math.floor(ts)) return false;
    if (conn === undefined || conn.retired) conn = pool[slot] = this.open(kind, slot, ts);
    const streamId = conn.nextStreamId;
    conn.nextStreamId += 2;
    if (kind === 'web') this.request(conn, streamId, at);
    else this.call(conn, streamId, at);
    if (conn.nextStreamId > 2 * this.profile.streamsPerConnection) this.retire(conn);
    return true;
  }

  /** Every connection is retired after its last stream, and all that waits is written. */
  finish(): void {
    for (const pool of Object.values(this.pools)) for (const conn of pool) if (conn !== undefined && !conn.retired) this.retire(conn);
    this.flushUntil(Infinity);
  }

  /** A new connection just before `ts`: handshake, client preface with SETTINGS and a window, the server's SETTINGS and acks. */
  private open(kind: Kind, slot: number, ts: number): H2Connection {
    const random = this.random;
    const client: Endpoint = { addr: kind === 'web' ? `10.1.250.${11 + slot}` : `10.1.251.${21 + slot}`, port: this.nextPort };
    this.nextPort = this.nextPort >= 60000 ? 50000 : this.nextPort + 1;
    const isn = { client: Math.floor(random() * 2 ** 32), server: Math.floor(random() * 2 ** 32) };
    const start = ts - OPENING;
    const conn: H2Connection = {
      tcp: new TcpConversation(client, HTTP2_SERVER, isn, this.push), client: new H2Side({ huffman: true }), server: new H2Side({ huffman: true }),
      nextStreamId: 1, lastTs: start + 2 * STEP, lastScheduled: ts, retired: false,
    };
    conn.tcp.open(start, start + STEP, start + 2 * STEP);
    // The connection's window opened wide at once, as clients do: no stream waits for WINDOW_UPDATEs.
    this.send(conn, 'client', Buffer.concat([PREFACE, settings(), windowUpdate(0, 0x3fff0001)]), conn.lastTs + STEP);
    this.send(conn, 'server', Buffer.concat([settings(), settings(true)]), conn.lastTs + STEP);
    this.send(conn, 'client', settings(true), conn.lastTs + STEP);
    return conn;
  }

  /** `bytes` from `side` at `ts` (in segments a step apart), and the other side's acknowledgement. */
  private send(conn: H2Connection, side: Side, bytes: Buffer, ts: number): void {
    const last = conn.tcp.send(side, bytes, ts, { step: STEP }) - STEP;
    conn.lastTs = last + ACK_DELAY;
    conn.tcp.segment(otherSide(side), TCP_ACK, conn.lastTs);
  }

  /** A write of `side` at `ts` or as soon after as the connection is free; `bytes` are made then. */
  private schedule(conn: H2Connection, side: Side, ts: number, bytes: () => Buffer): void {
    if (ts > conn.lastScheduled) conn.lastScheduled = ts;
    this.queue.push({ ts, conn, write: (at) => this.send(conn, side, bytes(), at) });
  }

  /** A response's DATA from `ts`, in frames 2 to 22 ms apart (a body written as it is made); the last ends the stream when `end`. Returns the time of the last. */
  private body(conn: H2Connection, streamId: number, bytes: Buffer, ts: number, end: boolean): number {
    let at = ts;
    for (let from = 0; from < bytes.length; from += DATA_CHUNK) {
      const chunk = bytes.subarray(from, from + DATA_CHUNK);
      const last = from + DATA_CHUNK >= bytes.length;
      this.schedule(conn, 'server', at, () => data(streamId, chunk, last && end));
      if (!last) at += 0.002 + this.random() * 0.02;
    }
    return at;
  }

  /** A plain request on `conn` at `ts` and its response: the same kind of request as HTTP/1.1's. */
  private request(conn: H2Connection, streamId: number, ts: number): void {
    const x = pickExchange(this.random);
    const request: Headers = [
      [':method', x.method], [':scheme', 'http'], [':authority', x.host], [':path', x.uri],
      ['user-agent', x.ua], ['accept', '*/*'], ['accept-encoding', 'gzip, deflate'],
    ];
    if (x.requestBody > 0) request.push(['content-type', 'application/json'], ['content-length', String(x.requestBody)]);
    const head = conn.client.headers(streamId, request, { end: x.requestBody === 0 });
    this.send(conn, 'client', x.requestBody > 0 ? Buffer.concat([head, data(streamId, BODY.subarray(0, x.requestBody), true)]) : head, ts);
    const response: Headers = [[':status', String(x.status)], ['server', 'envoy'], ['content-type', 'text/html'], ['content-length', String(x.responseBody)]];
    const answered = ts + x.latency;
    this.schedule(conn, 'server', answered, () => conn.server.headers(streamId, response, { end: x.responseBody === 0 }));
    if (x.responseBody > 0) this.body(conn, streamId, BODY.subarray(0, x.responseBody), answered + 0.0002, true);
  }

  /** A gRPC call on `conn` at `ts`: one request message; its answer's messages and trailers, or a trailers-only failure. */
  private call(conn: H2Connection, streamId: number, ts: number): void {
    const random = this.random;
    const method = pickWeighted(random, GRPC_METHODS);
    const [status] = pickStatus(random);
    const latency = pickLatency(random);
    const request: Headers = [
      [':method', 'POST'], [':scheme', 'http'], [':path', method.path], [':authority', 'rpc.example.com:8080'],
      ['content-type', 'application/grpc'], ['te', 'trailers'], ['user-agent', 'grpc-go/1.64.0'], ['grpc-timeout', '2S'],
    ];
    const message = grpcMessage(BODY.subarray(0, 20 + Math.floor(random() * 200)));
    this.send(conn, 'client', Buffer.concat([conn.client.headers(streamId, request), data(streamId, message, true)]), ts);
    const answered = ts + latency;
    const failure = GRPC_FAILURES[status];
    if (failure !== undefined) {
      const [code, text] = failure;
      const trailersOnly: Headers = [[':status', '200'], ['content-type', 'application/grpc'], ['grpc-status', String(code)], ['grpc-message', text]];
      this.schedule(conn, 'server', answered, () => conn.server.headers(streamId, trailersOnly, { end: true }));
      return;
    }
    this.schedule(conn, 'server', answered, () => conn.server.headers(streamId, [[':status', '200'], ['content-type', 'application/grpc']]));
    // A search streams its results as it finds them; the other methods answer with one message.
    const messages = 1 + Math.floor(random() * method.messages);
    let at = answered + 0.0002;
    for (let n = 0; n < messages; n++) {
      if (n > 0) at += 0.005 + random() * 0.05;
      const reply = grpcMessage(BODY.subarray(0, 40 + Math.floor(random() * 1500)));
      at = this.body(conn, streamId, reply, at, false);
    }
    this.schedule(conn, 'server', at + 0.0002, () => conn.server.headers(streamId, [['grpc-status', '0']], { end: true }));
  }

  /** The server retires `conn` after its last stream: GOAWAY, and the client closes. */
  private retire(conn: H2Connection): void {
    conn.retired = true;
    const lastStreamId = conn.nextStreamId - 2;
    const at = conn.lastScheduled + 0.001;
    this.schedule(conn, 'server', at, () => goAway(lastStreamId));
    this.queue.push({
      ts: at + 0.0005,
      conn,
      write: (ts) => {
        conn.tcp.close(ts, ts + STEP, ts + 2 * STEP);
        conn.lastTs = ts + 2 * STEP;
      },
    });
  }
}
