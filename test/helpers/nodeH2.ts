/**
 * Node's own HTTP/2 server and client (the `http2` module: nghttp2 inside) for recordings: the
 * server keeps an access log of what each stream asked and what it answered, the client plays
 * a fixed program (many concurrent streams, a large body, request trailers, resets, gRPC).
 */
import * as http2 from 'http2';
import * as net from 'net';
import * as tls from 'tls';

/** What the server saw and did on one stream: its access log line. */
export interface NodeLogLine {
  method: string;
  path: string;
  /** The status it answered, null when the stream ended before it answered. */
  status: number | null;
  /** `h2c` or `h2`, as the session negotiated it. */
  protocol: string;
  /** The client port the server saw (the relay's port towards it). */
  remotePort: number;
  streamId: number;
  /** The stream's number on its session, from 1, in the order the server received them. */
  ordinal: number;
  /** The client reset the stream (RST_STREAM) before it ended. */
  reset: boolean;
  /** Request body bytes received. */
  requestBytes: number;
  /** Response body bytes written. */
  responseBytes: number;
  /** Request trailers received, `name: value` lines. */
  requestTrailers?: string;
  grpc?: GrpcLogLine;
}

/** A gRPC call as the server saw it. */
export interface GrpcLogLine {
  /** `pkg.Service/Method` */
  method: string;
  status: number;
  message: string;
  requestMessages: number;
  responseMessages: number;
}

/** The calls the client makes and how the server answers each gRPC method. */
export const GRPC_CALLS: Array<{ path: string; requestMessages: number; responseMessages: number; status: number; message: string; trailersOnly?: boolean }> = [
  { path: '/shop.v1.Orders/Get', requestMessages: 1, responseMessages: 1, status: 0, message: '' },
  { path: '/shop.v1.Orders/List', requestMessages: 1, responseMessages: 4, status: 0, message: '' },
  { path: '/shop.v1.Orders/Upload', requestMessages: 3, responseMessages: 1, status: 0, message: '' },
  // grpc-message is percent-encoded on the wire (gRPC over HTTP/2): this one needs no escaping.
  { path: '/shop.v1.Orders/Delete', requestMessages: 1, responseMessages: 0, status: 5, message: 'no-such-order' },
  { path: '/shop.v1.Orders/Watch', requestMessages: 2, responseMessages: 0, status: 12, message: 'not-implemented', trailersOnly: true },
  { path: '/shop.v1.Orders/Get', requestMessages: 1, responseMessages: 1, status: 0, message: '' },
];

/** What the client's program sends besides gRPC. */
export const PROGRAM = {
  /** GET /items/1..n at once; items whose number is a multiple of 7 are 404. */
  concurrentItems: 40,
  largeBytes: 1 << 20,
  uploadBytes: 50_000,
};

/** One length-prefixed gRPC message (uncompressed) of `size` bytes. */
export function grpcMessage(size: number, fill: number): Buffer {
  const out = Buffer.alloc(5 + size, fill);
  out[0] = 0;
  out.writeUInt32BE(size, 1);
  return out;
}

/** How many whole length-prefixed messages `body` holds. */
export function countGrpcMessages(body: Buffer): number {
  let count = 0;
  for (let at = 0; at + 5 <= body.length; at += 5 + body.readUInt32BE(at + 1)) count++;
  return count;
}

/** A Node HTTP/2 server (h2c, or h2 over TLS with `credentials`) that logs each stream when it ends. */
export async function startNodeH2Server(credentials?: { key: Buffer; cert: Buffer }): Promise<{ port: number; log: NodeLogLine[]; close: () => Promise<void> }> {
  const log: NodeLogLine[] = [];
  const server = credentials ? http2.createSecureServer({ ...credentials }) : http2.createServer();
  const ordinals = new WeakMap<http2.Http2Session, number>();
  const sessions = new Set<http2.Http2Session>();
  server.on('session', (session) => { sessions.add(session); session.once('close', () => sessions.delete(session)); });
  server.on('stream', (stream, headers) => {
    const session = stream.session!;
    const ordinal = (ordinals.get(session) ?? 0) + 1;
    ordinals.set(session, ordinal);
    const line: NodeLogLine = {
      method: String(headers[':method']), path: String(headers[':path']), status: null, protocol: session.alpnProtocol ?? '',
      remotePort: session.socket.remotePort ?? 0, streamId: stream.id ?? 0, ordinal, reset: false, requestBytes: 0, responseBytes: 0,
    };
    const respond = (status: number, extra: http2.OutgoingHttpHeaders = {}, options: http2.ServerStreamResponseOptions = {}) => {
      stream.respond({ ':status': status, ...extra }, options);
      line.status = status;
    };
    stream.on('error', () => undefined);
    stream.once('close', () => {
      line.reset = stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR;
      log.push(line);
    });
    stream.on('trailers', (trailers) => {
      line.requestTrailers = Object.entries(trailers).map(([name, value]) => `${name}: ${String(value)}`).join('\n');
    });
    const write = (data: string | Buffer) => {
      line.responseBytes += Buffer.byteLength(data);
      stream.write(data);
    };
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      line.requestBytes = body.length;
      const call = GRPC_CALLS.find((c) => c.path === line.path);
      if (call) {
        line.grpc = { method: line.path.slice(1), status: call.status, message: call.message, requestMessages: countGrpcMessages(body), responseMessages: call.responseMessages };
        const grpcTrailers = { 'grpc-status': String(call.status), ...(call.message ? { 'grpc-message': call.message } : {}) };
        if (call.trailersOnly) {
          respond(200, { 'content-type': 'application/grpc', ...grpcTrailers }, { endStream: true });
          return;
        }
        respond(200, { 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers(grpcTrailers));
        for (let i = 0; i < call.responseMessages; i++) write(grpcMessage(40 + i * 10, 0x61 + i));
        stream.end();
        return;
      }
      if (line.path === '/slow-head') return; // answered never: the client gives up first
      if (line.path === '/slow-body') {
        respond(200, { 'content-type': 'text/plain' });
        write('first part of a body that never ends\n');
        return;
      }
      if (line.path === '/large') {
        respond(200, { 'content-type': 'application/octet-stream' });
        write(Buffer.alloc(PROGRAM.largeBytes, 0x42));
        stream.end();
        return;
      }
      if (line.path === '/upload') {
        respond(200, { 'content-type': 'text/plain' });
        write(`received ${body.length} bytes\n`);
        stream.end();
        return;
      }
      const item = /^\/items\/(\d+)$/.exec(line.path);
      const found = item !== null && Number(item[1]) % 7 !== 0;
      respond(found ? 200 : 404, { 'content-type': 'application/json' });
      write(found ? JSON.stringify({ item: Number(item![1]), name: `item ${item![1]}` }) : '{"error":"not found"}');
      stream.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    log,
    close: () => new Promise<void>((resolve) => {
      for (const session of sessions) session.close();
      server.close(() => resolve());
    }),
  };
}

/** Connects to `port` on 127.0.0.1: h2c, or h2 over TLS whose key log lines go to `keyLog`. */
export async function connectNodeH2(port: number, useTls: boolean, keyLog: string[]): Promise<http2.ClientHttp2Session> {
  const session = useTls
    ? http2.connect(`https://localhost:${port}`, {
      createConnection: () => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: ['h2'] });
        socket.on('keylog', (line) => keyLog.push(line.toString('latin1')));
        return socket;
      },
    })
    : http2.connect(`http://127.0.0.1:${port}`);
  await new Promise<void>((resolve, reject) => { session.once('connect', () => resolve()); session.once('error', reject); });
  return session;
}

/** What one request got back. */
interface Answer { status: number | null; body: Buffer; trailers: http2.IncomingHttpHeaders | null; headers: http2.IncomingHttpHeaders | null }

/** Sends one request and reads its answer; `body` may be several writes, `trailers` sent after it. */
function exchange(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body: Buffer[] = [], trailers?: http2.OutgoingHttpHeaders): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body.length === 0 && trailers === undefined, waitForTrailers: trailers !== undefined });
    if (trailers) req.once('wantTrailers', () => req.sendTrailers(trailers));
    const answer: Answer = { status: null, body: Buffer.alloc(0), trailers: null, headers: null };
    const chunks: Buffer[] = [];
    req.on('response', (h) => { answer.headers = h; answer.status = Number(h[':status']); });
    req.on('trailers', (t) => { answer.trailers = t; });
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => { answer.body = Buffer.concat(chunks); resolve(answer); });
    req.on('error', reject);
    if (body.length > 0 || trailers) {
      for (const part of body) req.write(part);
      req.end();
    }
  });
}

/** Resets a request (CANCEL) `afterMs` after it is sent, or as soon as its response head arrives; resolves when it closed. */
function cancelled(session: http2.ClientHttp2Session, path: string, when: 'head' | number): Promise<void> {
  return new Promise((resolve) => {
    const req = session.request({ ':method': 'GET', ':path': path });
    req.on('error', () => undefined);
    req.on('data', () => undefined);
    const cancel = () => req.close(http2.constants.NGHTTP2_CANCEL);
    if (when === 'head') req.once('response', cancel);
    else setTimeout(cancel, when);
    req.once('close', () => resolve());
  });
}

/**
 * The plain program: 40 concurrent GETs (200 and 404), a 1 MiB answer, an upload with
 * trailers, a request reset before its answer and one reset after its response head.
 */
export async function playPlainProgram(session: http2.ClientHttp2Session): Promise<void> {
  const items = Array.from({ length: PROGRAM.concurrentItems }, (_, i) => exchange(session, { ':method': 'GET', ':path': `/items/${i + 1}` }));
  await Promise.all(items);
  const large = await exchange(session, { ':method': 'GET', ':path': '/large' });
  if (large.body.length !== PROGRAM.largeBytes) throw new Error(`/large: ${large.body.length} bytes`);
  const upload = Buffer.alloc(PROGRAM.uploadBytes, 0x55);
  await exchange(session, { ':method': 'POST', ':path': '/upload', 'content-type': 'application/octet-stream' }, [upload.subarray(0, 20_000), upload.subarray(20_000)], { 'x-checksum': 'abc123' });
  await cancelled(session, '/slow-head', 50);
  await cancelled(session, '/slow-body', 'head');
  // One more after the resets: the connection goes on.
  await exchange(session, { ':method': 'GET', ':path': '/items/1' });
}

/** The gRPC program: the calls of GRPC_CALLS, the first three at once, then one by one. */
export async function playGrpcProgram(session: http2.ClientHttp2Session): Promise<void> {
  const call = async (spec: (typeof GRPC_CALLS)[number]) => {
    const messages = Array.from({ length: spec.requestMessages }, (_, i) => grpcMessage(20 + i * 7, 0x30 + i));
    const answer = await exchange(session, {
      ':method': 'POST', ':path': spec.path, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '5S', 'user-agent': 'grpc-node-test/1.0',
    }, messages);
    const grpcStatus = (answer.trailers ?? answer.headers ?? {})['grpc-status'];
    if (Number(grpcStatus) !== spec.status || countGrpcMessages(answer.body) !== spec.responseMessages) throw new Error(`${spec.path}: grpc-status ${String(grpcStatus)}`);
  };
  await Promise.all(GRPC_CALLS.slice(0, 3).map(call));
  for (const spec of GRPC_CALLS.slice(3)) await call(spec);
}
