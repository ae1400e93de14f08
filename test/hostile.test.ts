/**
 * Hostile input: mutated, truncated, reordered and random frames must never make the pipeline
 * throw; every string it emits stays within max_str_length and free of control characters.
 */
import { LinkType, TCP_ACK } from '../src/capture/decode';
import { CONNECTION_COST, captureLimits } from '../src/capture/limits';
import { CapturePipeline } from '../src/capture/pipeline';
import { MAX_URI_LENGTH } from '../src/http/headers';
import { generateTraffic, seededRandom, type TimedFrame } from '../src/capture/sources/demo/traffic';
import type { HttpEvent } from '../src/types';
import { Conversation, interleave, request, response, runFrames } from './helpers/conversation';
import { ByteBudget } from '../src/protocol/byteBudget';
import { extension, handshakeRecords, record, vec16 } from '../src/capture/sources/demo/tlsBuilders';
import { clientHello, serverHello13 } from './helpers/tlsHello';
import { KeyLog } from '../src/tls/keyLog';

const MAX_STR = 48;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function traffic(seed: number): TimedFrame[] {
  return [...generateTraffic({ startTs: 1_700_000_000, phases: [{ seconds: 20, rps: 40 }], seed, connections: 6, requestsPerConnection: 20 })];
}

function run(frames: TimedFrame[], linkType: number = LinkType.ETHERNET) {
  return runFrames(frames, linkType, MAX_STR);
}

function expectSafe(events: HttpEvent[]): void {
  for (const e of events) {
    for (const value of [e.method, e.host, e.section, e.ua, e.version, e.route, e.client]) {
      expect(value.length).toBeLessThanOrEqual(MAX_STR);
      expect(CONTROL.test(value)).toBe(false);
    }
    // URIs have their own bound (8 KiB); headers kept for the detail are lines of bounded values.
    expect(e.uri.length).toBeLessThanOrEqual(MAX_URI_LENGTH);
    expect(CONTROL.test(e.uri)).toBe(false);
    for (const line of [...e.requestHeaders.split('\n'), ...e.responseHeaders.split('\n')]) {
      expect(line.length).toBeLessThanOrEqual(MAX_STR + 24);
      expect(CONTROL.test(line)).toBe(false);
    }
  }
}

describe('hostile input', () => {
  it('clean generated traffic gives every planned transaction', () => {
    const { events, stats } = run(traffic(1));
    expect(events).toHaveLength(800);
    expect(stats.parseErrors).toBe(0);
    expect(stats.gaps).toBe(0);
  });

  it.each([1, 2, 3, 4, 5])('survives mutated traffic (seed %i)', (seed) => {
    const random = seededRandom(seed * 7919);
    const mutated: TimedFrame[] = [];
    for (const { ts, frame } of traffic(seed)) {
      const r = random();
      if (r < 0.03) continue; // lost
      let copy = Buffer.from(frame);
      if (r < 0.10) for (let i = 0; i < 1 + random() * 8; i++) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
      else if (r < 0.13) copy = copy.subarray(0, Math.floor(random() * copy.length));
      mutated.push({ ts, frame: copy });
      if (r > 0.97) mutated.push({ ts, frame: copy }); // duplicated
      if (r > 0.95 && r <= 0.97 && mutated.length > 2) {
        const j = mutated.length - 1;
        [mutated[j], mutated[j - 1]] = [mutated[j - 1], mutated[j]]; // reordered
      }
    }
    const { events, stats } = run(mutated);
    expectSafe(events);
    expect(events.length).toBeGreaterThan(300);
    expect(stats.packets).toBe(mutated.length);
  });

  it.each([LinkType.ETHERNET, LinkType.LINUX_SLL2, LinkType.RAW, LinkType.NULL, 9999])('survives random bytes as link type %i', (linkType) => {
    const random = seededRandom(linkType);
    const frames: TimedFrame[] = [];
    for (let i = 0; i < 3000; i++) {
      const frame = Buffer.alloc(Math.floor(random() * 200));
      for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(random() * 256);
      // Make some frames decode to TCP with random payloads.
      if (linkType === LinkType.RAW && frame.length > 60 && random() < 0.5) {
        frame[0] = 0x45; frame.writeUInt16BE(frame.length, 2); frame[6] = 0; frame[7] = 0; frame[9] = 6; frame[32] = 0x50;
      }
      frames.push({ ts: 1_700_000_000 + i * 0.001, frame });
    }
    const { events } = run(frames, linkType);
    expectSafe(events);
  });

  it('a flood of unfinished message heads stays within the shared head-buffer budget, and what it refuses is counted', () => {
    const budget = new ByteBudget(1024 * 1024);
    const pipeline = new CapturePipeline({ ...captureLimits(MAX_STR), headBuffers: budget }, 2);
    const conversations: Conversation[] = [];
    // 100 connections, each 40 KB of a request head that never ends (4 MB if all were kept).
    for (let i = 0; i < 100; i++) {
      const conv = new Conversation({ addr: `10.1.${i >> 8}.${i & 255}`, port: 30000 + i }).handshake();
      conv.send('client', `GET /${'a'.repeat(40_000)}`, 8000);
      conversations.push(conv);
    }
    let most = 0;
    for (const { ts, frame } of interleave(...conversations)) {
      pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
      most = Math.max(most, budget.used);
    }
    expect(most).toBeLessThanOrEqual(1024 * 1024);
    pipeline.release();
    expect(pipeline.stats.headBufferDrops).toBeGreaterThan(0);
    expect(pipeline.stats.headBufferDrops).toBe(budget.refused);
    // Connections end: their large buffers go back; a normal exchange then parses as ever.
    pipeline.finish();
    expect(budget.used).toBe(0);
    const after = new Conversation({ addr: '10.9.9.9', port: 40000 }).handshake();
    after.send('client', request('GET', '/fine'));
    after.send('server', response(200, 'ok'));
    after.close();
    for (const { ts, frame } of after.frames) pipeline.onFrame(frame, 0, frame.length, frame.length, ts + 10, LinkType.ETHERNET);
    expect(pipeline.finish().map((e) => e.uri)).toEqual(['/fine']);
  });

  it('a flood of one-byte out-of-order segments is bounded by what the segments cost, not their payload', () => {
    const maxBufferedBytes = 1024 * 1024;
    const pipeline = new CapturePipeline({ ...captureLimits(MAX_STR), maxBufferedBytes }, 2);
    const conversations: Conversation[] = [];
    // 100 connections × 500 one-byte segments after a hole: 50 KB of payload, ~10 MB of objects.
    for (let i = 0; i < 100; i++) {
      const conv = new Conversation({ addr: `10.2.${i >> 8}.${i & 255}`, port: 20000 + i }).handshake();
      conv.send('client', 'GET / HTTP/1.1\r\n');
      const hole = 1000;
      for (let k = 0; k < 500; k++) conv.segment('client', 1000 + 1 + 16 + hole + k, TCP_ACK, Buffer.from('x'));
      conversations.push(conv);
    }
    for (const { ts, frame } of interleave(...conversations)) pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
    // The budget (1 MiB) holds ~6,000 such segments, not 50,000: the rest made holes be skipped.
    expect(pipeline.stats.gaps).toBeGreaterThan(0);
    pipeline.finish();
  });

  it('pipelined requests that are never answered stay within the budget of waiting requests, and none is lost', () => {
    const budget = new ByteBudget(256 * 1024);
    const pipeline = new CapturePipeline({ ...captureLimits(1024), pendingRequests: budget }, 2);
    const conversations: Conversation[] = [];
    // 50 connections × 64 requests with 1 KB URIs, no response: ~7 MB if all waited.
    for (let i = 0; i < 50; i++) {
      const conv = new Conversation({ addr: `10.3.${i >> 8}.${i & 255}`, port: 10000 + i }).handshake();
      for (let k = 0; k < 64; k++) conv.send('client', request('GET', `/${'u'.repeat(1000)}/${k}`));
      conversations.push(conv);
    }
    let most = 0;
    let events = 0;
    for (const { ts, frame } of interleave(...conversations)) {
      pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
      most = Math.max(most, budget.used);
      events += pipeline.release().length;
    }
    expect(most).toBeLessThanOrEqual(256 * 1024);
    expect(pipeline.stats.pipelineDrops).toBeGreaterThan(0);
    events += pipeline.finish().length;
    // Every request is still reported, answered or not.
    expect(events).toBe(50 * 64);
    expect(budget.used).toBe(0);
  });

  it('transactions held back for request-time order are bounded by their share of the budget: past it the oldest go out', () => {
    const maxHeldBytes = 1024 * 1024;
    const pipeline = new CapturePipeline({ ...captureLimits(MAX_STR), maxHeldBytes }, 2);
    // One request that is never answered, then 30,000 answered ones on another connection within
    // a second of data time: each of them waits behind the open one for the 2 s hold time.
    const open = new Conversation({ addr: '10.1.1.1', port: 40000 }).handshake();
    open.send('client', request('GET', '/open'));
    const busy = new Conversation({ addr: '10.1.1.2', port: 40001 }).handshake();
    busy.clock = open.clock;
    for (let k = 0; k < 30_000; k++) {
      busy.send('client', request('GET', `/r/${k}`), 1460, 0.00001);
      busy.send('server', response(200), 1460, 0.00001);
    }
    let released = 0;
    let most = 0;
    let mostHeld = 0;
    for (const { ts, frame } of interleave(open, busy)) {
      pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
      released += pipeline.release().length;
      const { held, heldBytes } = pipeline as unknown as { held: unknown[]; heldBytes: number };
      most = Math.max(most, heldBytes);
      mostHeld = Math.max(mostHeld, held.length);
    }
    expect(released).toBeGreaterThan(0);
    // At most one transaction over the share between two releases (one per frame here).
    expect(most).toBeLessThanOrEqual(maxHeldBytes + 1024);
    expect(mostHeld).toBeGreaterThan(1000);
    expect(released + pipeline.finish().length).toBe(30_001);
  });

  it.each([1, 2, 3])('the HTTP parser survives mutated and random messages in random segments (fuzz, seed %i)', (seed) => {
    const random = seededRandom(seed * 104729);
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const noise = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
    const requests = [
      () => request('GET', `/a/${Math.floor(random() * 1e6)}`),
      () => request('POST', '/up', 'h.example', `Content-Length: ${pick(['5', '-1', '99999999999999999999', 'x', '5, 6'])}\r\n`) + 'hello',
      () => request('PUT', '/c', 'h.example', `Transfer-Encoding: ${pick(['chunked', 'gzip, chunked', 'chunked, gzip'])}\r\n`)
        + pick(['5\r\nhello\r\n0\r\n\r\n', 'zz\r\n', 'ffffffffffffffffff\r\nx', '5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n']),
      () => `GET ${'/'.repeat(Math.floor(random() * 3000))} HTTP/1.1\r\n${'X: y\r\n'.repeat(Math.floor(random() * 300))}\r\n`,
      () => 'GET /0.9\r\n',
      () => `CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n`,
    ];
    const responses = [
      () => response(200, 'ok'),
      () => 'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n',
      () => 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n',
      () => `HTTP/1.0 ${Math.floor(random() * 1000)} X\r\n\r\nbody until close`,
    ];
    const conversations: Conversation[] = [];
    for (let c = 0; c < 30; c++) {
      const conv = new Conversation({ addr: `10.4.0.${c + 1}`, port: 50000 + c }).handshake();
      for (let m = 0; m < 20; m++) {
        for (const [side, make] of [['client', pick(requests)], ['server', pick(responses)]] as const) {
          let data = Buffer.from(make(), 'latin1');
          const r = random();
          if (r < 0.15) data = Buffer.concat([data.subarray(0, Math.floor(random() * data.length)), noise(Math.floor(random() * 64)), data.subarray(Math.floor(random() * data.length))]);
          else if (r < 0.2) data = noise(1 + Math.floor(random() * 2000));
          else if (r < 0.25) for (let k = 0; k < 4; k++) data[Math.floor(random() * data.length)] = pick([0x0d, 0x0a, 0x00, 0x1b, 0x3a, 0x20]);
          conv.send(side, data, 1 + Math.floor(random() * 1460));
        }
      }
      if (random() < 0.5) conv.close();
      conversations.push(conv);
    }
    const { events, stats } = run([...interleave(...conversations)]);
    expectSafe(events);
    expect(stats.packets).toBeGreaterThan(1000);
    for (const value of Object.values(stats)) expect(Number.isFinite(value)).toBe(true);
  });

  it('a flood of distinct connections stays within the flow table bound, and ends idle ones rather than busy ones', () => {
    const pipeline = new CapturePipeline({ ...captureLimits(MAX_STR), maxFlows: 1000 }, 2);
    const frame = Buffer.from(traffic(9)[0].frame);
    for (let i = 0; i < 20_000; i++) {
      frame.writeUInt16BE(1024 + (i % 60000), 34); // a new source port each time
      frame.writeUInt32BE(0x0a000000 + i, 26);
      pipeline.onFrame(frame, 0, frame.length, frame.length, 1_700_000_000 + i * 1e-4, LinkType.ETHERNET);
    }
    expect(pipeline.stats.flowsActive).toBeLessThanOrEqual(1000);
    expect(pipeline.stats.flowsDropped).toBe(19_000);
  });

  it('a full flow table keeps the connection that keeps sending, and ends the flood\'s', () => {
    const pipeline = new CapturePipeline({ ...captureLimits(MAX_STR), maxFlows: 100 }, 2);
    const busy = new Conversation({ addr: '10.1.1.1', port: 40000 }).handshake();
    const flood = Buffer.from(traffic(9)[0].frame);
    let t = 1_700_000_000;
    const feed = (frames: TimedFrame[]) => { for (const { frame } of frames) pipeline.onFrame(frame, 0, frame.length, frame.length, (t += 1e-4), LinkType.ETHERNET); };
    feed(busy.frames);
    let sent = busy.frames.length;
    for (let i = 0; i < 5000; i++) {
      flood.writeUInt16BE(1024 + (i % 60000), 34);
      flood.writeUInt32BE(0x0b000000 + i, 26);
      pipeline.onFrame(flood, 0, flood.length, flood.length, (t += 1e-4), LinkType.ETHERNET);
      if (i % 20 === 0) {
        // The busy connection: one request and its response every 20 flood connections.
        busy.send('client', request('GET', `/busy/${i}`));
        busy.send('server', response(200));
        feed(busy.frames.slice(sent));
        sent = busy.frames.length;
      }
    }
    const events = [...pipeline.release(), ...pipeline.finish()];
    const answered = events.filter((e) => e.uri.startsWith('/busy/') && e.status === 200);
    expect(answered).toHaveLength(250);
    expect(pipeline.stats.flowsDropped).toBeGreaterThan(4800);
  });
});

describe('hostile TLS', () => {
  /** A TLS connection whose client sends `bytes` (a ClientHello in records) in segments of `segment` bytes. */
  function tlsConnection(i: number, bytes: Buffer, segment: number, startTs = 1_700_000_000): Conversation {
    const conv = new Conversation({ addr: `10.2.${i >> 8}.${i & 255}`, port: 20000 + (i % 40000) }, { addr: '10.0.0.2', port: 443 }, startTs).handshake();
    conv.send('client', bytes, segment);
    return conv;
  }

  it('fuzzed ClientHellos (mutated, truncated, over many records and segments) never throw; names are bounded and escaped; failures counted', () => {
    const random = seededRandom(7);
    const conversations: Conversation[] = [];
    const N = 400;
    for (let i = 0; i < N; i++) {
      const message = clientHello(`\u001b]0;${'n'.repeat(Math.floor(random() * 300))}.example`, ['h2', '\u0007bell'], [0x1a1a, 0x0304, 0x0303]);
      for (let k = 0; k < Math.floor(random() * 6); k++) message[Math.floor(random() * message.length)] = Math.floor(random() * 256);
      let stream = handshakeRecords(message, 1 + Math.floor(random() * 200));
      if (random() < 0.2) stream = stream.subarray(0, Math.floor(random() * stream.length));
      const conv = tlsConnection(i, stream, 1 + Math.floor(random() * 100));
      if (random() < 0.5) conv.send('server', Buffer.from([22, 3, 3, 0, 40, 2, 0, 0, 36, ...Array.from({ length: 36 }, () => Math.floor(random() * 256))]));
      conv.close();
      conversations.push(conv);
    }
    let result!: ReturnType<typeof runFrames>;
    expect(() => { result = runFrames(interleave(...conversations), LinkType.ETHERNET, MAX_STR); }).not.toThrow();
    const { stats, tls } = result;
    expect(stats.tlsFlows + stats.nonHttpFlows).toBe(N);
    expect(tls).toHaveLength(stats.tlsFlows);
    expect(stats.tlsHelloErrors).toBeGreaterThan(0);
    for (const c of tls) {
      for (const value of [c.serverName, c.version, c.cipher, c.alpn, ...c.alpnOffered, ...c.versionsOffered]) {
        expect(value.length).toBeLessThanOrEqual(MAX_STR);
        expect(CONTROL.test(value)).toBe(false);
      }
    }
    // The unmutated ones are read: their names start with the escaped OSC sequence.
    expect(tls.some((c) => c.serverName.startsWith('\\x1b]0;n'))).toBe(true);
  });

  it('a hello over 64 KiB (one huge extension) is given up and counted; a hello just under it is read', () => {
    const padded = (size: number) => {
      const message = clientHello('big.example', [], [0x0304]);
      // Grow the extensions block with a padding extension (21) of `size` bytes.
      const body = message.subarray(4);
      const extAt = 2 + 32 + 1 + 2 + 4 + 2;
      const extensions = Buffer.concat([body.subarray(extAt + 2), extension(21, Buffer.alloc(size))]);
      const newBody = Buffer.concat([body.subarray(0, extAt), vec16(extensions)]);
      return Buffer.concat([Buffer.from([1, newBody.length >> 16, (newBody.length >> 8) & 255, newBody.length & 255]), newBody]);
    };
    const small = tlsConnection(1, handshakeRecords(padded(60_000), 16_384), 1448).close();
    // A ClientHello that says it is 70,000 bytes long, and is.
    const huge = tlsConnection(2, handshakeRecords(Buffer.concat([Buffer.from([1, 0x01, 0x11, 0x70]), Buffer.alloc(70_000)]), 16_384), 1448).close();
    const { stats, tls } = runFrames(interleave(small, huge), LinkType.ETHERNET, MAX_STR);
    expect(tls.map((c) => c.serverName).sort()).toEqual(['', 'big.example']);
    expect(stats.tlsHelloErrors).toBe(1);
  });

  it('many connections each sending half of a large hello stay within the head-buffer budget, counted, never a crash', () => {
    const budget = new ByteBudget(1024 * 1024);
    const pipeline = new CapturePipeline({ ...captureLimits(MAX_STR), headBuffers: budget }, 2);
    const half = handshakeRecords(clientHello(`${'h'.repeat(40)}.example`, [], [0x0304]), 60).subarray(0, 20);
    const big = Buffer.concat([Buffer.from([22, 3, 1, 0x40, 0]), Buffer.from([1, 0, 0xff, 0xf0]), Buffer.alloc(8000)]);
    let most = 0;
    const conversations = Array.from({ length: 1000 }, (_, i) => tlsConnection(i, i % 2 === 0 ? big : half, 1000));
    for (const { ts, frame } of interleave(...conversations)) {
      pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
      most = Math.max(most, budget.used);
    }
    expect(most).toBeLessThanOrEqual(1024 * 1024);
    expect(budget.refused).toBeGreaterThan(0);
    pipeline.finish();
    expect(budget.used).toBe(0);
    // Every connection is a TLS record, or (no budget left for its session) a counted failure.
    const { tlsFlows, tlsHelloErrors } = pipeline.stats;
    expect(pipeline.releaseTls()).toHaveLength(tlsFlows);
    expect(tlsFlows).toBeGreaterThan(100);
    expect(tlsHelloErrors).toBeGreaterThanOrEqual(1000 - tlsFlows);
  });
});

describe('hostile TLS connections', () => {
  it('TLS sessions take room among the connections: a flood of open TLS connections stays within the flow table bound, each ended one reported', () => {
    const limits = { ...captureLimits(MAX_STR), maxFlows: 300 };
    const pipeline = new CapturePipeline(limits, 2);
    const hello = handshakeRecords(clientHello('flood.example', ['h2'], [0x0304]), 16384);
    let most = 0;
    for (let i = 0; i < 2000; i++) {
      const conv = new Conversation({ addr: `10.4.${i >> 8}.${i & 255}`, port: 20000 + i }, { addr: '10.0.0.2', port: 443 }, 1_700_000_000 + i / 100).handshake();
      conv.send('client', hello);
      for (const { ts, frame } of conv.frames) pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
      most = Math.max(most, pipeline.stats.flowsActive + Math.ceil(limits.sessionCosts.used / CONNECTION_COST));
    }
    expect(most).toBeLessThanOrEqual(301);
    const ended = pipeline.releaseTls().length;
    expect(pipeline.stats.flowsDropped).toBeGreaterThan(1600);
    expect(ended).toBe(pipeline.stats.flowsDropped);
    pipeline.finish();
    expect(pipeline.releaseTls().length + ended).toBe(2000);
    expect(limits.sessionCosts.used).toBe(0);
  });
});

describe('hostile TLS records waiting for secrets', () => {
  it('a flood of one-byte records on a connection the key log does not cover is charged what it holds, bounded, and given back', () => {
    const budget = new ByteBudget(1024 * 1024);
    const limits = { ...captureLimits(MAX_STR), headBuffers: budget };
    const pipeline = new CapturePipeline(limits, 2, { keyLog: new KeyLog() });
    const conv = new Conversation({ addr: '10.5.0.1', port: 30000 }, { addr: '10.0.0.2', port: 443 }).handshake();
    conv.send('client', handshakeRecords(clientHello('nokey.example', ['http/1.1'], [0x0304]), 16384));
    conv.send('server', record(22, serverHello13()));
    const tiny = Buffer.concat(Array.from({ length: 10_000 }, () => record(23, Buffer.from([0x41]))));
    conv.send('client', tiny, 1400);
    let most = 0;
    for (const { ts, frame } of conv.frames) {
      pipeline.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
      most = Math.max(most, budget.used);
    }
    // At most the 64 KiB a connection may hold waiting, each record charged its object too.
    expect(most).toBeLessThanOrEqual(64 * 1024 + 16 * 1024);
    pipeline.finish();
    expect(pipeline.releaseTls()[0]).toMatchObject({ serverName: 'nokey.example', decrypted: false, bytesToServer: expect.any(Number) });
    expect(pipeline.stats.tlsNoKey).toBe(1);
    expect(budget.used).toBe(0);
  });
});
