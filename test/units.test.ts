/** Small pure pieces: strings from the wire, URIs, heavy hitters, event batches, config. */
import * as fs from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { SMALL, WindowedTopK } from '../src/stats/windowedTopK';
import { BatchDecoder, BatchEncoder, type EncodedBatch } from '../src/capture/eventBatch';
import { formatIpv6 } from '../src/capture/decode';
import { validateConfig, defaultConfig, configSchema } from '../src/config';
import { loadConfig } from '../src/settings';
import { HeadParser, CONTENT_LENGTH_INVALID } from '../src/http/h1/head';
import { indexOfByte } from '../src/http/h1/lines';
import { boundedText, escapeControls, TextCache } from '../src/protocol/sanitize';
import { hostWithoutPort, sectionOf } from '../src/http/uri';
import { ClientResolver } from '../src/http/clientAddress';
import { RouteTemplater } from '../src/http/route';
import { eventLine, lineFields } from '../src/sinks/ndjson';
import { SpaceSaving } from '../src/stats/spaceSaving';
import { seededRandom } from '../src/capture/sources/demo/traffic';
import { dropPrivileges, lookUpUser } from '../src/platform/privileges';
import { CONNECTION_COST, captureLimits } from '../src/capture/limits';
import { BUDGET_SHARES, budgetForHeap, budgetShare, captureHeapLimitMb, DEFAULT_MEMORY_BUDGET_MB, MIN_MEMORY_BUDGET_MB } from '../src/memoryBudget';
import type { HttpEvent } from '../src/types';
import { tempDir } from './helpers/conversation';

describe('strings from the wire', () => {
  it('escapes C0, DEL, C1 and bidi controls', () => {
    expect(escapeControls('a\x1b[31mb\x7f\u009b\u202ec')).toBe('a\\x1b[31mb\\x7f\\x9b\\u202ec');
  });
  it('bounds by bytes and decodes UTF-8 when not plain ASCII', () => {
    expect(boundedText(Buffer.from('abcdef'), 0, 6, 3)).toBe('abc');
    expect(boundedText(Buffer.from('héllo'), 0, 6, 100)).toBe('héllo');
    expect(boundedText(Buffer.from('a\tb'), 0, 3, 100)).toBe('a\\x09b');
  });
  it('keeps the bound after escaping: 1 KB of control bytes stays 1 KB of text', () => {
    const hostile = Buffer.concat([Buffer.alloc(1024, 0x1b), Buffer.from('☃')]);
    const text = boundedText(hostile, 0, hostile.length, 1024);
    expect(text.length).toBeLessThanOrEqual(1024);
    expect(text.startsWith('\\x1b\\x1b')).toBe(true);
    expect(text).not.toMatch(/[\u0000-\u001f]/);
    // Never half of a surrogate pair at the cut.
    const emoji = Buffer.from('\x01' + '😀'.repeat(10));
    const cut = boundedText(emoji, 0, emoji.length, 9);
    expect(cut.length).toBeLessThanOrEqual(9);
    expect(/[\ud800-\udbff]$/.test(cut)).toBe(false);
  });
});

describe('the cache of repeated header values', () => {
  const at = (text: string): [Buffer, number, number] => {
    const buf = Buffer.from(`Name: ${text}\r\n`, 'latin1');
    return [buf, 6, 6 + text.length];
  };

  it('gives the same bytes back as the same string, wherever they are', () => {
    const cache = new TextCache();
    const first = cache.ascii(...at('api.example.com'));
    expect(first).toBe('api.example.com');
    const [buf] = at('api.example.com');
    const again = cache.ascii(Buffer.concat([Buffer.from('xx'), buf]), 8, 8 + 'api.example.com'.length);
    expect(again).toBe(first);
    expect(cache.ascii(...at(''))).toBe('');
  });

  it('tells long values apart that differ only where the hash does not look, and keeps both', () => {
    const cache = new TextCache();
    const agent = (version: number) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/12${version}.0 Safari/537.36`;
    const values = [0, 1, 2, 3, 4, 5].map(agent);
    for (let round = 0; round < 3; round++) {
      for (const value of values) expect(cache.ascii(...at(value))).toBe(value);
    }
  });

  it('refuses what is not printable ASCII, even after the same printable bytes were kept', () => {
    const cache = new TextCache();
    expect(cache.ascii(...at('curl/8.5.0'))).toBe('curl/8.5.0');
    expect(cache.ascii(...at('curl/8.5.\x1b'))).toBeNull();
    expect(cache.ascii(...at('caf\xe9'))).toBeNull();
    expect(boundedText(...at('curl/8.5.\x1b'), 100, cache)).toBe('curl/8.5.\\x1b');
  });
});

describe('sections and hosts', () => {
  it.each([
    ['/pages/create', '/pages'], ['/', '/'], ['', '/'], ['/pages', '/pages'], ['/pages?x=1', '/pages'],
    ['http://h.example/a/b', '/a'], ['http://h.example', '/'], ['*', '*'], ['host:443', 'host:443'], ['//double', '/'],
  ])('section of %j is %j', (uri, section) => expect(sectionOf(uri)).toBe(section));
  it.each([['Example.COM:8080', 'example.com'], ['[::1]:80', '[::1]'], ['10.0.0.1', '10.0.0.1'], ['::1', '::1']])('host of %j is %j', (host, bare) => {
    expect(hostWithoutPort(host)).toBe(bare);
  });

  // A capture on the main thread hands these to the statistics as they are: a piece that shared
  // its long string's storage would keep it alive wherever it is kept.
  it.each([
    ['a section', (i: number) => sectionOf(`/s${String(i).padStart(6, '0')}-section/${'q'.repeat(8192)}`)],
    ['a host', (i: number) => hostWithoutPort(`h${String(i).padStart(6, '0')}.example.com:${'8'.repeat(8192)}`)],
    ['a client', (i: number) => new ClientResolver(['10.0.0.0/8']).client('10.0.0.1', `192.168.${i >> 8}.${i & 255}:${'9'.repeat(8192)}, 10.1.1.1`)],
    ['a route', (i: number) => new RouteTemplater().route(`/r${String(i).padStart(6, '0')}-route/x?${'q'.repeat(8192)}`)],
  ])('%s cut from a long string owns its storage', (_, cut) => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept = Array.from({ length: 1000 }, (_, i) => cut(i));
    gc();
    expect(kept[999].length).toBeGreaterThanOrEqual(13);
    // 1,000 pieces of 8 KB strings: 8 MB if they shared them.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(2 * 1024 * 1024);
  });
});

describe('message heads', () => {
  const heads = new HeadParser({ maxStrLength: 1024, maxHeaders: 100 });
  const parse = (text: string) => heads.parse(Buffer.from(text, 'latin1'), 0, text.length);
  it('reads the fields wiretop keeps', () => {
    expect(parse('POST /a?b HTTP/1.1\r\nHOST: Ex.com\r\nuser-agent: ua/1\r\nContent-Length: 007\r\n\r\n')).toMatchObject({
      isRequest: true, method: 'POST', uri: '/a?b', version: '1.1', host: 'Ex.com', ua: 'ua/1', contentLength: 7, chunked: false,
    });
  });
  it('treats conflicting, negative or huge Content-Length as invalid', () => {
    expect(parse('GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n')!.contentLength).toBe(CONTENT_LENGTH_INVALID);
    expect(parse('GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n')!.contentLength).toBe(CONTENT_LENGTH_INVALID);
    expect(parse('GET / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n')!.contentLength).toBe(CONTENT_LENGTH_INVALID);
  });
  it('takes chunked from the last coding, across folded lines', () => {
    expect(parse('POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n')!.chunked).toBe(true);
    expect(parse('POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n')!.chunked).toBe(false);
    expect(parse('POST / HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n')!.chunked).toBe(true);
  });
  it('reads status lines, and refuses what is not HTTP', () => {
    expect(parse('HTTP/1.0 404 Not Found\r\n\r\n')).toMatchObject({ isRequest: false, status: 404, version: '1.0', close: true });
    expect(parse('HTTP/1.1 20 short\r\n\r\n')).toBeNull();
    expect(parse('\x16\x03\x01 hello\r\n\r\n')).toBeNull();
    expect(parse('HELLO there\r\n\r\n')).toBeNull();
  });
  it('keeps the headers of the detail under their written names', () => {
    const head = parse('GET / HTTP/1.1\r\nx-amzn-trace-id: Root=1-abc\r\ncontent-type: text/plain\r\nX-Correlation-Id: c1\r\nX-Unknown: u\r\n\r\n');
    expect(head!.kept.split('\n')).toEqual(['X-Amzn-Trace-Id: Root=1-abc', 'Content-Type: text/plain', 'X-Correlation-Id: c1']);
  });
  it('names the protocol an Upgrade asks for: the first of the list, lower-cased, bounded', () => {
    expect(parse('GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n\r\n')).toMatchObject({ upgrade: true, upgradeProtocol: 'websocket' });
    expect(parse('GET / HTTP/1.1\r\nUpgrade: HTTP/2.0, SHTTP/1.3\r\nUpgrade: h2c\r\n\r\n')).toMatchObject({ upgrade: false, upgradeProtocol: 'http/2.0' });
    expect(parse(`GET / HTTP/1.1\r\nUpgrade: ${'x'.repeat(500)}\r\n\r\n`)!.upgradeProtocol).toHaveLength(64);
    expect(parse('GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n')!.upgradeProtocol).toBe('');
  });
  it('finds a byte within its bounds, near or past the span it looks at itself', () => {
    const buf = Buffer.from(`ab\n${'x'.repeat(600)}\nyz`, 'latin1');
    expect(indexOfByte(buf, 0x0a, 0, buf.length)).toBe(2);
    expect(indexOfByte(buf, 0x0a, 3, buf.length)).toBe(603);
    expect(indexOfByte(buf, 0x0a, 3, 603)).toBe(-1);
    expect(indexOfByte(buf, 0x0a, 3, 604)).toBe(603);
    expect(indexOfByte(buf, 0x0a, 300, 250)).toBe(-1);
    expect(indexOfByte(buf, 0x7a, 0, buf.length)).toBe(buf.length - 1);
    expect(indexOfByte(buf, 0x7a, 0, buf.length - 1)).toBe(-1);
  });
  it('reads a header line longer than the part of a line searched byte by byte', () => {
    const ua = `agent/${'u'.repeat(700)}`;
    expect(parse(`GET / HTTP/1.1\r\nUser-Agent: ${ua}\r\nHost: h\r\n\r\n`)).toMatchObject({ ua, host: 'h' });
  });
  it('never reads Authorization or Cookie', () => {
    const head = parse('GET / HTTP/1.1\r\nAuthorization: Basic c2VjcmV0\r\nCookie: s=secret\r\n\r\n');
    expect(JSON.stringify(head)).not.toMatch(/secret|c2VjcmV0/);
  });
});

describe('SpaceSaving', () => {
  it('is exact while keys fit, and ranks by count', () => {
    const counter = new SpaceSaving(10);
    for (const [key, n] of [['a', 5], ['b', 3], ['c', 9]] as const) for (let i = 0; i < n; i++) counter.add(key, 1, 10);
    expect(counter.top(2)).toEqual([
      { key: 'c', count: 9, overcount: 0, bytes: 90, errors: 0, latency: null },
      { key: 'a', count: 5, overcount: 0, bytes: 50, errors: 0, latency: null },
    ]);
  });
  it('keeps the heavy hitters of a flood of distinct keys in bounded memory, within its error bound', () => {
    const random = seededRandom(1);
    const counter = new SpaceSaving(100);
    const exact = new Map<string, number>();
    for (let i = 0; i < 200_000; i++) {
      // Ten heavy keys take half the traffic; the rest is noise of 50,000 distinct keys.
      const key = random() < 0.5 ? `hot${Math.floor(random() * 10)}` : `noise${Math.floor(random() * 50_000)}`;
      counter.add(key);
      exact.set(key, (exact.get(key) ?? 0) + 1);
    }
    expect(counter.size).toBe(100);
    const top = counter.top(10);
    expect(top.map((h) => h.key).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `hot${i}`).sort());
    for (const h of top) {
      const truth = exact.get(h.key)!;
      expect(h.count).toBeGreaterThanOrEqual(truth);
      expect(h.count - h.overcount).toBeLessThanOrEqual(truth);
      expect(h.overcount).toBeLessThanOrEqual(200_000 / 100);
    }
  });
});

describe('WindowedTopK', () => {
  it('counts runs of one key, keys that alternate, and a key across a closed second exactly', () => {
    const counter = new WindowedTopK({ bucketSeconds: 10, retentionSeconds: 3600 }, SMALL, true);
    const exact = new Map<string, [number, number]>();
    const random = seededRandom(3);
    const t0 = 1_700_000_000;
    for (let second = 0; second < 40; second++) {
      for (let i = 0; i < 60; i++) {
        // Each second starts with the key the last one ended with.
        const key = i < 5 || i >= 55 || i % 10 < 7 ? 'GET' : random() < 0.5 ? 'POST' : `K${i % 3}`;
        const bytes = Math.floor(random() * 100);
        counter.add(key, t0 + second + i / 60, bytes, i % 13 === 0, 1 + i);
        const [count, sum] = exact.get(key) ?? [0, 0];
        exact.set(key, [count + 1, sum + bytes]);
      }
      counter.closeSecond(t0 + second);
    }
    const view = counter.view('all', t0 + 39);
    expect(view.approximate).toBe(false);
    expect(new Map(view.entries.map((e) => [e.key, [e.count, e.bytes]]))).toEqual(exact);
    expect(view.entries.find((e) => e.key === 'GET')!.latency!.total).toBe(exact.get('GET')![0]);
  });

  it('counts a key exactly in each of two open seconds when their events interleave', () => {
    const counter = new WindowedTopK({ bucketSeconds: 1, retentionSeconds: 3600 }, SMALL, false);
    const t0 = 1_700_000_000;
    // Late packets of second 0 among those of second 1, with the same key: each goes to its own second.
    for (let i = 0; i < 30; i++) counter.add('GET', i % 3 === 0 ? t0 + 0.5 : t0 + 1.5, 1, false, null);
    counter.closeSecond(t0);
    expect(counter.view('all', t0).entries.map((e) => [e.key, e.count])).toEqual([['GET', 10]]);
    for (let i = 0; i < 5; i++) counter.add('GET', t0 + 1.7, 1, false, null);
    counter.closeSecond(t0 + 1);
    expect(counter.view('all', t0 + 1).entries.map((e) => [e.key, e.count])).toEqual([['GET', 35]]);
  });

  it('counts a key in its own second after a full second turned another key away', () => {
    // perSecond 2: the third key of a second skips the exact stage (and is never a shortcut's key).
    const counter = new WindowedTopK({ bucketSeconds: 1, retentionSeconds: 3600 }, { slice: 8, cumulative: 16, perSecond: 2 }, false);
    const t0 = 1_700_000_000;
    counter.add('a', t0 + 1.1, 1, false, null);
    counter.add('b', t0 + 1.2, 1, false, null);
    counter.add('GET', t0 + 0.5, 1, false, null);
    counter.add('z', t0 + 1.3, 1, false, null);
    counter.add('GET', t0 + 1.4, 1, false, null);
    counter.closeSecond(t0);
    // The closed second holds its one GET: the second GET was at t0 + 1, whatever came between.
    expect(counter.view('recent', t0).entries.map((e) => [e.key, e.count])).toEqual([['GET', 1]]);
    counter.closeSecond(t0 + 1);
    expect(new Map(counter.view('all', t0 + 1).entries.map((e) => [e.key, e.count]))).toEqual(new Map([['GET', 2], ['a', 1], ['b', 1], ['z', 1]]));
  });
});

describe('event batches', () => {
  const sample: HttpEvent = { ts: 1, src: '10.0.0.1', sport: 1, dst: '10.0.0.2', dport: 80, method: 'GET', host: 'h', uri: '/', section: '/', status: 200, reqBytes: 0, respBytes: 0, ua: 'u', latencyMs: 1, version: '1.1', route: '/', client: '10.0.0.1', uriTruncated: false, requestHeaders: '', responseHeaders: '' };
  const encodeEvents = (events: readonly HttpEvent[]): EncodedBatch => new BatchEncoder().encode(events);
  /** A batch of a fresh encoder, decoded by a fresh decoder. */
  const decodeEvents = (batch: EncodedBatch): HttpEvent[] => new BatchDecoder().decode(batch);

  it('round-trip every field, nulls included', () => {
    const events: HttpEvent[] = [
      { ts: 1.5, src: '10.0.0.1', sport: 1, dst: '::1', dport: 80, method: 'GET', host: 'h', uri: '/a', section: '/a', status: null, reqBytes: 0, respBytes: 5, ua: '', latencyMs: null, version: '0.9', route: '/', client: '10.0.0.1', uriTruncated: false, requestHeaders: '', responseHeaders: '' },
      { ts: 2.25, src: '10.0.0.2', sport: 2, dst: '10.0.0.3', dport: 8080, method: 'POST', host: 'h', uri: '', section: '/', status: 201, reqBytes: 3, respBytes: 0, ua: 'x\\x00y', latencyMs: 1.5, version: '1.1', route: '/', client: '10.0.0.1', uriTruncated: false, requestHeaders: '', responseHeaders: '' },
    ];
    expect(decodeEvents(encodeEvents(events))).toEqual(events);
    expect(decodeEvents(encodeEvents([]))).toEqual([]);
  });

  it('decode to events that list their fields as the literal did, the optional ones only when set', () => {
    const h2: HttpEvent = { ...sample, version: '2', https: true, streamId: 3 };
    const grpc: HttpEvent = { ...h2, streamId: 5, grpcMethod: 'shop.Cart/Add', grpcStatus: 5, grpcMessage: 'gone', grpcRequestMessages: 1, grpcResponseMessages: 0 };
    const unanswered: HttpEvent = { ...h2, streamId: 7, status: null, grpcMethod: 'shop.Cart/Get', grpcStatus: null, grpcMessage: '', grpcRequestMessages: 1, grpcResponseMessages: 0 };
    const events = [sample, h2, grpc, unanswered];
    const decoded = decodeEvents(encodeEvents(events));
    expect(decoded.map((e) => Object.keys(e))).toEqual(events.map((e) => Object.keys(e)));
    expect(JSON.stringify(decoded)).toBe(JSON.stringify(events));
    expect(decoded.map((e) => ({ ...e }))).toStrictEqual(events);
  });

  it('encode the next batch whole after one that failed midway (a loop keeps one encoder)', () => {
    const encoder = new BatchEncoder();
    const broken = { ...sample, uri: '/before' } as Partial<HttpEvent>;
    delete broken.ua;
    expect(() => encoder.encode([{ ...sample, uri: '/kept' }, broken as HttpEvent])).toThrow();
    const next = [{ ...sample, uri: '/next', ua: 'next-agent' }];
    const batch = encoder.encode(next);
    // Its own strings alone: src (= client), dst, method, host, uri, section (= route), ua, version, ''.
    expect(batch.strings).toBe(9);
    // What the failed batch began to keep never reached a decoder: this one starts over.
    expect(batch.fresh).toBe(true);
    // A decoder that kept strings of earlier batches forgets them.
    const decoder = new BatchDecoder();
    const earlier = new BatchEncoder();
    decoder.decode(earlier.encode([{ ...sample, uri: '/earlier', ua: 'earlier-agent' }]));
    expect(decoder.decode(batch)).toEqual(next);
    expect(decoder.decode(encoder.encode(next))).toEqual(next);
  });

  it('carry each distinct string once, any Unicode intact, with one encoder reused across batches', () => {
    const base: HttpEvent = { ts: 1, src: '10.0.0.1', sport: 1, dst: '10.0.0.2', dport: 80, method: 'GET', host: 'ünï.example', uri: '/snow/☃/\u{1F600}', section: '/snow', status: 200, reqBytes: 0, respBytes: 1, ua: 'agent é', latencyMs: 2, version: '1.1', route: '/', client: '10.0.0.1', uriTruncated: false, requestHeaders: '', responseHeaders: '' };
    const events = Array.from({ length: 100 }, (_, i) => ({ ...base, ts: i, sport: i }));
    const encoder = new BatchEncoder();
    const decoder = new BatchDecoder();
    const first = encoder.encode(events);
    // src (= client), dst, method, host, uri, section, ua, version, route, '' (both headers): 10 distinct strings for 100 events.
    expect(first.strings).toBe(10);
    const firstDecoded = decoder.decode(first);
    expect(firstDecoded).toEqual(events);
    const second = encoder.encode([{ ...base, uri: '/other', section: '/other' }]);
    // Only what the first batch did not carry: '/other', the request target (carried by each batch that has it) and the section.
    expect(second.strings).toBe(1);
    const secondDecoded = decoder.decode(second);
    expect(secondDecoded).toEqual([{ ...base, uri: '/other', section: '/other' }]);
    // The values of the first batch come back as the very strings the decoder made for it.
    expect(secondDecoded[0].ua).toBe(firstDecoded[0].ua);
    expect(secondDecoded[0].src).toBe(firstDecoded[0].src);
    expect(secondDecoded[0].client).toBe(secondDecoded[0].src);
    // A long string grows the encoder's buffer.
    const long = { ...base, uri: '/' + 'x'.repeat(600_000), ua: 'u'.repeat(300) };
    expect(decoder.decode(encoder.encode([long]))).toEqual([long]);
    expect(decoder.decode(encoder.encode([long]))).toEqual([long]);
  });

  it('carry a client other than the peer as a string of its own', () => {
    const proxied: HttpEvent = { ...sample, client: '203.0.113.9' };
    const batch = new BatchEncoder().encode([sample, proxied]);
    // src, dst, method, host, uri (= section, route), ua, version, '', and the proxied client.
    expect(batch.strings).toBe(9);
    expect(new BatchDecoder().decode(batch)).toEqual([sample, proxied]);
  });

  it('keep what repeats, not the request target nor long values, and a target that is a section comes kept', () => {
    const encoder = new BatchEncoder();
    const decoder = new BatchDecoder();
    const event: HttpEvent = { ...sample, uri: '/health', section: '/health', route: '/health', ua: 'a'.repeat(300) };
    const first = decoder.decode(encoder.encode([event]));
    const again = encoder.encode([event]);
    // Each batch carries the 300-character agent again; the target, as the section's, comes kept.
    expect(again.strings).toBe(1);
    const second = decoder.decode(again);
    expect(second).toEqual([event]);
    expect(second[0].uri).toBe(first[0].uri);
    const other = encoder.encode([{ ...event, uri: '/health?x=1', ua: 'u' }]);
    // The new agent and the target; the next batch carries the target alone (never kept).
    expect(other.strings).toBe(2);
    decoder.decode(other);
    expect(encoder.encode([{ ...event, uri: '/health?x=1', ua: 'u' }]).strings).toBe(1);
  });

  it('start keeping strings anew, on both sides, once the kept ones are full', () => {
    const encoder = new BatchEncoder();
    const decoder = new BatchDecoder();
    const fresh: boolean[] = [];
    // 12,000 distinct clients, 100 a batch: the kept strings fill (4,096) and start over.
    for (let b = 0; b < 120; b++) {
      const events = Array.from({ length: 100 }, (_, i) => ({ ...sample, client: `10.${b}.${i}.1`, src: `10.${b}.${i}.1`, uri: `/${b}/${i}` }));
      const batch = encoder.encode(events);
      fresh.push(batch.fresh);
      expect(decoder.decode(batch)).toEqual(events);
    }
    expect(fresh.filter(Boolean).length).toBeGreaterThanOrEqual(2);
    expect(fresh[0]).toBe(false);
  });

  it('decode strings that own their memory: a kept URI does not keep its batch alive', () => {
    // V8 keeps a whole parent string alive behind a "sliced" piece of it: had batches been one
    // joined string split on arrival, the 400 URIs kept here would pin ~9 MB of batches.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const kept: string[] = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let b = 0; b < 400; b++) {
      const events = Array.from({ length: 512 }, (_, i) => ({ ...sample, uri: `/batch/${b}/item/${i}/with-a-longer-tail` }));
      kept.push(decodeEvents(encodeEvents(events))[b % 512].uri);
    }
    gc();
    expect(kept).toHaveLength(400);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(3 * 1024 * 1024);
  });
});

describe('decode helpers', () => {
  it('formats IPv6 addresses per RFC 5952', () => {
    const buf = Buffer.alloc(16);
    buf.writeUInt16BE(0x2001, 0);
    buf.writeUInt16BE(0xdb8, 2);
    buf.writeUInt16BE(1, 14);
    expect(formatIpv6(buf, 0)).toBe('2001:db8::1');
    expect(formatIpv6(Buffer.alloc(16), 0)).toBe('::');
  });
});

describe('config', () => {
  const dir = tempDir();
  it('has a schema entry for every default and nothing else', () => {
    expect(Object.keys(configSchema()).sort()).toEqual(Object.keys(defaultConfig()).sort());
    expect(() => validateConfig(defaultConfig() as unknown as Record<string, unknown>, 'defaults')).not.toThrow();
  });
  it('layers defaults, file and flags', () => {
    const file = path.join(dir, 'ok.json');
    fs.writeFileSync(file, JSON.stringify({ average_threshold: 20, max_top_hits: 5 }));
    expect(loadConfig(file, { max_top_hits: 7 })).toMatchObject({ average_threshold: 20, max_top_hits: 7, timeout: 2 });
  });
  it.each([
    [{ nope: 1 }, /unknown key "nope"/],
    [{ max_top_hits: 'ten' }, /"max_top_hits" must be a number/],
    [{ max_top_hits: 2.5 }, /"max_top_hits" must be a whole number/],
    [{ refresh: 0 }, /"refresh" is 0, out of range/],
    [{ plugins: [1] }, /"plugins" must be a list of strings/],
    [{ timeout: null }, /"timeout" must not be null/],
  ])('refuses %j', (values, message) => {
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify(values));
    expect(() => loadConfig(file, {})).toThrow(message);
  });
  it('refuses a file that is not JSON, and never quotes it', () => {
    const file = path.join(dir, 'broken.json');
    fs.writeFileSync(file, 'root:$6$secrethash:19000:0:99999:7:::\n');
    expect(() => loadConfig(file, {})).toThrow(/broken\.json: not valid JSON$/);
    fs.writeFileSync(file, JSON.stringify({ max_top_hits: 'root:$6$secrethash' }));
    expect(() => loadConfig(file, {})).toThrow(/must be a number, not a string$/);
  });
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('takes "%s" for the unknown key it is', (key) => {
    const file = path.join(dir, 'proto.json');
    fs.writeFileSync(file, `{"${key}": {"max_top_hits": 1}}`);
    expect(() => loadConfig(file, {})).toThrow(new RegExp(`unknown key "${key}"`));
  });
  it("finds a config file's plug-ins beside the file, whatever the current directory", () => {
    const sub = path.join(dir, 'etc');
    fs.mkdirSync(sub, { recursive: true });
    const file = path.join(sub, 'wiretop.json');
    fs.writeFileSync(file, JSON.stringify({ plugins: ['plugins/mine.js', '/abs/other.js'] }));
    expect(loadConfig(file, {}).plugins).toEqual([path.join(sub, 'plugins/mine.js'), '/abs/other.js']);
    // Flags add theirs as given (relative to where the command runs).
    expect(loadConfig(file, { plugins: ['x.js'] }).plugins).toEqual(['x.js']);
  });
});

describe('memory budget', () => {
  it('fits the budget to a heap limit: half of it at most, never below the minimum', () => {
    expect(budgetForHeap(160, 4144)).toBe(160);
    expect(budgetForHeap(160, 212)).toBe(106);
    expect(budgetForHeap(100, 212)).toBe(100);
    expect(budgetForHeap(160, 20)).toBe(MIN_MEMORY_BUDGET_MB);
    // The capture thread's heap: the budget, with a floor for the runtime.
    expect(captureHeapLimitMb(160)).toBe(160);
    expect(captureHeapLimitMb(16)).toBe(64);
  });

  it('shares memory_budget_mb out between the growing buffers', () => {
    const limits = captureLimits(1024, 100);
    const mb = 1024 * 1024;
    expect(limits.maxBufferedBytes).toBe(20 * mb);
    expect(limits.headBuffers.limit).toBe(12.5 * mb);
    expect(limits.pendingRequests.limit).toBe(10 * mb);
    expect(limits.maxHeldBytes).toBe(5 * mb);
    expect(limits.maxBytesInFlight).toBe(5 * mb);
    expect(limits.maxFlows).toBe(Math.floor(22.5 * mb / CONNECTION_COST));
    expect(budgetShare(100, 'recentTransactions')).toBe(5 * mb);
    expect(budgetShare(100, 'statistics')).toBe(10 * mb);
    // The parts add up to the budget but a tenth, left for garbage not yet collected.
    expect(Object.values(BUDGET_SHARES).reduce((a, b) => a + b, 0)).toBeCloseTo(0.9, 10);
    expect(captureLimits(1024).maxBufferedBytes).toBe(Math.floor(0.2 * DEFAULT_MEMORY_BUDGET_MB * mb));
    expect(() => validateConfig({ memory_budget_mb: 4 }, 'test')).toThrow(/out of range 16\.\.65536/);
  });
});

describe('privileges', () => {
  it('finds the account to become by name or uid in the password file', () => {
    const file = path.join(tempDir(), 'passwd');
    fs.writeFileSync(file, 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nbroken line\n');
    expect(lookUpUser('nobody', file)).toEqual({ uid: 65534, gid: 65534 });
    expect(lookUpUser('65534', file)).toEqual({ uid: 65534, gid: 65534 });
    expect(lookUpUser('mallory', file)).toBeNull();
    expect(lookUpUser('nobody', '/nonexistent/passwd')).toBeNull();
  });
  it('keeps root when asked, and does nothing when not root', () => {
    expect(dropPrivileges('root')).toBeNull();
    if (process.getuid?.() !== 0) expect(dropPrivileges('nobody')).toBeNull();
  });
});

describe('ndjson lines', () => {
  it('are JSON.stringify of the event, nulls, quotes and Unicode included', () => {
    const events: HttpEvent[] = [
      { ts: 1700000000.123456, src: '10.0.0.1', sport: 1, dst: '::1', dport: 80, method: 'GET', host: 'h"q', uri: '/a\\b?c="d"', section: '/a\\b', status: null, reqBytes: 0, respBytes: 5, ua: 'ü ☃ \\u{1F600}', latencyMs: null, version: '0.9', route: '/', client: '10.0.0.1', uriTruncated: false, requestHeaders: '', responseHeaders: '' },
      { ts: 2.25, src: '10.0.0.2', sport: 2, dst: '10.0.0.3', dport: 8080, method: 'POST', host: 'h', uri: '', section: '/', status: 201, reqBytes: 3, respBytes: 0, ua: 'x\\\\x00y', latencyMs: 1.5, version: '1.1', route: '/', client: '10.0.0.1', uriTruncated: false, requestHeaders: '', responseHeaders: '' },
    ];
    events.push({ ...events[0], uri: '/cut', uriTruncated: true, route: '/cut', requestHeaders: 'Cookie: present, not shown' });
    for (const event of events) expect(eventLine(event)).toBe(JSON.stringify(lineFields(event)) + '\n');
    expect(JSON.parse(eventLine(events[2]))).toMatchObject({ route: '/cut', client: '10.0.0.1', uriTruncated: true });
    expect(eventLine(events[2])).not.toMatch(/Cookie/);
  });
});
