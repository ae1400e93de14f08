/**
 * HTTP/2 from real clients and servers, compared request by request with the server's own
 * access log: curl, nghttp, h2load and headless Chromium against nginx, Node's http2 client
 * against Node's http2 server (plain and gRPC-shaped), h2c and h2 over TLS with the client's
 * key log (test/helpers/h2Recordings.ts). A parser checked only against its own encoder agrees
 * with itself; these check it against the world.
 *
 * Each scenario: the recording itself is checked first (the access log has every request, on a
 * recorded connection; the bytes begin with the h2 preface or a TLS record; the key log), then
 * wiretop request by request, then (h2c only: TLS joined mid-way has no handshake to take keys
 * from) the same connections joined mid-way, at a frame boundary and inside a frame, and
 * `bin/wiretop -r` on two of them.
 *
 * Transactions are paired with access log lines per connection (the client port) in the order
 * the server received the requests: stream ids only grow on a connection (RFC 9113 §5.1.1),
 * so the n-th smallest stream id is the n-th request the server logged; where the server's log
 * names the stream (Node; h2c, read from the bytes) the ids must agree too.
 */
import * as fs from 'fs';
import * as path from 'path';
import { compileFilter } from '../src/filter/filter';
import type { HttpEvent } from '../src/types';
import { KeyLog } from '../src/tls/keyLog';
import { runFrames, tempDir, writePcap } from './helpers/conversation';
import { isUnknown } from './helpers/events';
import { FrameType, H2_PREFACE, frameHeads, requestHeads } from './helpers/h2FrameHeads';
import { SCENARIOS, h2Frames, installed, joinMidway, sideBytes, type AccessLogEntry, type CutKind, type H2Recording } from './helpers/h2Recordings';
import { SITE } from './helpers/nginx';
import { GRPC_CALLS } from './helpers/nodeH2';
import { timedFrames } from './helpers/relay';
import { runWiretop } from './helpers/runCli';

const FIRST_CLIENT_PORT = 50000;

/** What each scenario's server must have logged: requests, connections, and how many of each status (`none`: never answered). */
const EXPECTED: Record<string, { requests: number; connections?: number; statuses?: Record<string, number> }> = {
  'curl-h2c': { requests: 4, connections: 4, statuses: { 200: 1, 201: 1, 301: 1, 404: 1 } },
  'nghttp-h2c': { requests: 7, connections: 2, statuses: { 200: 4, 201: 1, 301: 1, 404: 1 } },
  'h2load-h2c': { requests: 200, connections: 2, statuses: { 200: 100, 301: 50, 404: 50 } },
  'node-h2c': { requests: 45, connections: 1, statuses: { 200: 39, 404: 5, none: 1 } },
  'grpc-h2c': { requests: 6, connections: 1, statuses: { 200: 6 } },
  'curl-tls': { requests: 5, connections: 1, statuses: { 200: 2, 201: 1, 301: 1, 404: 1 } },
  // Each of the 2 connections makes 50 requests cycling over the 4 paths: the first two paths once more.
  'h2load-tls': { requests: 100, connections: 2, statuses: { 200: 50, 301: 24, 404: 26 } },
  'node-tls': { requests: 45, connections: 1, statuses: { 200: 39, 404: 5, none: 1 } },
  'grpc-tls': { requests: 6, connections: 1, statuses: { 200: 6 } },
  // A browser decides for itself (a favicon, a preconnect): the page's own requests at least.
  'chromium-tls': { requests: 9 },
};

/** The requests the page makes in any browser: [method, path, status]. */
const PAGE_REQUESTS = [
  ['GET', '/index.html', 200], ['GET', '/style.css', 200], ['GET', '/app.js', 200], ['GET', '/missing.js', 404], ['GET', '/img/1.png', 200],
  ['GET', '/img/2.png', 200], ['GET', '/img/3.png', 200], ['POST', SITE.submit, 201], ['GET', SITE.redirect, 301],
];

function statusCounts(log: AccessLogEntry[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const entry of log) counts[entry.status ?? 'none'] = (counts[entry.status ?? 'none'] ?? 0) + 1;
  return counts;
}

function keysOf(recording: H2Recording): KeyLog | null {
  if (!recording.tls) return null;
  const keys = new KeyLog();
  keys.addText(recording.keyLog);
  return keys;
}

/** The recording's connection a transaction came on. */
function connectionOf(event: HttpEvent): number {
  return event.sport - FIRST_CLIENT_PORT;
}

function describeEntry(entry: AccessLogEntry): string {
  return `connection ${entry.connection} #${entry.ordinal}${entry.streamId !== undefined ? ` stream ${entry.streamId}` : ''} ${entry.method} ${entry.path}`;
}

/** Pairs transactions with access log lines: per connection, in stream id order against the order the server received them. */
function pair(log: AccessLogEntry[], events: HttpEvent[]): { pairs: Array<{ entry: AccessLogEntry; event: HttpEvent }>; problems: string[] } {
  const pairs: Array<{ entry: AccessLogEntry; event: HttpEvent }> = [];
  const problems: string[] = [];
  const connections = new Set([...log.map((e) => e.connection), ...events.map(connectionOf)]);
  for (const connection of [...connections].sort((a, b) => a - b)) {
    const entries = log.filter((e) => e.connection === connection).sort((a, b) => a.ordinal - b.ordinal);
    const seen = events.filter((e) => connectionOf(e) === connection).sort((a, b) => (a.streamId ?? Infinity) - (b.streamId ?? Infinity) || a.ts - b.ts);
    if (seen.length !== entries.length) problems.push(`connection ${connection}: ${seen.length} transactions, the server logged ${entries.length}`);
    entries.forEach((entry, i) => { if (seen[i] !== undefined) pairs.push({ entry, event: seen[i] }); });
  }
  return { pairs, problems };
}

/** What a transaction says wrong about the request the server logged; `midway`: unknown method and path are allowed. */
function differences(entry: AccessLogEntry, event: HttpEvent, tls: boolean, midway = false): string[] {
  const problems: string[] = [];
  const say = (what: string, seen: unknown, logged: unknown) => problems.push(`${describeEntry(entry)}: ${what} ${JSON.stringify(seen)}, the server says ${JSON.stringify(logged)}`);
  const allowUnknown = (value: string | number | null | undefined) => midway && isUnknown(value);
  if (event.method !== entry.method && !allowUnknown(event.method)) say('method', event.method, entry.method);
  if (event.uri !== entry.path && !allowUnknown(event.uri)) say('uri', event.uri, entry.path);
  if (event.status !== entry.status) say('status', event.status, entry.status);
  if (event.version !== '2') say('version', event.version, '2');
  if (entry.streamId !== undefined ? event.streamId !== entry.streamId : event.streamId === undefined || event.streamId % 2 !== 1) say('streamId', event.streamId, entry.streamId ?? 'an odd number');
  if (entry.status !== null && event.latencyMs === null) say('latencyMs', null, 'a number');
  if (tls && event.https !== true) say('https', event.https, true);
  if (!midway && entry.status !== null && !entry.reset && event.respBytes !== entry.responseBytes) say('respBytes', event.respBytes, entry.responseBytes);
  if (!midway && entry.requestBytes !== undefined && event.reqBytes !== entry.requestBytes) say('reqBytes', event.reqBytes, entry.requestBytes);
  const grpc = entry.grpc;
  if (grpc !== undefined) {
    if (event.grpcMethod !== grpc.method && !allowUnknown(event.grpcMethod)) say('grpcMethod', event.grpcMethod, grpc.method);
    if (event.grpcStatus !== grpc.status && !allowUnknown(event.grpcStatus)) say('grpcStatus', event.grpcStatus, grpc.status);
    if ((event.grpcMessage ?? '') !== grpc.message && !allowUnknown(event.grpcMessage)) say('grpcMessage', event.grpcMessage, grpc.message);
    if (event.grpcRequestMessages !== grpc.requestMessages && !allowUnknown(event.grpcRequestMessages)) say('grpcRequestMessages', event.grpcRequestMessages, grpc.requestMessages);
    if (event.grpcResponseMessages !== grpc.responseMessages && !allowUnknown(event.grpcResponseMessages)) say('grpcResponseMessages', event.grpcResponseMessages, grpc.responseMessages);
  } else if (event.grpcMethod !== undefined) {
    say('grpcMethod', event.grpcMethod, undefined);
  }
  return problems;
}

const CUTS: CutKind[] = ['frame boundary', 'mid-frame'];

/**
 * Filters over the fields an HTTP/2 access log has, each with the same predicate on the server's
 * log line: every transaction is in or out as its logged request is.
 */
const FILTERS: Array<[string, (entry: AccessLogEntry, tls: boolean) => boolean]> = [
  ['method = POST', (e) => e.method === 'POST'],
  ['status = 3xx or status = 404', (e) => e.status !== null && ((e.status >= 300 && e.status < 400) || e.status === 404)],
  ['path ~ ^/img/', (e) => e.path.startsWith('/img/')],
  ['status = none', (e) => e.status === null],
  ['protocol = HTTP/2 and not path ~ "\\.(css|js)$"', (e) => e.grpc === undefined && !/\.(css|js)$/.test(e.path)],
  ['protocol = gRPC and grpc_status != OK', (e) => e.grpc !== undefined && e.grpc.status !== 0],
  ['https', (_e, tls) => tls],
  ['resp_bytes >= 1m', (e) => e.status !== null && !e.reset && e.responseBytes >= 1 << 20],
];

for (const scenario of SCENARIOS) {
  const missing = scenario.needs.filter((program) => !installed(program));
  const h2c = scenario.name.endsWith('-h2c');
  (missing.length === 0 ? describe : describe.skip)(`${scenario.name}${missing.length > 0 ? ` (not installed: ${missing.join(', ')})` : ''}`, () => {
    let recording: H2Recording;
    beforeAll(async () => {
      recording = await scenario.record();
    }, 90_000);

    it('the recording: the server logged every request, each on a recorded connection; h2 bytes (or TLS records and their keys)', () => {
      const expected = EXPECTED[scenario.name];
      const log = recording.accessLog;
      if (scenario.name === 'chromium-tls') {
        expect(log.length).toBeGreaterThanOrEqual(expected.requests);
        const logged = log.map((e) => [e.method, e.path, e.status]);
        for (const request of PAGE_REQUESTS) expect(logged).toContainEqual(request);
      } else {
        expect(log).toHaveLength(expected.requests);
        expect(statusCounts(log)).toEqual(expected.statuses);
        expect(recording.connections).toHaveLength(expected.connections!);
      }
      for (const entry of log) {
        expect(entry.connection).toBeGreaterThanOrEqual(0);
        expect(entry.protocol).toBe(recording.tls ? 'h2' : 'h2c');
      }
      for (const connection of recording.connections) {
        const client = sideBytes(connection, 'client');
        const server = sideBytes(connection, 'server');
        if (recording.tls) {
          // A TLS handshake record each way.
          expect([...client.subarray(0, 2)]).toEqual([0x16, 0x03]);
          expect([...server.subarray(0, 2)]).toEqual([0x16, 0x03]);
        } else {
          expect(client.subarray(0, H2_PREFACE.length)).toEqual(H2_PREFACE);
          expect(frameHeads(server)[0]).toMatchObject({ type: FrameType.SETTINGS, streamId: 0 });
        }
      }
      if (recording.tls) {
        // Secrets for every connection that carried requests (TLS 1.2: CLIENT_RANDOM; 1.3: the traffic secrets).
        const randoms = new Set(recording.keyLog.split('\n').filter((l) => /^(CLIENT_RANDOM|CLIENT_TRAFFIC_SECRET_0) /.test(l)).map((l) => l.split(' ')[1]));
        expect(randoms.size).toBeGreaterThanOrEqual(new Set(log.map((e) => e.connection)).size);
      } else {
        // The server's order of requests is the order of the client's HEADERS: every logged request has its stream.
        recording.connections.forEach((connection, index) => {
          const onIt = log.filter((e) => e.connection === index);
          expect(requestHeads(sideBytes(connection, 'client'))).toHaveLength(onIt.length);
          expect(onIt.every((e) => e.streamId !== undefined && e.streamId % 2 === 1)).toBe(true);
        });
      }
      if (scenario.name.startsWith('node-')) {
        const byPath = (p: string) => log.find((e) => e.path === p)!;
        expect(byPath('/slow-head')).toMatchObject({ status: null, reset: true });
        expect(byPath('/slow-body')).toMatchObject({ status: 200, reset: true });
        expect(byPath('/large')).toMatchObject({ status: 200, reset: false, responseBytes: 1 << 20 });
        expect(byPath('/upload')).toMatchObject({ status: 200, requestBytes: 50_000 });
      }
      if (scenario.name.startsWith('grpc-')) {
        expect(log.map((e) => e.grpc).sort((a, b) => a!.method.localeCompare(b!.method) || a!.status - b!.status)).toEqual(
          GRPC_CALLS.map((c) => ({ method: c.path.slice(1), status: c.status, message: c.message, requestMessages: c.requestMessages, responseMessages: c.responseMessages }))
            .sort((a, b) => a.method.localeCompare(b.method) || a.status - b.status),
        );
      }
    });

    it('wiretop, request by request: the access log\'s method, path and status, HTTP/2 with a stream and a latency', () => {
      const { events, stats } = runFrames(h2Frames(recording, { firstClientPort: FIRST_CLIENT_PORT }), undefined, 1024, Infinity, keysOf(recording));
      const { pairs, problems } = pair(recording.accessLog, events);
      for (const { entry, event } of pairs) problems.push(...differences(entry, event, recording.tls));
      expect(problems.slice(0, 40)).toEqual([]);
      expect(events).toHaveLength(recording.accessLog.length);
      expect(stats).toMatchObject({ parseErrors: 0, tlsDecryptErrors: 0 });
    });

    it('filters pick the transactions whose logged requests the same predicate picks', () => {
      const { events } = runFrames(h2Frames(recording, { firstClientPort: FIRST_CLIENT_PORT }), undefined, 1024, Infinity, keysOf(recording));
      const { pairs } = pair(recording.accessLog, events);
      const disagreements: string[] = [];
      for (const [where, predicate] of FILTERS) {
        const { matches } = compileFilter(where);
        // A reset stream's size is what the server had sent when it gave up: not a logged size to compare.
        for (const { entry, event } of pairs) {
          if (where.startsWith('resp_bytes') && entry.reset === true) continue;
          if (matches(event) !== predicate(entry, recording.tls)) disagreements.push(`${where}: ${describeEntry(entry)}`);
        }
      }
      expect(disagreements).toEqual([]);
      expect(pairs.length).toBe(recording.accessLog.length);
    });

    if (h2c) {
      describe.each(CUTS)('joined mid-connection, cut at a %s', (kind) => {
        it('the cut: requests after it and before it; at a boundary each side begins with a whole frame, the client\'s the first request\'s HEADERS', () => {
          const midway = joinMidway(recording, kind);
          expect(midway.after.length).toBeGreaterThan(0);
          // Connections of one request (curl's) lose only their preface and settings.
          if (recording.accessLog.length > recording.connections.length) expect(midway.after.length).toBeLessThan(recording.accessLog.length);
          midway.connections.forEach((connection, index) => {
            const client = sideBytes(connection, 'client');
            const server = sideBytes(connection, 'server');
            const firstAfter = Math.min(...midway.after.filter((e) => e.connection === index).map((e) => e.streamId!));
            expect(client.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)).toBe(false);
            if (kind === 'frame boundary') {
              expect(frameHeads(client, 0)[0]).toMatchObject({ type: FrameType.HEADERS, streamId: firstAfter });
              // Whole frames to the end: the cut is on a frame's first byte.
              const heads = frameHeads(server, 0);
              const last = heads[heads.length - 1];
              expect(last.offset + 9 + last.length).toBe(server.length);
            } else {
              const first = frameHeads(client, 0)[0];
              expect(first?.type === FrameType.HEADERS && first.streamId === firstAfter).toBe(false);
            }
          });
        });

        it('every request after the cut with its status; its method and path right or unknown; nothing wrong anywhere', () => {
          const midway = joinMidway(recording, kind);
          expect(midway.after.length).toBeGreaterThan(0);
          const { events } = runFrames(timedFrames(midway.connections, { serverPort: 80, firstClientPort: FIRST_CLIENT_PORT, handshake: false }));
          const problems: string[] = [];
          for (const entry of midway.after) {
            const on = events.filter((e) => connectionOf(e) === entry.connection && e.streamId === entry.streamId);
            if (on.length !== 1) problems.push(`${describeEntry(entry)}: ${on.length} transactions`);
          }
          for (const event of events) {
            const entry = recording.accessLog.find((e) => e.connection === connectionOf(event) && e.streamId === event.streamId);
            if (entry === undefined) problems.push(`a transaction on connection ${connectionOf(event)} stream ${event.streamId} the server never logged: ${event.method} ${event.uri} ${event.status}`);
            else if (midway.after.includes(entry)) problems.push(...differences(entry, event, false, true));
            // Begun before the cut: only its answer was seen, if that. Nothing it says may be wrong.
            else problems.push(...differences(entry, event, false, true).filter((p) => !/: (status null|latencyMs null)/.test(p)));
          }
          expect(problems.slice(0, 40)).toEqual([]);
        });
      });
    }
  });
}

describe('bin/wiretop -r on recorded HTTP/2', () => {
  const picked = SCENARIOS.filter((s) => ['grpc-h2c', 'curl-tls'].includes(s.name) && s.needs.every(installed));
  it.each(picked.map((s) => [s.name, s] as const))('%s: --ndjson gives the access log\'s requests', async (_name, scenario) => {
    const recording = await scenario.record();
    const dir = tempDir();
    const pcap = writePcap(path.join(dir, `${scenario.name}.pcap`), h2Frames(recording));
    const args = ['-r', pcap, '--ndjson'];
    if (recording.tls) {
      fs.writeFileSync(path.join(dir, 'keys.log'), recording.keyLog, { mode: 0o600 });
      args.push('--keylog', path.join(dir, 'keys.log'));
    }
    const result = await runWiretop(args);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const events = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as HttpEvent & { kind?: string }).filter((e) => e.kind === undefined);
    const rows = (list: Array<[string, string, number | null]>) => list.map((r) => JSON.stringify(r)).sort();
    expect(rows(events.map((e) => [e.method, e.uri, e.status]))).toEqual(rows(recording.accessLog.map((e) => [e.method, e.path, e.status])));
  });
  const grpc = SCENARIOS.filter((s) => s.name === 'grpc-h2c' && s.needs.every(installed));
  it.each(grpc.map((s) => [s.name, s] as const))('%s: the report and the text summary break the calls down by protocol, and name the failed ones', async (_name, scenario) => {
    const recording = await scenario.record();
    const pcap = writePcap(path.join(tempDir(), 'grpc.pcap'), h2Frames(recording));
    const report = await runWiretop(['-r', pcap, '--report', 'json']);
    expect(report.code).toBe(0);
    const parsed = JSON.parse(report.stdout) as { protocols: Array<{ key: string; hits: number }>; statuses: Array<{ key: string; hits: number }>; errorRate: number; capture: Record<string, number> };
    const failed = GRPC_CALLS.filter((call) => call.status !== 0);
    expect(parsed.protocols).toEqual([expect.objectContaining({ key: 'gRPC', hits: GRPC_CALLS.length })]);
    expect(parsed.statuses.map((row) => row.key).sort()).toEqual(['200', '200 grpc NOT_FOUND', '200 grpc UNIMPLEMENTED']);
    expect(parsed.errorRate).toBeCloseTo(failed.length / GRPC_CALLS.length, 3);
    expect(parsed.capture).toMatchObject({ h2Flows: 1, h2HeaderErrors: 0, h2UnknownFields: 0 });
    const text = await runWiretop(['-r', pcap, '--text']);
    expect(text.stdout).toContain(`protocols: gRPC ${GRPC_CALLS.length}`);
  });
});
