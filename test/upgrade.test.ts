/**
 * HTTP/1 connections that switch protocols: after a `101` to an Upgrade, and after a CONNECT's
 * 2xx, the bytes that follow go to a stream nested in the connection through the dispatcher
 * (named: h2c to the protocol that reads it, WebSocket to none; a tunnel probed like a new
 * connection), the client's bytes sent before the answer held until it decides; a refusal
 * hands them back to HTTP/1; everything held is bounded and given back.
 */
import { LinkType } from '../src/capture/decode';
import { captureLimits } from '../src/capture/limits';
import { CapturePipeline, requestNaming } from '../src/capture/pipeline';
import { handshakeRecords, record } from '../src/capture/sources/demo/tlsBuilders';
import type { TimedFrame } from '../src/capture/sources/demo/traffic';
import { Http1Protocol } from '../src/http/h1/http1Protocol';
import { ByteBudget } from '../src/protocol/byteBudget';
import { FlowDispatcher, MAX_NESTING_DEPTH } from '../src/protocol/dispatcher';
import type { FlowContext } from '../src/protocol/flowContext';
import { Probe, type Protocol, type ProtocolSession } from '../src/protocol/protocol';
import { TextCache } from '../src/protocol/sanitize';
import { emptyCaptureStats, type HttpEvent } from '../src/types';
import { Conversation, interleave, request, response, runFrames } from './helpers/conversation';
import { clientHello, serverHello13 } from './helpers/tlsHello';

const WS_REQUEST = request('GET', '/chat', 'example.com', 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n');
const WS_ACCEPT = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
const H2C_REQUEST = request('GET', '/up', 'example.com', 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n');
const H2C_ACCEPT = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n';
const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
/** An empty SETTINGS frame, and a SETTINGS ack. */
const SETTINGS = '\x00\x00\x00\x04\x00\x00\x00\x00\x00';
const SETTINGS_ACK = '\x00\x00\x00\x04\x01\x00\x00\x00\x00';

/** A masked WebSocket text frame from the client ("hello"), and the server's unmasked one. */
const WS_CLIENT_FRAME = Buffer.from([0x81, 0x85, 1, 2, 3, 4, ...Buffer.from('hello').map((c, i) => c ^ [1, 2, 3, 4][i % 4])]);
const WS_SERVER_FRAME = Buffer.from([0x82, 0x7e, 0x01, 0x00, ...Buffer.alloc(256, 0x47)]);

/** Frames run through a pipeline whose limits the test keeps, to see the head-buffer budget. */
function runWithLimits(frames: TimedFrame[], headBuffers = new ByteBudget(captureLimits(1024).headBuffers.limit)) {
  const pipeline = new CapturePipeline({ ...captureLimits(1024), headBuffers }, 2);
  const events: HttpEvent[] = [];
  let most = 0;
  for (const { ts, frame } of frames) {
    pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
    most = Math.max(most, headBuffers.used);
    events.push(...pipeline.release());
  }
  events.push(...pipeline.finish());
  return { events, stats: pipeline.stats, most, budget: headBuffers };
}

/** What the fake nested protocol was given. */
interface Received {
  a: string[];
  b: string[];
  adopted: HttpEvent[];
  finished: string[];
  closed: boolean;
}

/**
 * A stand-in for HTTP/2 (`h2`, `h2c`): its sessions record their bytes and, when `adopt`, take
 * the upgrade request and emit it at the close with the status its stream 1 would have had.
 */
function fakeH2(adopt: boolean): Protocol & { sessions: Received[] } {
  const sessions: Received[] = [];
  return {
    name: 'http/2', alpn: ['h2', 'h2c'], sessions,
    probe: () => Probe.No,
    open(context: FlowContext): ProtocolSession {
      const got: Received = { a: [], b: [], adopted: [], finished: [], closed: false };
      sessions.push(got);
      const side = (list: string[]) => ({
        push: (buf: Buffer, start: number, end: number) => { list.push(buf.toString('latin1', start, end)); },
        gap: (_ts: number, missing: number) => { list.push(`<gap ${missing}>`); },
      });
      const session: ProtocolSession = {
        a: side(got.a), b: side(got.b), oldestPendingTs: Infinity,
        finish: (fromA) => { got.finished.push(fromA ? 'a' : 'b'); },
        close: () => {
          got.closed = true;
          for (const event of got.adopted) {
            context.stats.events++;
            context.emit({ ...event, status: 200, respBytes: 2 });
          }
        },
      };
      if (adopt) session.adoptUpgradedRequest = (event) => { got.adopted.push(event); return true; };
      return session;
    },
    recycle: () => undefined,
  };
}

/** A connection's dispatcher with the real HTTP/1 and, for nested streams, `nested` too. */
function dispatcherWith(nested: Protocol) {
  const limits = captureLimits(1024);
  const http1 = new Http1Protocol(limits, requestNaming([], [], 1024), new TextCache());
  const stats = emptyCaptureStats();
  const events: HttpEvent[] = [];
  const dispatcher = new FlowDispatcher({ addrA: '10.0.0.1', portA: 40000, addrB: '10.0.0.2', portB: 80 }, stats,
    { outer: [http1], nested: [http1, nested] }, (e) => events.push(e), () => undefined);
  const send = (fromA: boolean, text: string, ts: number) => {
    const bytes = Buffer.from(text, 'latin1');
    (fromA ? dispatcher.a : dispatcher.b).push(bytes, 0, bytes.length, ts);
  };
  return { dispatcher, stats, events, send, limits };
}

describe('an Upgrade to WebSocket (a protocol wiretop does not read)', () => {
  it('is one transaction with status 101; the frames after it, both ways, are skipped quietly and counted as upgraded', () => {
    const conv = new Conversation().handshake();
    conv.send('client', WS_REQUEST);
    // The client's first frame leaves before the 101 reaches the capture: held, then dropped with the rest.
    conv.send('client', WS_CLIENT_FRAME);
    conv.send('server', Buffer.concat([Buffer.from(WS_ACCEPT, 'latin1'), WS_SERVER_FRAME]));
    for (let i = 0; i < 5; i++) {
      conv.send('client', WS_CLIENT_FRAME);
      conv.send('server', WS_SERVER_FRAME);
    }
    // Frames that look like HTTP are not HTTP either, once switched.
    conv.send('client', 'GET /fake HTTP/1.1\r\n\r\n');
    conv.close();
    const { events, stats, budget } = runWithLimits(conv.frames);
    expect(events.map((e) => [e.method, e.uri, e.status, e.https])).toEqual([['GET', '/chat', 101, undefined]]);
    expect(stats).toMatchObject({ parseErrors: 0, nonHttpFlows: 0, upgradedFlows: 1, headBufferDrops: 0, orphanResponses: 0, events: 1 });
    expect(budget.used).toBe(0);
  });

  it('refused (200 instead of 101): what the client sent after the request is HTTP/1 again, and the connection goes on', () => {
    const conv = new Conversation().handshake();
    // A second request pipelined right behind the upgrade request, before any answer.
    conv.send('client', WS_REQUEST + request('POST', '/next', 'example.com', 'Content-Length: 3\r\n') + 'abc');
    conv.send('server', response(200, 'no websocket here') + response(201, 'ok'));
    conv.send('client', request('GET', '/third'));
    conv.send('server', response(404));
    conv.close();
    const { events, stats, budget } = runWithLimits(conv.frames);
    expect(events.map((e) => [e.method, e.uri, e.status, e.reqBytes, e.respBytes])).toEqual([
      ['GET', '/chat', 200, 0, 17],
      ['POST', '/next', 201, 3, 2],
      ['GET', '/third', 404, 0, 0],
    ]);
    expect(stats).toMatchObject({ parseErrors: 0, nonHttpFlows: 0, upgradedFlows: 0, unanswered: 0 });
    expect(budget.used).toBe(0);
  });

  it('keeps holding through a 1xx answer: only the final answer decides', () => {
    const conv = new Conversation().handshake();
    conv.send('client', WS_REQUEST);
    conv.send('client', WS_CLIENT_FRAME);
    conv.send('server', 'HTTP/1.1 100 Continue\r\n\r\n');
    conv.send('server', WS_ACCEPT);
    conv.send('server', WS_SERVER_FRAME);
    conv.close();
    const { events, stats } = runFrames(conv.frames);
    expect(events.map((e) => [e.uri, e.status])).toEqual([['/chat', 101]]);
    expect(stats).toMatchObject({ parseErrors: 0, nonHttpFlows: 0, upgradedFlows: 1 });
  });
});

describe('an Upgrade to h2c', () => {
  it('gives both directions\' bytes after the switch, in order, to the protocol named h2c, with the client preface sent before the 101; it adopts the request', () => {
    const h2 = fakeH2(true);
    const { dispatcher, stats, events, send, limits } = dispatcherWith(h2);
    // The request, and the preface right behind it in the same segment; then a SETTINGS frame, all before the 101.
    send(true, H2C_REQUEST + PREFACE, 1);
    send(true, SETTINGS, 2);
    expect(h2.sessions).toHaveLength(0);
    send(false, H2C_ACCEPT + SETTINGS, 3);
    send(true, SETTINGS_ACK, 4);
    send(false, SETTINGS_ACK, 5);
    dispatcher.finish(true, 6);
    dispatcher.close(7);
    expect(h2.sessions).toHaveLength(1);
    const [session] = h2.sessions;
    expect(session.a.join('')).toBe(PREFACE + SETTINGS + SETTINGS_ACK);
    expect(session.b.join('')).toBe(SETTINGS + SETTINGS_ACK);
    expect(session).toMatchObject({ finished: ['a'], closed: true });
    expect(session.adopted).toEqual([expect.objectContaining({ method: 'GET', uri: '/up', host: 'example.com', status: 101, src: '10.0.0.1', dport: 80 })]);
    // Adopted: HTTP/1 does not emit it; the nested session does, with its real status, not as https.
    expect(events.map((e) => [e.uri, e.status, e.https])).toEqual([['/up', 200, undefined]]);
    expect(stats).toMatchObject({ parseErrors: 0, nonHttpFlows: 0, upgradedFlows: 0, events: 1 });
    expect(dispatcher.transactions).toBe(1);
    expect(limits.headBuffers.used).toBe(0);
  });

  it('a hole across the end of the upgrade request\'s body: the rest of the hole is told to the new protocol as a gap', () => {
    const h2 = fakeH2(true);
    const { dispatcher, send } = dispatcherWith(h2);
    send(true, request('POST', '/up', 'example.com', 'Connection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 10\r\n') + 'body', 1);
    // 6 bytes of body lost, and 5 of what followed it.
    dispatcher.a.gap(2, 11);
    send(true, 'rest', 3);
    send(false, H2C_ACCEPT, 4);
    dispatcher.close(5);
    expect(h2.sessions[0].a).toEqual(['<gap 5>', 'rest']);
    expect(h2.sessions[0].adopted).toEqual([expect.objectContaining({ uri: '/up', reqBytes: 10 })]);
  });

  it('when the session does not adopt the request, HTTP/1 emits it with its 101', () => {
    const h2 = fakeH2(false);
    const { dispatcher, events, send } = dispatcherWith(h2);
    send(true, H2C_REQUEST, 1);
    send(false, H2C_ACCEPT + SETTINGS, 2);
    send(true, PREFACE, 3);
    dispatcher.close(4);
    expect(h2.sessions[0]).toMatchObject({ a: [PREFACE], b: [SETTINGS], adopted: [] });
    expect(events.map((e) => [e.uri, e.status])).toEqual([['/up', 101]]);
  });

  it('in the capture, the preface held before the 101 goes to HTTP/2, which adopts the request (unanswered here: stream 1 never answered)', () => {
    const conv = new Conversation().handshake();
    conv.send('client', H2C_REQUEST + PREFACE);
    conv.send('server', H2C_ACCEPT + SETTINGS);
    conv.close();
    const { events, stats } = runFrames(conv.frames);
    expect(events.map((e) => [e.method, e.uri, e.status, e.streamId])).toEqual([['GET', '/up', null, 1]]);
    expect(stats).toMatchObject({ parseErrors: 0, nonHttpFlows: 0, upgradedFlows: 0, h2Flows: 1 });
  });
});

describe('CONNECT', () => {
  const tlsHello = handshakeRecords(clientHello('db.example.com', ['h2', 'http/1.1'], [0x0304, 0x0303]), 16_384);
  const tlsAnswer = Buffer.concat([handshakeRecords(serverHello13(), 16_384), record(23, Buffer.alloc(300, 1))]);

  it('then a TLS handshake: the tunnel is dispatched as a connection of its own, and reported as a TLS connection with its SNI', () => {
    const conv = new Conversation(undefined, { addr: '10.0.0.2', port: 3128 }).handshake();
    conv.send('client', 'CONNECT db.example.com:443 HTTP/1.1\r\nHost: db.example.com:443\r\n\r\n');
    // The ClientHello before the proxy's answer is seen: held until the 200, then the tunnel's first bytes.
    conv.send('client', tlsHello, 100);
    conv.send('server', 'HTTP/1.1 200 Connection established\r\n\r\n');
    conv.send('server', tlsAnswer);
    conv.send('client', record(23, Buffer.alloc(200, 2)));
    conv.close();
    const { events, stats, tls } = runFrames(conv.frames);
    expect(events.map((e) => [e.method, e.uri, e.host, e.status, e.https])).toEqual([['CONNECT', 'db.example.com:443', 'db.example.com', 200, undefined]]);
    expect(tls).toEqual([expect.objectContaining({
      serverName: 'db.example.com', src: '10.0.0.1', dst: '10.0.0.2', dport: 3128, version: 'TLS 1.3', alpnOffered: ['h2', 'http/1.1'],
    })]);
    expect(stats).toMatchObject({ tlsFlows: 1, tlsHelloErrors: 0, nonHttpFlows: 0, parseErrors: 0, upgradedFlows: 0 });
  });

  it('answered 407: no tunnel; the client\'s next request, with credentials, is HTTP/1 and opens the tunnel', () => {
    const conv = new Conversation(undefined, { addr: '10.0.0.2', port: 3128 }).handshake();
    const connect = (extra: string) => `CONNECT db.example.com:443 HTTP/1.1\r\nHost: db.example.com:443\r\n${extra}\r\n`;
    conv.send('client', connect(''));
    conv.send('server', 'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 4\r\n\r\ndeny');
    conv.send('client', connect('Proxy-Authorization: Basic dTpw\r\n'));
    conv.send('server', 'HTTP/1.1 200 OK\r\n\r\n');
    conv.send('client', tlsHello);
    conv.send('server', tlsAnswer);
    conv.close();
    const { events, stats, tls } = runFrames(conv.frames);
    expect(events.map((e) => [e.method, e.status, e.respBytes])).toEqual([['CONNECT', 407, 4], ['CONNECT', 200, 0]]);
    expect(tls.map((c) => c.serverName)).toEqual(['db.example.com']);
    expect(stats).toMatchObject({ parseErrors: 0, nonHttpFlows: 0, tlsFlows: 1 });
  });

  it('carrying plain HTTP: the requests in the tunnel are read as any connection\'s', () => {
    const conv = new Conversation(undefined, { addr: '10.0.0.2', port: 3128 }).handshake();
    conv.send('client', 'CONNECT api.example.com:80 HTTP/1.1\r\nHost: api.example.com:80\r\n\r\n');
    conv.send('server', 'HTTP/1.1 200 Connection established\r\n\r\n');
    conv.send('client', request('GET', '/inside', 'api.example.com'));
    conv.send('server', response(200, 'hi'));
    conv.close();
    const { events } = runFrames(conv.frames);
    expect(events.map((e) => [e.method, e.uri, e.status])).toEqual([['CONNECT', 'api.example.com:80', 200], ['GET', '/inside', 200]]);
  });
});

describe('hostile switches', () => {
  it('a flood of bytes after an Upgrade request that is never answered: held within the bound, the excess counted, the budget back to 0 after the close', () => {
    const conv = new Conversation().handshake();
    conv.send('client', WS_REQUEST);
    conv.send('client', Buffer.alloc(1024 * 1024, 0x41));
    conv.close();
    const { events, stats, most, budget } = runWithLimits(conv.frames);
    expect(most).toBeGreaterThan(32 * 1024);
    expect(most).toBeLessThanOrEqual(captureLimits(1024).maxHeadBytes);
    expect(stats.headBufferDrops).toBe(1);
    expect(events.map((e) => [e.uri, e.status])).toEqual([['/chat', null]]);
    expect(stats).toMatchObject({ parseErrors: 0, nonHttpFlows: 0, unanswered: 1, upgradedFlows: 0 });
    expect(budget.used).toBe(0);
  });

  it('many connections holding at once stay within the shared head-buffer budget', () => {
    const budget = new ByteBudget(256 * 1024);
    const conversations = Array.from({ length: 40 }, (_, i) => {
      const conv = new Conversation({ addr: `10.0.2.${i + 1}`, port: 40000 + i }).handshake();
      conv.send('client', WS_REQUEST);
      conv.send('client', Buffer.alloc(20_000, 0x42));
      return conv;
    });
    // The answers come after every flood: the connections that held within the budget switch cleanly.
    for (const conv of conversations) conv.send('server', WS_ACCEPT).length;
    for (const conv of conversations) conv.close();
    const { events, stats, most } = runWithLimits(interleave(...conversations), budget);
    expect(most).toBeLessThanOrEqual(256 * 1024);
    expect(stats.headBufferDrops).toBeGreaterThan(0);
    expect(events).toHaveLength(40);
    expect(events.every((e) => e.status === 101)).toBe(true);
    expect(stats).toMatchObject({ parseErrors: 0, nonHttpFlows: 0, upgradedFlows: 40 });
    expect(budget.used).toBe(0);
  });

  it('CONNECT inside CONNECT inside CONNECT...: nested at most MAX_NESTING_DEPTH deep, the rest given up, counted, never a crash', () => {
    const conv = new Conversation().handshake();
    for (let i = 0; i < 50; i++) {
      conv.send('client', `CONNECT h${i}.example:443 HTTP/1.1\r\nHost: h${i}.example:443\r\n\r\n`);
      conv.send('server', 'HTTP/1.1 200 OK\r\n\r\n');
    }
    conv.close();
    const { events, stats } = runFrames(conv.frames);
    expect(events.map((e) => e.host)).toEqual(Array.from({ length: MAX_NESTING_DEPTH + 1 }, (_, i) => `h${i}.example`));
    expect(stats).toMatchObject({ nonHttpFlows: 1, parseErrors: 0 });
  });
});
