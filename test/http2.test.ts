/**
 * HTTP/2 from frames to transactions: h2c with its preface, streams multiplexed and interleaved,
 * CONTINUATION, padding and priority, RST_STREAM and GOAWAY, server push, gRPC, a connection
 * joined mid-way (HPACK entries from before the capture shown as unknown, never guessed), and
 * hostile input. Real clients are checked in h2Clients.test.ts.
 */
import { Conversation, runFrames } from './helpers/conversation';
import {
  H2Side, PREFACE, data, frame, goAway, grpcMessage, requestHeaders, rstStream, settings, FrameType,
} from './helpers/h2Frames';
import { captureLimits } from '../src/capture/limits';
import { CapturePipeline } from '../src/capture/pipeline';
import { UNKNOWN_TEXT, type HttpEvent } from '../src/types';

const SERVER = { addr: '10.0.0.2', port: 8080 };

/** An h2c connection: both sides' HPACK encoders, and the TCP conversation its frames go on. */
function h2c(startTs = 1_700_000_000): { tcp: Conversation; client: H2Side; server: H2Side } {
  const tcp = new Conversation({ addr: '10.0.0.1', port: 40000 }, SERVER, startTs).handshake();
  tcp.send('client', Buffer.concat([PREFACE, settings()]));
  tcp.send('server', Buffer.concat([settings(), settings(true)]));
  tcp.send('client', settings(true));
  return { tcp, client: new H2Side(), server: new H2Side() };
}

describe('HTTP/2 (h2c)', () => {
  it('pairs interleaved streams by id, with method, path, authority, status, bodies and latency', () => {
    const { tcp, client, server } = h2c();
    tcp.send('client', client.headers(1, requestHeaders('GET', '/products?page=2'), { end: true }));
    tcp.send('client', client.headers(3, requestHeaders('POST', '/cart/add', 'shop.example', [['content-type', 'application/json']])));
    tcp.send('client', client.headers(5, requestHeaders('GET', '/missing'), { end: true }));
    tcp.send('client', data(3, '{"sku":42}', true));
    tcp.send('server', server.headers(5, [[':status', '404'], ['server', 'nginx']]));
    tcp.send('server', server.headers(1, [[':status', '200'], ['content-type', 'text/html']]));
    tcp.send('server', data(1, 'x'.repeat(40000), false, 16384));
    tcp.send('server', server.headers(3, [[':status', '201']], { end: true }));
    tcp.send('server', data(5, 'not here', true));
    tcp.send('server', data(1, 'tail', true));
    tcp.close();
    const { events, stats } = runFrames(tcp.frames);
    expect(events.map((e) => [e.streamId, e.method, e.uri, e.status, e.reqBytes, e.respBytes])).toEqual([
      [1, 'GET', '/products?page=2', 200, 0, 40004],
      [3, 'POST', '/cart/add', 201, 10, 0],
      [5, 'GET', '/missing', 404, 0, 8],
    ]);
    for (const e of events) {
      expect(e).toMatchObject({ version: '2', host: 'shop.example', src: '10.0.0.1', dst: '10.0.0.2', dport: 8080, ua: 'h2-test/1.0', section: e.uri.startsWith('/products') ? '/products' : e.section });
      expect(e.latencyMs).not.toBeNull();
      expect(e.latencyMs!).toBeGreaterThan(0);
    }
    expect(events[2].responseHeaders).toBe('Server: nginx');
    expect(stats).toMatchObject({ h2Flows: 1, h2HeaderErrors: 0, h2UnknownFields: 0, unanswered: 0, nonHttpFlows: 0, parseErrors: 0, events: 3 });
  });

  it('reads the same transactions whatever the segmentation, Huffman coding, CONTINUATION, padding or priority', () => {
    const expected = (size: number, huffman: boolean) => {
      const { tcp } = h2c();
      const huffClient = new H2Side({ huffman });
      const huffServer = new H2Side({ huffman });
      const send = (side: 'client' | 'server', bytes: Buffer) => tcp.send(side, bytes, size);
      send('client', huffClient.headers(1, requestHeaders('GET', '/a/long/path/' + 'p'.repeat(300), 'shop.example', [['x-request-id', 'r'.repeat(200)]]), { end: true, fragment: 37, padding: 5, priority: true }));
      send('client', huffClient.headers(3, requestHeaders('DELETE', '/b'), { end: true, padding: 0 }));
      send('server', huffServer.headers(3, [[':status', '204']], { end: true, padding: 3 }));
      send('server', huffServer.headers(1, [[':status', '200']], { fragment: 2 }));
      send('server', data(1, 'y'.repeat(1000), true, 100, 7));
      tcp.close();
      return runFrames(tcp.frames).events.map((e) => [e.streamId, e.method, e.uri.slice(0, 20), e.status, e.respBytes, e.requestHeaders]);
    };
    const reference = expected(1460, false);
    expect(reference).toEqual([
      [1, 'GET', '/a/long/path/ppppppp', 200, 1000, `Accept: */*\nX-Request-Id: ${'r'.repeat(200)}`],
      [3, 'DELETE', '/b', 204, 0, 'Accept: */*'],
    ]);
    for (const size of [1, 7, 9, 100]) for (const huffman of [false, true]) expect(expected(size, huffman)).toEqual(reference);
  });

  it('takes a connection whose server sends SETTINGS before the client preface arrives', () => {
    const tcp = new Conversation({ addr: '10.0.0.1', port: 40000 }, SERVER).handshake();
    const client = new H2Side();
    const server = new H2Side();
    tcp.send('server', settings());
    tcp.send('client', Buffer.concat([PREFACE, settings(), client.headers(1, requestHeaders('GET', '/'), { end: true })]));
    tcp.send('server', Buffer.concat([settings(true), server.headers(1, [[':status', '200']], { end: true })]));
    tcp.close();
    const { events, stats } = runFrames(tcp.frames);
    expect(events.map((e) => [e.method, e.uri, e.status, e.src])).toEqual([['GET', '/', 200, '10.0.0.1']]);
    expect(stats.nonHttpFlows).toBe(0);
  });

  it('ends a reset stream as it stands; the streams a GOAWAY says were never taken are counted, not transactions', () => {
    const { tcp, client, server } = h2c();
    tcp.send('client', client.headers(1, requestHeaders('GET', '/slow'), { end: true }));
    tcp.send('client', client.headers(3, requestHeaders('GET', '/answered-then-reset'), { end: true }));
    tcp.send('client', client.headers(5, requestHeaders('GET', '/never'), { end: true }));
    tcp.send('client', rstStream(1));
    tcp.send('server', server.headers(3, [[':status', '200']]));
    tcp.send('server', data(3, 'part', false));
    tcp.send('server', rstStream(3, 2));
    tcp.send('server', goAway(3));
    const { events, stats } = runFrames(tcp.frames);
    expect(events.map((e) => [e.uri, e.status, e.respBytes, e.latencyMs === null])).toEqual([
      ['/slow', null, 0, true],
      ['/answered-then-reset', 200, 4, false],
    ]);
    expect(stats).toMatchObject({ unanswered: 1, h2Refused: 1 });
  });

  it('emits what waits when the connection ends, unanswered', () => {
    const { tcp, client } = h2c();
    tcp.send('client', client.headers(1, requestHeaders('GET', '/a'), { end: true }));
    tcp.close();
    const { events, stats } = runFrames(tcp.frames);
    expect(events.map((e) => [e.uri, e.status])).toEqual([['/a', null]]);
    expect(stats.unanswered).toBe(1);
  });

  it('reads a server push as a transaction on the promised stream', () => {
    const { tcp, client, server } = h2c();
    tcp.send('client', client.headers(1, requestHeaders('GET', '/index.html'), { end: true }));
    tcp.send('server', server.pushPromise(1, 2, requestHeaders('GET', '/style.css')));
    tcp.send('server', server.headers(1, [[':status', '200']]));
    tcp.send('server', server.headers(2, [[':status', '200']]));
    tcp.send('server', data(2, 'body{}', true));
    tcp.send('server', data(1, '<html>', true));
    tcp.close();
    const { events } = runFrames(tcp.frames);
    expect(events.map((e) => [e.streamId, e.uri, e.status, e.respBytes, e.src])).toEqual([
      [1, '/index.html', 200, 6, '10.0.0.1'],
      [2, '/style.css', 200, 6, '10.0.0.1'],
    ]);
  });

  it('reads gRPC: the method, messages each way, and the status and message from the trailers', () => {
    const { tcp, client, server } = h2c();
    const grpcRequest = (id: number, method: string) => client.headers(id, [
      [':method', 'POST'], [':scheme', 'http'], [':path', `/shop.Cart/${method}`], [':authority', 'cart:50051'],
      ['content-type', 'application/grpc'], ['te', 'trailers'], ['user-agent', 'grpc-node-js/1.9'],
    ]);
    tcp.send('client', grpcRequest(1, 'Add'));
    tcp.send('client', data(1, Buffer.concat([grpcMessage('a'.repeat(30)), grpcMessage(''), grpcMessage('b'.repeat(70000))]), true, 1000));
    tcp.send('server', server.headers(1, [[':status', '200'], ['content-type', 'application/grpc']]));
    tcp.send('server', data(1, grpcMessage('ok'), false));
    tcp.send('server', server.headers(1, [['grpc-status', '0']], { end: true }));
    tcp.send('client', grpcRequest(3, 'Find'));
    tcp.send('client', data(3, grpcMessage('sku'), true));
    // A trailers-only answer: the status with the head.
    tcp.send('server', server.headers(3, [[':status', '200'], ['content-type', 'application/grpc'], ['grpc-status', '5'], ['grpc-message', 'no such sku: caf%C3%A9 %1B[31m']], { end: true }));
    tcp.close();
    const { events } = runFrames(tcp.frames);
    expect(events.map((e) => [e.grpcMethod, e.grpcStatus, e.grpcMessage, e.grpcRequestMessages, e.grpcResponseMessages, e.host, e.status])).toEqual([
      ['shop.Cart/Add', 0, '', 3, 1, 'cart', 200],
      ['shop.Cart/Find', 5, 'no such sku: café \\x1b[31m', 1, 0, 'cart', 200],
    ]);
  });
});

describe('HTTP/2 after an HTTP/1 upgrade (h2c)', () => {
  it('answers the upgrade request on stream 1 and reads the streams that follow', () => {
    const tcp = new Conversation({ addr: '10.0.0.1', port: 40000 }, SERVER).handshake();
    const client = new H2Side();
    const server = new H2Side();
    tcp.send('client', 'GET /upgrade-me HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/7.88\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n');
    // The client's preface may leave before the 101 is seen.
    tcp.send('client', Buffer.concat([PREFACE, settings()]));
    tcp.send('server', 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
    tcp.send('server', Buffer.concat([settings(), settings(true), server.headers(1, [[':status', '200']]), data(1, 'hello', true)]));
    tcp.send('client', client.headers(3, requestHeaders('GET', '/next'), { end: true }));
    tcp.send('server', server.headers(3, [[':status', '404']], { end: true }));
    tcp.close();
    const { events, stats } = runFrames(tcp.frames);
    expect(events.map((e) => [e.method, e.uri, e.status, e.respBytes, e.streamId, e.version, e.host, e.src])).toEqual([
      ['GET', '/upgrade-me', 200, 5, 1, '1.1', 'shop.example', '10.0.0.1'],
      ['GET', '/next', 404, 0, 3, '2', 'shop.example', '10.0.0.1'],
    ]);
    expect(stats).toMatchObject({ h2Flows: 1, parseErrors: 0, nonHttpFlows: 0, orphanResponses: 0, unanswered: 0, events: 2 });
  });
});

describe('HTTP/2 joined mid-way', () => {
  /** A connection with several requests, whose frames are cut: only those after `cut` bytes of each side are captured. */
  function busyConnection(): { tcp: Conversation; marks: number[] } {
    const { tcp, client, server } = h2c();
    const marks: number[] = [];
    for (let i = 0; i < 6; i++) {
      marks.push(tcp.frames.length);
      const id = 1 + 2 * i;
      // Repeated fields go into the dynamic tables: later requests refer to them by index.
      tcp.send('client', client.headers(id, requestHeaders(i % 2 === 0 ? 'GET' : 'PUT', `/items/${i % 3}`, 'shop.example', [['x-tenant', 'acme']]), { end: true }));
      tcp.send('server', server.headers(id, [[':status', i === 4 ? '404' : '200'], ['content-type', 'application/json'], ['x-cache', 'HIT']]));
      tcp.send('server', data(id, '{}', true));
    }
    tcp.close();
    return { tcp, marks };
  }

  it('shows every request after the start with its status, and what the old table held as unknown, never a wrong value', () => {
    const { tcp, marks } = busyConnection();
    const complete = runFrames(tcp.frames).events;
    expect(complete).toHaveLength(6);
    for (const from of marks.slice(1)) {
      // No handshake, no preface: the capture starts at a request's frame.
      const { events, stats } = runFrames(tcp.frames.slice(from));
      const later = complete.filter((e) => e.ts >= tcp.frames[from].ts);
      expect(events.map((e) => e.status)).toEqual(later.map((e) => e.status));
      expect(events.map((e) => e.streamId)).toEqual(later.map((e) => e.streamId));
      events.forEach((e, i) => {
        for (const field of ['method', 'uri', 'host', 'ua'] as const) {
          if (e[field] !== UNKNOWN_TEXT) expect(e[field]).toBe(later[i][field]);
        }
      });
      // The table is learned again from what is sent after the start: unknown fields are few and counted.
      expect(stats.h2UnknownFields).toBeGreaterThan(0);
      expect(stats.h2Flows).toBe(1);
      expect(events.some((e) => e.method === UNKNOWN_TEXT || e.uri === UNKNOWN_TEXT || e.ua === UNKNOWN_TEXT)).toBe(true);
    }
  });

  it('counts a response whose request came before the capture as an orphan, not a transaction', () => {
    const { tcp, client, server } = h2c();
    tcp.send('client', client.headers(1, requestHeaders('GET', '/before'), { end: true }));
    const cut = tcp.frames.length;
    tcp.send('server', server.headers(1, [[':status', '200']]));
    tcp.send('server', data(1, 'x'.repeat(100), true));
    tcp.send('client', client.headers(3, requestHeaders('GET', '/after'), { end: true }));
    tcp.send('server', server.headers(3, [[':status', '304']], { end: true }));
    const { events, stats } = runFrames(tcp.frames.slice(cut));
    expect(events.map((e) => e.status)).toEqual([304]);
    expect(stats.orphanResponses).toBe(1);
  });
});

describe('HTTP/2 on hostile input', () => {
  /** A seeded generator, so a failure can be replayed. */
  function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
  }

  it('never throws on random and mutated frames, keeps strings bounded, and gives every buffer back', () => {
    const limits = captureLimits(64, 32);
    const pipeline = new CapturePipeline(limits, 5);
    const next = random(7);
    const events: HttpEvent[] = [];
    let ts = 1_700_000_000;
    for (let run = 0; run < 300; run++) {
      const { tcp, client, server } = h2c(ts);
      tcp.send('client', client.headers(1, requestHeaders('GET', '/' + 'u'.repeat(Math.floor(next() * 200)), 'h'.repeat(Math.floor(next() * 300))), { end: true }));
      tcp.send('server', server.headers(1, [[':status', '200']]));
      const noise = Buffer.alloc(Math.floor(next() * 3000));
      for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(next() * 256);
      // Frames with random headers and payloads, and real frames with bytes flipped.
      const mutated = Buffer.concat([client.headers(3, requestHeaders('POST', '/x'), { fragment: 5 }), data(3, 'abc', true)]);
      for (let i = 0; i < 4; i++) mutated[Math.floor(next() * mutated.length)] = Math.floor(next() * 256);
      tcp.send(next() < 0.5 ? 'client' : 'server', noise, 1 + Math.floor(next() * 1500));
      tcp.send('client', mutated, 1 + Math.floor(next() * 50));
      tcp.send('server', frame(FrameType.Headers, 0, 3, Buffer.alloc(70000, 0x41)));
      tcp.close();
      for (const f of tcp.frames) {
        pipeline.onFrame(f.frame, 0, f.frame.length, f.frame.length, f.ts, 1);
        pipeline.tick(pipeline.now);
        events.push(...pipeline.release());
      }
      ts = tcp.clock + 1;
    }
    events.push(...pipeline.finish());
    expect(events.length).toBeGreaterThan(300);
    for (const e of events) {
      expect(e.host.length).toBeLessThanOrEqual(64);
      expect(e.ua.length).toBeLessThanOrEqual(64);
      expect(e.uri.length).toBeLessThanOrEqual(8192);
    }
    expect(limits.headBuffers.used).toBe(0);
    expect(limits.pendingRequests.used).toBe(0);
  });
});
