import * as v8 from 'v8';
import * as vm from 'vm';
import type { HttpEvent, ProcessOwner } from '../src/types';
import { BYTES_PER_EVENT, RECENT_EVENTS, RecentTransactions, SEGMENT_EVENTS } from '../widgets/recentTransactions';
import { httpEvent } from './helpers/events';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** What the process holds on its heap and in buffers outside it, after a full collection. */
function held(): number {
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const MB = 1024 * 1024;

describe('the dashboard\'s recent transactions', () => {
  it('give back every field as it came, the optional ones only when set, and in the order a transaction lists them', () => {
    const owner: ProcessOwner = { process: 'nginx', pid: 7, user: 'www-data', container: '', commandLine: 'nginx: worker', key: 'nginx' };
    const events: HttpEvent[] = [
      httpEvent(1.5, { status: null, latencyMs: null, ua: '', version: '0.9', dst: '::1', uriTruncated: true }),
      httpEvent(2.25, { method: 'POST', reqBytes: 3, host: 'ünï.example', uri: '/snow/☃/\u{1F600}', requestHeaders: 'Authorization: present, not shown\nAccept: */*' }),
      httpEvent(3, { version: '2', https: true, sni: 'api.example', streamId: 3, responseHeaders: 'content-type: text/html' }),
      httpEvent(4, { version: '2', streamId: 5, grpcMethod: 'shop.Cart/Add', grpcStatus: 5, grpcMessage: 'gone', grpcRequestMessages: 1, grpcResponseMessages: 0 }),
      httpEvent(5, { version: '2', streamId: 7, status: null, grpcMethod: 'shop.Cart/Get', grpcStatus: null, grpcMessage: '', grpcRequestMessages: 1, grpcResponseMessages: 0 }),
      httpEvent(6, { node: 'edge-1', owner }),
      // Numbers past their columns (a merged stream's fields are only checked to be numbers).
      httpEvent(7, { sport: 70_000, dport: -1, status: 65_535, streamId: 2 ** 33 }),
      httpEvent(7.5, { status: 65_535 }),
      httpEvent(7.75, { status: 0, sport: 0, dport: 65_535, streamId: 0 }),
      httpEvent(8, { status: 200.5, reqBytes: 2 ** 40, latencyMs: 0.001 }),
      httpEvent(9, { respBytes: 2 ** 32 }),
      httpEvent(10, { reqBytes: 1.5, respBytes: 2 ** 32 - 1 }),
      httpEvent(11, { https: true, sni: 'b.example', node: 'edge-2' }),
    ];
    const recent = new RecentTransactions(8 * MB);
    recent.add(events.slice(0, 3));
    recent.add(events.slice(3));
    const recalled = recent.events();
    expect(recalled.map((e) => ({ ...e }))).toStrictEqual(events);
    expect(recalled.map((e) => Object.keys(e))).toEqual(events.map((e) => Object.keys(e)));
    expect(recalled[5].owner).toBe(owner);
  });

  it(`keep the last ${RECENT_EVENTS} in order, whatever the batches`, () => {
    const recent = new RecentTransactions(64 * MB);
    expect(recent.events()).toEqual([]);
    recent.add([]);
    let ts = 0;
    for (const size of [1, 999, SEGMENT_EVENTS, 3, 20_000, 17, 40_000]) {
      recent.add(Array.from({ length: size }, () => httpEvent(ts++, { uri: `/item/${ts % 97}` })));
    }
    const recalled = recent.events();
    expect(recalled).toHaveLength(RECENT_EVENTS);
    expect(recalled[0].ts).toBe(ts - RECENT_EVENTS);
    expect(recalled.every((e, i) => e.ts === ts - RECENT_EVENTS + i && e.uri === `/item/${(e.ts + 1) % 97}`)).toBe(true);
  });

  it('hold 50,000 transactions in ~59 bytes each beside their strings (encoded batches took ~160)', () => {
    const before = held();
    const recent = new RecentTransactions(64 * MB);
    for (let b = 0; b < 100; b++) recent.add(Array.from({ length: 600 }, (_, i) => httpEvent(b * 600 + i, { sport: 1024 + (i % 64) })));
    const growth = held() - before;
    expect(recent.events()).toHaveLength(RECENT_EVENTS);
    expect(BYTES_PER_EVENT).toBe(59);
    expect(growth).toBeLessThan(4 * MB);
    expect(recent.size).toBeLessThan(4 * MB);
  });

  it.each([
    // The default budget's share, and the smallest budget's (memory_budget_mb 16); each from empty, and after ordinary traffic (grown segments to reuse).
    [8 * MB, 600, 0],
    [0.8 * MB, 50, 0],
    [8 * MB, 600, 60_000],
    [0.8 * MB, 50, 60_000],
  ])('stay within %d bytes under distinct 3 KB strings, keeping the newest (at least %d, after %d ordinary)', (maxBytes, least, ordinary) => {
    const before = held();
    const recent = new RecentTransactions(maxBytes);
    recent.add(Array.from({ length: ordinary }, (_, i) => httpEvent(i - ordinary)));
    let peak = 0;
    for (let b = 0; b < 40; b++) {
      recent.add(Array.from({ length: 500 }, (_, i) => httpEvent(b * 500 + i, { uri: `/${b}/${i}/${'u'.repeat(3000)}`, ua: `${i}${'a'.repeat(3000)}` })));
      peak = Math.max(peak, recent.size);
    }
    // The bound, and less than one segment more (a segment closes once its strings take an eighth of it).
    expect(peak).toBeLessThan(maxBytes + maxBytes / 8 + 2 * 12_064 + SEGMENT_EVENTS * BYTES_PER_EVENT);
    expect(held() - before).toBeLessThan(2 * maxBytes);
    const recalled = recent.events();
    // What their strings alone allow (two strings of 3 KB, charged two bytes a character): a segment's columns take little of it.
    expect(recalled.length).toBeLessThan((maxBytes * 1.25) / 12_000);
    expect(recalled.length).toBeGreaterThan(least);
    expect(recalled[recalled.length - 1].ts).toBe(19_999);
  });

  it('keep copies of strings cut from longer ones, not the longer ones', () => {
    const recent = new RecentTransactions(64 * MB);
    const before = held();
    for (let b = 0; b < 200; b++) {
      // A section and a URI cut from a 256 KB text each (V8 makes them slices that keep it alive).
      const whole = `/${b}/`.padEnd(256 * 1024, 'x');
      recent.add([httpEvent(b, { uri: whole.slice(0, 40), section: whole.slice(0, 30), ua: whole.slice(1, 20) })]);
    }
    expect(held() - before).toBeLessThan(8 * MB);
    expect(recent.events()[199].uri).toBe('/199/'.padEnd(40, 'x'));
  });
});
