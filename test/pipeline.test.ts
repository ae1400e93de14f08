/** The capture pipeline end to end (frames → HttpEvents) on scripted conversations. */
import { DecodedSegment, LinkType, formatIpv4 } from '../src/capture/decode';
import { connectionHash } from '../src/capture/flowTable';
import type { HttpEvent } from '../src/types';
import { httpEvent } from './helpers/events';
import { sortByTs } from '../src/capture/pipeline';
import { captureLimits } from '../src/capture/limits';
import { Conversation, interleave, request, response, runFrames } from './helpers/conversation';

function simpleExchange(conv = new Conversation()): Conversation {
  conv.handshake();
  conv.send('client', request('GET', '/pages/create?x=1'));
  conv.send('server', response(200, 'hello'));
  conv.close();
  return conv;
}

describe('a plain exchange', () => {
  it('becomes one transaction with every field', () => {
    const { events, stats } = runFrames(simpleExchange().frames);
    expect(events).toHaveLength(1);
    const e = events[0];
    expect(e).toMatchObject({
      src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80, method: 'GET', host: 'example.com',
      uri: '/pages/create?x=1', section: '/pages', status: 200, reqBytes: 0, respBytes: 5, ua: 'test-agent', version: '1.1',
    });
    expect(e.latencyMs).toBeCloseTo(1, 3);
    expect(e.ts).toBeCloseTo(1_700_000_000.004, 6);
    expect(stats).toMatchObject({ flowsTotal: 1, flowsActive: 0, events: 1, gaps: 0, parseErrors: 0, decodeErrors: 0 });
  });

  it('skips and counts frames whose timestamp is no time (NaN, negative, 2^60 s), and keeps the rest', () => {
    const frames = simpleExchange().frames;
    const broken = [Number.NaN, -1, 2 ** 60].map((ts) => ({ ts, frame: frames[3].frame }));
    const { events, stats } = runFrames([...frames.slice(0, 3), ...broken, ...frames.slice(3)]);
    expect(events).toHaveLength(1);
    expect(events[0].ts).toBeLessThan(2e9);
    expect(stats.badTimestamps).toBe(3);
  });

  it('takes the side that sends requests as the client, whichever side connected first', () => {
    // 10.0.0.2:80 opens the connection, but 10.0.0.1:40000 sends the request.
    const conv = new Conversation({ addr: '10.0.0.2', port: 80 }, { addr: '10.0.0.1', port: 40000 });
    conv.handshake();
    conv.send('server', request('GET', '/reverse'));
    conv.send('client', response(204));
    const { events } = runFrames(conv.frames);
    expect(events).toEqual([expect.objectContaining({ src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80, uri: '/reverse', status: 204 })]);
  });
});

describe('segmentation and reordering', () => {
  it('reassembles a request and response sent one byte per segment', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('POST', '/api/items', 'example.com', 'Content-Length: 3\r\n') + 'abc', 1);
    conv.send('server', response(201, 'created'), 1);
    conv.close();
    const { events, stats } = runFrames(conv.frames);
    expect(events).toEqual([expect.objectContaining({ method: 'POST', uri: '/api/items', status: 201, reqBytes: 3, respBytes: 7 })]);
    expect(stats.duplicateBytes).toBe(0);
  });

  it('puts out-of-order segments back in order', () => {
    const conv = new Conversation().handshake();
    const sent = conv.send('client', request('GET', '/ordered/path/long-enough'), 10);
    conv.send('server', response(200, 'ok'));
    conv.close();
    // Deliver the request's segments in reverse.
    const frames = conv.frames;
    const first = frames.indexOf(sent[0]);
    frames.splice(first, sent.length, ...[...sent].reverse());
    const { events, stats } = runFrames(frames);
    expect(events).toEqual([expect.objectContaining({ uri: '/ordered/path/long-enough', status: 200 })]);
    expect(stats.gaps).toBe(0);
  });

  it('does not count retransmitted or overlapping bytes twice', () => {
    const conv = new Conversation().handshake();
    const body = 'x'.repeat(100);
    conv.send('client', request('GET', '/a'));
    const responseFrames = conv.send('server', response(200, body), 40);
    // The second segment is sent again after the last one.
    conv.frames.push({ ts: conv.clock + 0.001, frame: responseFrames[1].frame });
    conv.clock += 0.001;
    conv.close();
    const { events, stats } = runFrames(conv.frames);
    expect(events).toEqual([expect.objectContaining({ status: 200, respBytes: 100 })]);
    expect(stats.duplicateBytes).toBe(40);
  });

  it('trims a segment that overlaps data already delivered', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/overlap'));
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n';
    const full = Buffer.from(head + '0123456789', 'latin1');
    const seq0 = 5001;
    conv.segment('server', seq0, 0x18, full.subarray(0, head.length + 4));
    // Overlaps the last 4 body bytes already seen and carries the remaining 6.
    conv.segment('server', seq0 + head.length, 0x18, full.subarray(head.length));
    const { events, stats } = runFrames(conv.frames);
    expect(events).toEqual([expect.objectContaining({ uri: '/overlap', status: 200, respBytes: 10 })]);
    expect(stats.duplicateBytes).toBe(4);
  });
});

describe('HTTP framing', () => {
  it('pairs pipelined requests with their responses in order', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/one') + request('GET', '/two') + request('HEAD', '/three'));
    conv.send('server', response(200, 'first') + response(404, 'nope') + 'HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n');
    conv.close();
    const { events } = runFrames(conv.frames);
    expect(events.map((e) => [e.uri, e.status, e.respBytes])).toEqual([['/one', 200, 5], ['/two', 404, 4], ['/three', 200, 0]]);
  });

  it('reads chunked bodies with extensions and trailers', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/chunked') + request('GET', '/after'));
    conv.send('server', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n' + response(200, 'next'), 7);
    conv.close();
    const { events } = runFrames(conv.frames);
    expect(events.map((e) => [e.uri, e.status, e.respBytes])).toEqual([['/chunked', 200, 15], ['/after', 200, 4]]);
  });

  it('gives HEAD, 204 and 304 responses no body', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('HEAD', '/h') + request('GET', '/n') + request('GET', '/m'));
    conv.send('server', 'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n');
    conv.close();
    const { events } = runFrames(conv.frames);
    expect(events.map((e) => [e.method, e.status, e.respBytes])).toEqual([['HEAD', 200, 0], ['GET', 204, 0], ['GET', 304, 0]]);
  });

  it('skips 1xx responses and reports the final status (100-continue)', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('PUT', '/upload', 'example.com', 'Expect: 100-continue\r\nContent-Length: 4\r\n'));
    conv.send('server', 'HTTP/1.1 100 Continue\r\n\r\n');
    conv.send('client', 'data');
    conv.send('server', 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n' + response(201, 'ok'));
    conv.close();
    const { events } = runFrames(conv.frames);
    expect(events).toEqual([expect.objectContaining({ method: 'PUT', status: 201, reqBytes: 4, respBytes: 2 })]);
  });

  it('ends a body without length at the close', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/stream'));
    conv.send('server', 'HTTP/1.0 200 OK\r\n\r\n' + 'y'.repeat(3000));
    conv.close('server');
    const { events } = runFrames(conv.frames);
    expect(events).toEqual([expect.objectContaining({ status: 200, respBytes: 3000 })]);
  });

  it('reads what follows CONNECT 200 as a connection of its own, and nothing after a 101 to a protocol it does not read', () => {
    const tunnel = new Conversation().handshake();
    tunnel.send('client', 'CONNECT db.example.com:443 HTTP/1.1\r\nHost: db.example.com:443\r\n\r\n');
    tunnel.send('server', 'HTTP/1.1 200 Connection established\r\n\r\n');
    tunnel.send('client', 'GET /not-http-anymore HTTP/1.1\r\n\r\n');
    tunnel.close();
    const ws = new Conversation({ addr: '10.0.0.3', port: 40001 }).handshake();
    ws.send('client', request('GET', '/chat', 'example.com', 'Connection: Upgrade\r\nUpgrade: websocket\r\n'));
    ws.send('server', 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello');
    ws.send('client', 'GET /fake HTTP/1.1\r\n\r\n');
    ws.close();
    const { events, stats } = runFrames(interleave(tunnel, ws));
    expect(events.map((e) => [e.method, e.uri, e.host, e.status])).toEqual([
      ['CONNECT', 'db.example.com:443', 'db.example.com', 200],
      ['GET', '/chat', 'example.com', 101],
      // Plain HTTP in the tunnel: no Host, so the server's address; no answer before the close.
      ['GET', '/not-http-anymore', '10.0.0.2', null],
    ]);
    expect(stats).toMatchObject({ parseErrors: 0, upgradedFlows: 1, nonHttpFlows: 0 });
  });

  it('emits a request whose response never comes, with status null, when the connection ends', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/lost'));
    conv.reset('server');
    const { events, stats } = runFrames(conv.frames);
    expect(events).toEqual([expect.objectContaining({ uri: '/lost', status: null, latencyMs: null })]);
    expect(stats.unanswered).toBe(1);
  });

  it('reads HTTP/0.9 requests and their status-less answers', () => {
    const conv = new Conversation().handshake();
    conv.send('client', 'GET /old.html\r\n');
    conv.send('server', '<html>old</html>');
    conv.close('server');
    const { events } = runFrames(conv.frames);
    expect(events).toEqual([expect.objectContaining({ method: 'GET', uri: '/old.html', version: '0.9', status: null, respBytes: 16 })]);
  });
});

describe('damaged and hostile streams', () => {
  it('skips a gap (lost packet) and resyncs at the next request', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/before'));
    conv.send('server', response(200, 'a'));
    conv.lose('client', 200); // a whole request lost
    conv.send('client', request('GET', '/after'));
    conv.send('server', response(200, 'b'));
    conv.close();
    const { events, stats } = runFrames(conv.frames);
    expect(events.map((e) => e.uri)).toContain('/after');
    expect(events.map((e) => e.uri)).toContain('/before');
    expect(stats.gaps).toBe(1);
    expect(stats.gapBytes).toBe(200);
  });

  it('stays in step across a hole inside a body of known length', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/big') + request('GET', '/next'));
    conv.send('server', 'HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n' + 'z'.repeat(1000));
    conv.lose('server', 1000);
    conv.send('server', 'z'.repeat(1000) + response(200, 'ok'));
    conv.close();
    const { events, stats } = runFrames(conv.frames);
    expect(events.map((e) => [e.uri, e.respBytes])).toEqual([['/big', 3000], ['/next', 2]]);
    expect(stats.gaps).toBe(1);
  });

  it('joins a connection already under way and resyncs at a message start', () => {
    const conv = new Conversation();
    // No handshake: the capture starts in the middle of a response body.
    conv.send('server', 'tail of a body from before\r\nmore\r\n');
    conv.send('client', request('GET', '/seen'));
    conv.send('server', response(200, 'ok'));
    const { events } = runFrames(conv.frames);
    expect(events).toEqual([expect.objectContaining({ uri: '/seen', status: 200 })]);
  });

  it('gives up a connection that is not HTTP, and counts it', () => {
    const conv = new Conversation({ addr: '10.0.0.9', port: 40100 }).handshake();
    conv.send('client', Buffer.from([0x00, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    conv.send('server', Buffer.from([0x00, 0x03, 0x03, 0x00, 0x5d, 0x02]));
    conv.send('client', 'GET /hidden HTTP/1.1\r\n\r\n');
    conv.close();
    const { events, stats } = runFrames(conv.frames);
    expect(events).toHaveLength(0);
    expect(stats.nonHttpFlows).toBe(1);
  });

  it('bounds every kept string by max_str_length (URIs by 8 KiB) and escapes control characters', () => {
    const conv = new Conversation().handshake();
    const longUri = '/' + 'a'.repeat(5000);
    const tooLongUri = '/b/' + 'b'.repeat(9000);
    conv.send('client', `GET ${longUri} HTTP/1.1\r\nHost: ${'h'.repeat(3000)}.com\r\nUser-Agent: evil\x1b[2J\x07agent\r\nCookie: session=secret\r\nAuthorization: Basic c2VjcmV0\r\nReferer: http://r.example/\x1b]0;x\x07\r\n\r\n`);
    conv.send('server', response(200));
    conv.send('client', `GET ${tooLongUri} HTTP/1.1\r\nHost: h\r\n\r\n`);
    conv.send('server', response(200));
    const { events } = runFrames(conv.frames, LinkType.ETHERNET, 64);
    const [e, cut] = events;
    // A long URI is kept whole up to 8 KiB (nginx's request-line limit), then cut and marked.
    expect(e.uri).toBe(longUri);
    expect(e.uriTruncated).toBe(false);
    expect(cut.uri).toHaveLength(8192);
    expect(cut.uriTruncated).toBe(true);
    // Everything else keeps max_str_length, the section and route included.
    for (const value of [e.host, e.section, e.route, cut.section, cut.route]) expect(value.length).toBeLessThanOrEqual(64);
    expect(e.ua).toBe('evil\\x1b[2J\\x07agent');
    // Secrets: said to be there, never their value.
    expect(e.requestHeaders.split('\n').sort()).toEqual(['Authorization: present, not shown', 'Cookie: present, not shown', 'Referer: http://r.example/\\x1b]0;x\\x07']);
    expect(JSON.stringify(e)).not.toMatch(/secret|c2VjcmV0/);
  });

  it('names routes and clients; keeps the detail headers only when asked (the dashboard), the client either way', () => {
    const conv = new Conversation({ addr: '10.0.0.7', port: 41000 }).handshake();
    conv.send('client', 'GET /users/123/orders/9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f?x=1 HTTP/1.1\r\nHost: api.example\r\nX-Forwarded-For: 198.51.100.4, 203.0.113.9\r\nX-Request-Id: abc\r\n\r\n');
    conv.send('server', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: nginx\r\n\r\nok');
    const run = (keepHeaders: boolean, trusted: string[]) => {
      const { CapturePipeline: Pipeline, requestNaming } = jest.requireActual('../src/capture/pipeline');
      const pipeline = new Pipeline({ ...captureLimits(1024), keepHeaders }, 2, { naming: requestNaming([], trusted, 1024) });
      for (const { ts, frame } of conv.frames) pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
      return pipeline.finish()[0] as HttpEvent;
    };
    const kept = run(true, ['10.0.0.0/8']);
    expect(kept.route).toBe('/users/{id}/orders/{uuid}');
    expect(kept.client).toBe('203.0.113.9');
    expect(kept.requestHeaders.split('\n')).toEqual(['X-Forwarded-For: 198.51.100.4, 203.0.113.9', 'X-Request-Id: abc']);
    expect(kept.responseHeaders).toBe('Server: nginx');
    const headless = run(false, ['10.0.0.0/8']);
    expect([headless.requestHeaders, headless.responseHeaders]).toEqual(['', '']);
    expect(headless.client).toBe('203.0.113.9');
    // Without trusted proxies the header is anyone's claim: the peer is the client.
    expect(run(false, []).client).toBe('10.0.0.7');
  });

  it('gives up a head larger than the parser bound without growing', () => {
    const conv = new Conversation().handshake();
    conv.send('client', `GET /x HTTP/1.1\r\n${'X-Filler: ' + 'f'.repeat(100) + '\r\n'}`.repeat(1) + ('X-Pad: ' + 'p'.repeat(1000) + '\r\n').repeat(80));
    conv.send('client', '\r\n' + request('GET', '/fine'));
    conv.send('server', response(400) + response(200));
    conv.close();
    const { events, stats } = runFrames(conv.frames);
    expect(stats.parseErrors).toBeGreaterThanOrEqual(1);
    expect(events.map((e) => e.uri)).toContain('/fine');
  });
});

describe('link layers and IP versions', () => {
  const cases: Array<[string, number, object]> = [
    ['802.1Q VLAN', LinkType.ETHERNET, { vlans: [42] }],
    ['802.1ad QinQ', LinkType.ETHERNET, { vlans: [100, 42] }],
    ['Linux cooked (SLL)', LinkType.LINUX_SLL, {}],
    ['Linux cooked v2 (SLL2)', LinkType.LINUX_SLL2, {}],
    ['BSD loopback', LinkType.NULL, {}],
    ['raw IP', LinkType.RAW, {}],
    ['IPv4 options', LinkType.ETHERNET, { ipOptions: Buffer.from([1, 1, 1, 0]) }],
    ['TSO (IP length 0)', LinkType.ETHERNET, { zeroIpLength: true }],
  ];
  it.each(cases)('decodes %s', (_name, linkType, options) => {
    const conv = simpleExchange(new Conversation(undefined, undefined, undefined, { linkType, ...options }));
    const { events, stats } = runFrames(conv.frames, linkType);
    expect(stats.decodeErrors).toBe(0);
    expect(events).toEqual([expect.objectContaining({ uri: '/pages/create?x=1', status: 200 })]);
  });

  it('decodes IPv6 with extension headers', () => {
    const conv = simpleExchange(new Conversation({ addr: '2001:db8::1', port: 50000 }, { addr: '2001:db8::2', port: 80 }, undefined, { ipv6Extensions: [0, 60] }));
    const { events } = runFrames(conv.frames);
    expect(events).toEqual([expect.objectContaining({ src: '2001:db8::1', dst: '2001:db8::2', status: 200 })]);
  });

  it('counts IP fragments and skips them', () => {
    const conv = simpleExchange(new Conversation(undefined, undefined, undefined, { fragment: true }));
    const { events, stats } = runFrames(conv.frames);
    expect(events).toHaveLength(0);
    expect(stats.fragments).toBe(conv.frames.length);
  });
});

describe('the snapshot length and bytes the capture lost', () => {
  const BIG = 'b'.repeat(20_000);

  it('counts a body cut by the snapshot length from the lengths, and stays in step', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/big'));
    // One offloaded super-segment, as captured on loopback or with TSO/GRO.
    conv.send('server', response(200, BIG), 65_000);
    conv.send('client', request('GET', '/next'));
    conv.send('server', response(404, 'no'));
    conv.close();
    const { events, stats } = runFrames(conv.frames, LinkType.ETHERNET, 1024, 2048);
    expect(events.map((e) => [e.uri, e.status, e.respBytes])).toEqual([['/big', 200, 20_000], ['/next', 404, 2]]);
    expect(stats.uncapturedBytes).toBeGreaterThan(17_000);
    expect(stats).toMatchObject({ gaps: 0, parseErrors: 0, orphanResponses: 0, unanswered: 0 });
  });

  it('cuts IPv6 frames the same way', () => {
    const conv = new Conversation({ addr: '2001:db8::1', port: 50000 }, { addr: '2001:db8::2', port: 80 }).handshake();
    conv.send('client', request('GET', '/v6'));
    conv.send('server', response(200, BIG), 65_000);
    conv.close();
    const { events, stats } = runFrames(conv.frames, LinkType.ETHERNET, 1024, 1500);
    expect(events).toEqual([expect.objectContaining({ uri: '/v6', status: 200, respBytes: 20_000 })]);
    expect(stats.decodeErrors).toBe(0);
  });

  it('finds the next response after a chunked body cut by the snapshot length', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/chunked'));
    const chunks = `${(8000).toString(16)}\r\n${'c'.repeat(8000)}\r\n${(8000).toString(16)}\r\n${'d'.repeat(8000)}\r\n0\r\n\r\n`;
    conv.send('server', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`, 65_000);
    conv.send('client', request('GET', '/after'));
    conv.send('server', response(201, 'ok'));
    conv.close();
    const { events } = runFrames(conv.frames, LinkType.ETHERNET, 1024, 2048);
    expect(events.map((e) => [e.uri, e.status])).toEqual([['/chunked', 200], ['/after', 201]]);
  });

  it('ends a chunked message at a hole between chunks, so the next transaction is not held back', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/first'));
    conv.send('server', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    conv.lose('server', 200); // the next chunk-size line and what follows
    conv.send('client', request('GET', '/second'));
    conv.send('server', response(200, 'ok'));
    const { CapturePipeline } = jest.requireActual('../src/capture/pipeline');
    const { captureLimits } = jest.requireActual('../src/capture/limits');
    const pipeline = new CapturePipeline(captureLimits(1024), 2);
    for (const { ts, frame } of conv.frames) pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
    // Both out before the connection ends (no FIN), within milliseconds of data time.
    expect(pipeline.release().map((e: HttpEvent) => [e.uri, e.status, e.respBytes])).toEqual([['/first', 200, 5], ['/second', 200, 2]]);
  });

  it('reports a request head longer than the snapshot length from the lines it captured', () => {
    const conv = new Conversation().handshake();
    conv.send('client', `GET /long-head HTTP/1.1\r\nHost: cut.example\r\nUser-Agent: cut-agent\r\nX-Filler: ${'f'.repeat(6000)}\r\n\r\n`, 65_000);
    conv.send('server', response(200, 'ok'));
    conv.send('client', request('GET', '/next'));
    conv.send('server', response(200, 'ok'));
    conv.close();
    const { events, stats } = runFrames(conv.frames, LinkType.ETHERNET, 1024, 1024);
    expect(events.map((e) => [e.uri, e.host, e.ua, e.status])).toEqual([['/long-head', 'cut.example', 'cut-agent', 200], ['/next', 'example.com', 'test-agent', 200]]);
    expect(stats.orphanResponses).toBe(0);
  });

  it('never takes a header line cut in the middle', () => {
    const conv = new Conversation().handshake();
    // The cut falls inside the Host line: the host is unknown, not "cut.exa".
    const head = `GET /mid-line HTTP/1.1\r\nHost: cut.example\r\n\r\n`;
    conv.send('client', head, 65_000);
    conv.send('server', response(200, 'ok'));
    conv.close();
    const headerStart = 54 + head.indexOf('Host') + 9;
    const { events } = runFrames(conv.frames, LinkType.ETHERNET, 1024, headerStart);
    expect(events).toEqual([expect.objectContaining({ uri: '/mid-line', host: '10.0.0.2', status: 200 })]);
  });

  it('stops waiting for lost bytes as soon as the peer acknowledges past them', () => {
    const { CapturePipeline } = jest.requireActual('../src/capture/pipeline');
    const { captureLimits } = jest.requireActual('../src/capture/limits');
    const pipeline = new CapturePipeline(captureLimits(1024), 2);
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/holed'));
    conv.send('server', 'HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n' + 'z'.repeat(1000));
    conv.lose('server', 1000); // dropped by the capture, received by the client
    conv.send('server', 'z'.repeat(1000));
    conv.send('client', request('GET', '/next')); // its ACK covers the lost bytes
    for (const { ts, frame } of conv.frames) pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
    // Milliseconds later, not after the 5 s a hole may otherwise stay open.
    expect(pipeline.now - conv.frames[0].ts).toBeLessThan(0.1);
    expect(pipeline.stats).toMatchObject({ gaps: 1, gapBytes: 1000 });
    expect(pipeline.release()).toEqual([expect.objectContaining({ uri: '/holed', status: 200, respBytes: 3000 })]);
  });
});

describe('flows reused after their connection ends', () => {
  it('start clean whatever state the last connection left them in', () => {
    // One after the other (each ends before the next starts), so each reuses the last one's flow.
    const at = (i: number) => 1_700_000_000 + i;
    const tunnel = new Conversation({ addr: '10.0.1.1', port: 41001 }, undefined, at(0)).handshake();
    tunnel.send('client', 'CONNECT db.example.com:443 HTTP/1.1\r\nHost: db.example.com:443\r\n\r\n');
    tunnel.send('server', 'HTTP/1.1 200 Connection established\r\n\r\n');
    tunnel.send('client', '\x16\x03\x01 tls bytes');
    tunnel.close();
    const garbage = new Conversation({ addr: '10.0.1.2', port: 41002 }, undefined, at(1)).handshake();
    garbage.send('client', '\x00\x01 not http at all');
    garbage.close();
    const cut = new Conversation({ addr: '10.0.1.3', port: 41003 }, undefined, at(2)).handshake();
    cut.send('client', request('GET', '/chunked-cut'));
    cut.send('server', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhalf');
    cut.reset('server');
    const headless = new Conversation({ addr: '10.0.1.4', port: 41004 }, undefined, at(3)).handshake();
    headless.send('client', 'GET /half-a-head HTTP/1.1\r\nHost: x');
    headless.close();
    const normal = [5, 6, 7].map((i) => {
      const conv = new Conversation({ addr: `10.0.1.${i}`, port: 41000 + i }, undefined, at(i)).handshake();
      conv.send('client', request('POST', `/ok/${i}`, 'fresh.example', 'Content-Length: 2\r\n') + 'hi');
      conv.send('server', response(201, 'created'));
      conv.close();
      return conv;
    });
    const { events, stats } = runFrames(interleave(tunnel, garbage, cut, headless, ...normal));
    expect(events.slice(-3).map((e) => [e.src, e.method, e.uri, e.host, e.status, e.reqBytes, e.respBytes, e.version])).toEqual(
      [5, 6, 7].map((i) => [`10.0.1.${i}`, 'POST', `/ok/${i}`, 'fresh.example', 201, 2, 7, '1.1']));
    expect(stats).toMatchObject({ flowsTotal: 7, flowsActive: 0, nonHttpFlows: 1 });
  });
});

describe('event order and bounds', () => {
  it('expires idle connections and emits their unanswered requests', () => {
    const { CapturePipeline } = jest.requireActual('../src/capture/pipeline');
    const { captureLimits } = jest.requireActual('../src/capture/limits');
    const pipeline = new CapturePipeline(captureLimits(1024), 2);
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/hanging'));
    for (const { ts, frame } of conv.frames) pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
    pipeline.tick(conv.clock + 60);
    expect(pipeline.release()).toEqual([]);
    expect(pipeline.stats.flowsActive).toBe(1);
    pipeline.tick(conv.clock + 121);
    expect(pipeline.release()).toEqual([expect.objectContaining({ uri: '/hanging', status: null })]);
    expect(pipeline.stats).toMatchObject({ flowsActive: 0, flowsExpired: 1, unanswered: 1 });
  });

  it('keeps crafted connections in short chains: ones that share the unkeyed hash, and ones from an address to itself', () => {
    // The unkeyed hash is inverted in one multiplication: for each port, the IPv4 address that
    // gives one chosen hash. 2,000 such clients of one server, all open at once.
    const K1 = 0x9e3779b1;
    let inverse = K1;
    for (let i = 0; i < 5; i++) inverse = Math.imul(inverse, 2 - Math.imul(K1, inverse));
    const server = 0x0a000002;
    const target = Math.imul(0x0a000001, K1) ^ Math.imul(20000, 0x85ebca6b);
    const inverted = Array.from({ length: 2000 }, (_, i) => {
      const port = 20000 + i;
      const address = Math.imul(inverse, target ^ Math.imul(port, 0x85ebca6b)) >>> 0;
      return { address, client: { addr: formatIpv4(address), port }, server: { addr: formatIpv4(server), port: 80 } };
    });
    const hashes = new Set(inverted.map(({ address, client }) => connectionHash({ ipVersion: 4, src4: address, sport: client.port, dst4: server, dport: 80 } as DecodedSegment)));
    expect(hashes.size).toBe(1);
    // Spoofed SYNs from an address to itself: in a sum of the two endpoints' lightly mixed
    // hashes, these differ only where the two ports' products do, whatever the key.
    const selfAddressed = Array.from({ length: 2000 }, (_, i) => {
      const addr = `10.${i >> 8}.${i & 255}.7`;
      return { client: { addr, port: 56106 }, server: { addr, port: 80 } };
    });
    for (const tuples of [inverted, selfAddressed]) {
      const { CapturePipeline } = jest.requireActual('../src/capture/pipeline');
      const pipeline = new CapturePipeline(captureLimits(1024), 2);
      const t0 = 1_700_000_000;
      const conversations = tuples.map(({ client, server: to }, i) => {
        const conv = new Conversation(client, to, t0 + i * 1e-4).handshake();
        conv.send('client', request('GET', `/c${i}`));
        return conv;
      });
      for (const { ts, frame } of interleave(...conversations)) pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
      expect(pipeline.stats.flowsActive).toBe(2000);
      // 2,000 connections over 2,048 slots: chains of a few (5-8 over many keys), where the
      // unkeyed hash made one of 2,000, and a sum of lightly mixed endpoints ones of ~140.
      // (`flows` is the pipeline's private table.)
      expect(pipeline.flows.longestChain()).toBeLessThan(32);
      const events: HttpEvent[] = pipeline.finish();
      expect(events.map((e) => e.uri).sort()).toEqual(tuples.map((_, i) => `/c${i}`).sort());
    }
  });

  it('expires every idle connection in one sweep, keeping the active one among them', () => {
    const { CapturePipeline } = jest.requireActual('../src/capture/pipeline');
    const { captureLimits } = jest.requireActual('../src/capture/limits');
    const pipeline = new CapturePipeline(captureLimits(1024), 2);
    const t0 = 1_700_000_000;
    // Opened in this order; the third keeps talking, the others go quiet with a request unanswered.
    const conversations = [0, 1, 2, 3].map((i) => {
      const conv = new Conversation({ addr: `10.8.0.${i + 1}`, port: 31000 + i }, undefined, t0 + i).handshake();
      conv.send('client', request('GET', `/quiet/${i}`));
      return conv;
    });
    const active = conversations[2];
    active.clock = t0 + 100;
    active.send('server', response(200));
    active.send('client', request('GET', '/still-here'));
    for (const { ts, frame } of interleave(...conversations)) pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
    pipeline.tick(t0 + 4 + 120);
    expect(pipeline.stats).toMatchObject({ flowsActive: 1, flowsExpired: 3 });
    expect(pipeline.release().map((e: HttpEvent) => [e.uri, e.status])).toEqual([['/quiet/0', null], ['/quiet/1', null], ['/quiet/2', 200], ['/quiet/3', null]]);
  });

  it('releases transactions in request-time order across connections', () => {
    const slow = new Conversation({ addr: '10.0.0.5', port: 41000 }).handshake();
    slow.send('client', request('GET', '/slow'));
    const fast = new Conversation({ addr: '10.0.0.6', port: 41001 }, undefined, slow.clock + 0.0005).handshake();
    fast.send('client', request('GET', '/fast'));
    fast.send('server', response(200));
    slow.clock = fast.clock + 0.5;
    slow.send('server', response(200));
    const { events } = runFrames(interleave(slow, fast));
    expect(events.map((e) => e.uri)).toEqual(['/slow', '/fast']);
  });

  it('finds each of thousands of open connections, and names every client right when it comes back', () => {
    // 2,500 connections open at once (the table outgrows its first slots twice), answered only
    // after the last has asked; then each client again from a new port. Some of the 2,500
    // addresses share a place in the cache of address texts with another (or the server's).
    const clients = 2500;
    const t0 = 1_700_000_000;
    const address = (i: number) => `10.${i >> 8}.${i & 255}.9`;
    const conversations: Conversation[] = [];
    for (const round of [0, 1]) {
      const batch = Array.from({ length: clients }, (_, i) => {
        const conv = new Conversation({ addr: address(i), port: 20000 + round * 5000 + i }, undefined, t0 + round * 100 + i * 1e-5).handshake();
        conv.send('client', request('GET', `/r${round}/c${i}`));
        return conv;
      });
      for (const conv of batch) {
        conv.clock = t0 + round * 100 + 1 + (conv.clock - t0 - round * 100) / 1000;
        conv.send('server', response(200, 'ok'));
        conv.close();
      }
      conversations.push(...batch);
    }
    // Driven as a capture is, many frames per release (runFrames releases after every frame,
    // and each release looks at every open connection).
    const { CapturePipeline } = jest.requireActual('../src/capture/pipeline');
    const pipeline = new CapturePipeline(captureLimits(1024), 2);
    const events: HttpEvent[] = [];
    interleave(...conversations).forEach(({ ts, frame }, n) => {
      pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
      if (n % 1000 === 999) {
        pipeline.tick(pipeline.now);
        events.push(...pipeline.release());
      }
    });
    events.push(...pipeline.finish());
    const stats = pipeline.stats;
    expect(events).toHaveLength(2 * clients);
    const wrong = events.filter((e) => {
      const [, round, client] = /^\/r(\d)\/c(\d+)$/.exec(e.uri) ?? [];
      return e.status !== 200 || e.src !== address(Number(client)) || e.sport !== 20000 + Number(round) * 5000 + Number(client);
    });
    expect(wrong).toEqual([]);
    expect(stats).toMatchObject({ flowsTotal: 2 * clients, flowsActive: 0, flowsDropped: 0 });
  });

  it('ends the least recently active connection when the flow table is full, and counts it', () => {
    const frames = [];
    for (let i = 0; i < 5; i++) frames.push(...simpleExchange(new Conversation({ addr: `10.9.0.${i + 1}`, port: 30000 + i })).frames);
    const { CapturePipeline } = jest.requireActual('../src/capture/pipeline');
    const { captureLimits } = jest.requireActual('../src/capture/limits');
    const pipeline = new CapturePipeline({ ...captureLimits(1024), maxFlows: 2 }, 2);
    // All five connections open before any closes.
    const sorted = [...frames].sort((a, b) => a.ts - b.ts);
    let most = 0;
    const events = [];
    for (const { ts, frame } of sorted) {
      pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
      most = Math.max(most, pipeline.stats.flowsActive);
    }
    events.push(...pipeline.finish());
    expect(most).toBe(2);
    expect(pipeline.stats.flowsDropped).toBeGreaterThan(0);
    // Every request is still reported (a connection ended early is picked up again by its next segment).
    expect(events.filter((e: HttpEvent) => e.uri === '/pages/create?x=1')).toHaveLength(5);
  });
});

describe('the order transactions are released in', () => {
  /** A seeded generator, so a failure can be replayed. */
  function random(seed: number): () => number {
    let s = seed;
    return () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s / 2 ** 32;
    };
  }

  it('is by start time, equal times in the order they finished, however many and however far apart', () => {
    const next = random(7);
    for (const [count, spread] of [[10, 0.001], [3000, 2], [3000, 0], [9000, 1], [500, 5000]] as const) {
      const events = Array.from({ length: count }, (_, i) => httpEvent(1_700_000_000 + Math.floor(next() * 50) * (spread / 50), { uri: `/${i}` }));
      const expected = [...events].sort((a, b) => a.ts - b.ts).map((e) => e.uri);
      sortByTs(events);
      expect(events.map((e) => e.uri)).toEqual(expected);
    }
  });

  it('is by time even for times less than a nanosecond apart (a capture of relative times near 0)', () => {
    const events = [httpEvent(1 + 5e-10, { uri: '/later' }), httpEvent(1, { uri: '/first' })];
    sortByTs(events);
    expect(events.map((e) => e.uri)).toEqual(['/first', '/later']);
  });
});
