/**
 * Recordings of real HTTP/2 clients and servers on 127.0.0.1, each through the relay (./relay):
 * curl, nghttp, h2load and Chromium against nginx, Node's http2 client against Node's http2
 * server (plain and gRPC), h2c and h2 over TLS. Each comes with the client's key log (TLS) and
 * the server's own access log (nginx's access_log; for Node, what its handler saw and
 * answered), which is what a test compares wiretop's transactions with, request by request.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tempDir } from './conversation';
import { H2_PREFACE, frameHeads, requestHeads } from './h2FrameHeads';
import { Nginx, SITE, type NginxOptions } from './nginx';
import { connectNodeH2, playGrpcProgram, playPlainProgram, startNodeH2Server, type GrpcLogLine } from './nodeH2';
import { Relay, timedFrames, type RecordedChunk, type RecordedConnection, type RelayedConnection, type TimedFramesOptions } from './relay';
import { selfSignedCertificate } from './tlsTranscript';
import type { ClientHttp2Session } from 'http2';
import type { Side } from '../../src/capture/sources/demo/tcpConversation';
import type { TimedFrame } from '../../src/capture/sources/demo/traffic';

/** One request as the server logged it. */
export interface AccessLogEntry {
  method: string;
  path: string;
  /** The status answered; null when the server never answered (the stream was reset first). */
  status: number | null;
  /** `h2c` or `h2`, as the server saw the connection. */
  protocol: string;
  /** The connection it came on: its index in the recording's connections. */
  connection: number;
  /** Its number on that connection, from 1, in the order the server received the requests. */
  ordinal: number;
  /** The stream it came on: the server's word (Node), or the `ordinal`-th stream the client opened (h2c, read from the bytes); unknown for nginx over TLS. */
  streamId?: number;
  /** The client reset the stream (RST_STREAM) before it ended. */
  reset?: boolean;
  /** Request body bytes the server received (Node; nginx logs no such count). */
  requestBytes?: number;
  /** Response body bytes the server sent (nginx's $body_bytes_sent; Node's writes). */
  responseBytes: number;
  grpc?: GrpcLogLine;
}

/** One scenario's recording. */
export interface H2Recording {
  scenario: string;
  /** Which client against which server. */
  description: string;
  tls: boolean;
  connections: RelayedConnection[];
  /** The client's key log (NSS format); empty for h2c. */
  keyLog: string;
  /** The server's access log, in the order it wrote it. */
  accessLog: AccessLogEntry[];
}

/** The frames of a recording at the times recorded: server port 443 over TLS, 80 for h2c. */
export function h2Frames(recording: H2Recording, options: TimedFramesOptions = {}): TimedFrame[] {
  return timedFrames(recording.connections, { serverPort: recording.tls ? 443 : 80, ...options });
}

/** All the bytes one side sent on a connection. */
export function sideBytes(connection: { chunks: Array<{ side: Side; data: Buffer }> }, side: Side): Buffer {
  return Buffer.concat(connection.chunks.filter((c) => c.side === side).map((c) => c.data));
}

/** Whether a program is installed: it answers `-v` (nginx) or `--version`. */
export function installed(program: string): boolean {
  return spawnSync(program, [program === 'nginx' ? '-v' : '--version'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

/**
 * Runs a program beside this process (the relay answers from its event loop: never a spawnSync),
 * killing its process group after `timeoutMs`; rejects unless it exits 0.
 */
export function runProgram(command: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone already */ } }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')}: ${signal ?? `exit ${code}`}\n${err.slice(-2000)}`));
    });
  });
}

/** The name TLS clients ask for (SNI) and the certificate covers. */
export const SERVER_NAME = 'shop.example.test';

/**
 * Records a client against nginx: starts nginx (h2c, or TLS), the relay before it, runs
 * `drive(relayPort, keyLogFile)`, lets the connections close, stops nginx, and reads its access log.
 */
async function recordNginx(scenario: string, description: string, options: NginxOptions, drive: (port: number, keyLogFile: string) => Promise<void>): Promise<H2Recording> {
  const nginx = await Nginx.start(options);
  const relay = await Relay.start(nginx.port);
  const keyLogFile = path.join(tempDir(), 'sslkeys.log');
  try {
    await drive(relay.port, keyLogFile);
    await relay.settled(3000);
  } finally {
    await nginx.stop();
    await relay.close();
  }
  const tls = options.tls !== undefined;
  const connections = relay.connections;
  const opened = connections.map((c) => (tls ? [] : requestHeads(sideBytes(c, 'client')).map((head) => head.streamId)));
  const accessLog = nginx.accessLog().map((line): AccessLogEntry => {
    const connection = relay.indexOf(line.remotePort);
    return {
      // 499 is nginx's word for "the client went away before the answer": nothing was answered on the wire.
      method: line.method, path: line.uri, status: line.status === 499 ? null : line.status, protocol: line.http2, connection, ordinal: line.connectionRequests, responseBytes: line.bodyBytesSent,
      ...(tls ? {} : { streamId: opened[connection]?.[line.connectionRequests - 1] }),
    };
  });
  return { scenario, description, tls, connections, keyLog: fs.existsSync(keyLogFile) ? fs.readFileSync(keyLogFile, 'latin1') : '', accessLog };
}

/** nginx over TLS with a fresh self-signed certificate (for localhost and SERVER_NAME). */
function nginxTls(protocols = 'TLSv1.2 TLSv1.3'): NginxOptions {
  const { dir } = selfSignedCertificate();
  return { tls: { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem'), protocols } };
}

/** A POST body written to a file for the clients that read one. */
function postBody(bytes = 1500): string {
  const file = path.join(tempDir(), 'post.txt');
  fs.writeFileSync(file, `order=${'x'.repeat(bytes - 6)}`);
  return file;
}

/**
 * curl 7.88 by prior knowledge against nginx h2c: GET 200, 404, 301 and a POST with a body (201).
 * One connection each: curl 7.88.1 fails a second URL on a reused prior-knowledge connection
 * ("Error in the HTTP2 framing layer", curl issue #10634, fixed in 8.0), so the several-streams
 * h2c recording is nghttp's.
 */
export function recordCurlH2c(): Promise<H2Recording> {
  return recordNginx('curl-h2c', 'curl --http2-prior-knowledge → nginx h2c', {}, async (port) => {
    const base = `http://127.0.0.1:${port}`;
    for (const url of ['/index.html', '/nope', SITE.redirect]) await runProgram('curl', ['-sS', '--http2-prior-knowledge', '-o', '/dev/null', `${base}${url}`]);
    await runProgram('curl', ['-sS', '--http2-prior-knowledge', '-o', '/dev/null', '--data-binary', `@${postBody()}`, `${base}${SITE.submit}`]);
  });
}

/** nghttp (nghttp2's client) against nginx h2c: 6 GETs multiplexed on one connection (with its PRIORITY tree), then a POST on a second. */
export function recordNghttpH2c(): Promise<H2Recording> {
  return recordNginx('nghttp-h2c', 'nghttp → nginx h2c', {}, async (port) => {
    const base = `http://127.0.0.1:${port}`;
    await runProgram('nghttp', ['-n', ...['/index.html', '/style.css', '/nope', SITE.redirect, '/big.bin', '/img/1.png'].map((p) => `${base}${p}`)]);
    await runProgram('nghttp', ['-n', '-d', postBody(40_000), `${base}${SITE.submit}`]);
  });
}

/** curl 7.88 over TLS 1.3 (ALPN h2, SSLKEYLOGFILE) against nginx: 4 GETs and a POST on one connection. */
export function recordCurlTls(): Promise<H2Recording> {
  return recordNginx('curl-tls', 'curl --http2 (TLS 1.3, SSLKEYLOGFILE) → nginx h2', nginxTls(), async (port, keyLogFile) => {
    const base = `https://${SERVER_NAME}:${port}`;
    const common = ['-sS', '-k', '--http2', '--tlsv1.3', '--resolve', `${SERVER_NAME}:${port}:127.0.0.1`];
    await runProgram('curl', [
      ...common, ...['/index.html', '/nope', SITE.redirect, '/img/2.png'].flatMap((p) => ['-o', '/dev/null', `${base}${p}`]),
      '--next', ...common, '-o', '/dev/null', '--data-binary', `@${postBody()}`, `${base}${SITE.submit}`,
    ], { SSLKEYLOGFILE: keyLogFile });
  });
}

const H2LOAD_PATHS = ['/index.html', '/nope', SITE.redirect, '/img/3.png'];

/** h2load against nginx h2c: 200 requests on 2 connections, 10 streams at a time on each (interleaved), cycling over 4 paths. */
export function recordH2loadH2c(): Promise<H2Recording> {
  return recordNginx('h2load-h2c', 'h2load -n 200 -c 2 -m 10 → nginx h2c', {}, async (port) => {
    await runProgram('h2load', ['-n', '200', '-c', '2', '-m', '10', ...H2LOAD_PATHS.map((p) => `http://127.0.0.1:${port}${p}`)]);
  });
}

/** h2load over TLS 1.2 (it writes SSLKEYLOGFILE: nghttp2 sets OpenSSL's key log callback) against nginx: 100 requests, 2 connections, 10 streams at a time. */
export function recordH2loadTls(): Promise<H2Recording> {
  return recordNginx('h2load-tls', 'h2load -n 100 -c 2 -m 10 (TLS 1.2, SSLKEYLOGFILE) → nginx h2', nginxTls('TLSv1.2'), async (port, keyLogFile) => {
    await runProgram('h2load', ['-n', '100', '-c', '2', '-m', '10', ...H2LOAD_PATHS.map((p) => `https://127.0.0.1:${port}${p}`)], { SSLKEYLOGFILE: keyLogFile });
  });
}

/**
 * Headless Chromium over TLS 1.3 (--ssl-key-log-file) loading nginx's page: the page, its
 * stylesheet, scripts (one missing), images, a synchronous POST and a redirected GET. Every
 * other host name fails to resolve, so nothing leaves 127.0.0.1.
 */
export function recordChromiumTls(): Promise<H2Recording> {
  return recordNginx('chromium-tls', 'Chromium headless (TLS 1.3, --ssl-key-log-file) → nginx h2', nginxTls(), async (port, keyLogFile) => {
    const profile = tempDir();
    await runProgram('chromium', [
      '--headless=new', '--no-sandbox', '--ignore-certificate-errors', `--ssl-key-log-file=${keyLogFile}`, `--user-data-dir=${profile}`,
      `--host-resolver-rules=MAP ${SERVER_NAME} 127.0.0.1, MAP * ~NOTFOUND`, '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-default-apps', '--disable-extensions', '--no-first-run', '--no-default-browser-check', '--disable-gpu',
      '--dump-dom', `https://${SERVER_NAME}:${port}/index.html`,
    ], {}, 45_000);
  });
}

/** Records Node's http2 client playing `program` against Node's http2 server, h2c or TLS 1.3. */
async function recordNode(scenario: string, description: string, useTls: boolean, program: (session: ClientHttp2Session) => Promise<void>): Promise<H2Recording> {
  const server = await startNodeH2Server(useTls ? selfSignedCertificate() : undefined);
  const relay = await Relay.start(server.port);
  const keyLines: string[] = [];
  try {
    const session = await connectNodeH2(relay.port, useTls, keyLines);
    try {
      await program(session);
    } finally {
      await new Promise<void>((resolve) => session.close(() => resolve()));
    }
    await relay.settled(3000);
  } finally {
    await server.close();
    await relay.close();
  }
  const accessLog = server.log.map((line): AccessLogEntry => ({
    method: line.method, path: line.path, status: line.status, protocol: line.protocol, connection: relay.indexOf(line.remotePort),
    ordinal: line.ordinal, streamId: line.streamId, reset: line.reset, requestBytes: line.requestBytes, responseBytes: line.responseBytes, ...(line.grpc ? { grpc: line.grpc } : {}),
  }));
  return { scenario, description, tls: useTls, connections: relay.connections, keyLog: keyLines.join(''), accessLog };
}

/** Node http2 → Node http2, h2c: 40 concurrent streams, a 1 MiB answer, request trailers, two resets. */
export function recordNodeH2c(): Promise<H2Recording> {
  return recordNode('node-h2c', 'Node http2 client → Node http2 server, h2c', false, playPlainProgram);
}

/** The same over TLS 1.3 with the client's key log. */
export function recordNodeTls(): Promise<H2Recording> {
  return recordNode('node-tls', 'Node http2 client → Node http2 server, TLS 1.3', true, playPlainProgram);
}

/** gRPC-shaped calls, h2c: unary, server and client streaming, grpc-status 5 in trailers, 12 trailers-only. */
export function recordGrpcH2c(): Promise<H2Recording> {
  return recordNode('grpc-h2c', 'gRPC-shaped calls, Node http2 → Node http2, h2c', false, playGrpcProgram);
}

/** The same over TLS 1.3 with the client's key log. */
export function recordGrpcTls(): Promise<H2Recording> {
  return recordNode('grpc-tls', 'gRPC-shaped calls, Node http2 → Node http2, TLS 1.3', true, playGrpcProgram);
}

/** Where a capture that joins mid-connection starts: at a frame's first byte, or inside a frame. */
export type CutKind = 'frame boundary' | 'mid-frame';

/** An h2c recording as a capture started mid-connection would hold it. */
export interface Midway {
  /** The recording's connections, in the same order, each side's bytes before its cut dropped. */
  connections: RecordedConnection[];
  /** The access log entries whose request HEADERS came whole after the cut. */
  after: AccessLogEntry[];
}

/**
 * Cuts each connection of an h2c recording where its client is about to send the request a third
 * of the way in (the first one when it has one or two): the client's bytes from that request's
 * HEADERS frame on, the server's from the first frame it sent after that moment; or, `mid-frame`,
 * each side from the middle of the frame before those. Nothing that answers a request after
 * the cut is dropped: the server cannot answer before the request reached it.
 */
export function joinMidway(recording: H2Recording, kind: CutKind): Midway {
  if (recording.tls) throw new Error('joinMidway reads h2c frames; a TLS capture joined mid-way cannot be decrypted');
  const after: AccessLogEntry[] = [];
  const connections = recording.connections.map((connection, index) => {
    const client = sideBytes(connection, 'client');
    const server = sideBytes(connection, 'server');
    const requests = requestHeads(client);
    const target = requests[Math.floor(requests.length / 3)];
    if (target === undefined) return { chunks: [] };
    after.push(...recording.accessLog.filter((e) => e.connection === index && e.streamId !== undefined && e.streamId >= target.streamId));
    // The server's bytes already passed on when the relay received the target request's first byte.
    let clientAt = 0;
    let serverBefore = 0;
    for (const chunk of connection.chunks) {
      if (chunk.side === 'client') {
        if (clientAt + chunk.data.length > target.offset) break;
        clientAt += chunk.data.length;
      } else {
        serverBefore += chunk.data.length;
      }
    }
    const serverFrames = frameHeads(server, 0);
    let cut: Record<'client' | 'server', number>;
    if (kind === 'frame boundary') {
      cut = { client: target.offset, server: serverFrames.find((f) => f.offset >= serverBefore)?.offset ?? server.length };
    } else {
      const middle = (f: { offset: number; length: number } | undefined, otherwise: number) => (f === undefined ? otherwise : f.offset + Math.floor((9 + f.length) / 2));
      cut = {
        client: middle(frameHeads(client).filter((f) => f.offset < target.offset).pop(), Math.floor(H2_PREFACE.length / 2)),
        server: middle(serverFrames.filter((f) => f.offset < serverBefore).pop(), 4),
      };
    }
    const at = { client: 0, server: 0 };
    const chunks: RecordedChunk[] = [];
    for (const chunk of connection.chunks) {
      const start = at[chunk.side];
      at[chunk.side] += chunk.data.length;
      const keep = Math.max(0, cut[chunk.side] - start);
      if (keep < chunk.data.length) chunks.push({ ...chunk, data: chunk.data.subarray(keep) });
    }
    return { chunks };
  });
  return { connections, after };
}

/** A scenario: its name, what it needs installed, how to record it. */
export interface Scenario {
  name: string;
  needs: string[];
  record: () => Promise<H2Recording>;
}

/** Every scenario, h2c first. */
export const SCENARIOS: Scenario[] = [
  { name: 'curl-h2c', needs: ['nginx', 'curl'], record: recordCurlH2c },
  { name: 'nghttp-h2c', needs: ['nginx', 'nghttp'], record: recordNghttpH2c },
  { name: 'h2load-h2c', needs: ['nginx', 'h2load'], record: recordH2loadH2c },
  { name: 'node-h2c', needs: [], record: recordNodeH2c },
  { name: 'grpc-h2c', needs: [], record: recordGrpcH2c },
  { name: 'curl-tls', needs: ['nginx', 'curl'], record: recordCurlTls },
  { name: 'h2load-tls', needs: ['nginx', 'h2load'], record: recordH2loadTls },
  { name: 'node-tls', needs: [], record: recordNodeTls },
  { name: 'grpc-tls', needs: [], record: recordGrpcTls },
  { name: 'chromium-tls', needs: ['nginx', 'chromium'], record: recordChromiumTls },
];
