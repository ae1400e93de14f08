/**
 * The statistics' keys within their share of the memory budget: long keys are charged beyond
 * their first characters, a spent budget keeps new long keys shortened (counted), and what a
 * summary forgets is given back, so a flood of distinct long keys cannot grow the store.
 */
import * as v8 from 'v8';
import * as vm from 'vm';
import { FREE_KEY_CHARS, KeyBudget } from '../src/stats/keyBudget';
import { SpaceSaving } from '../src/stats/spaceSaving';
import { WindowedTopK, MEDIUM } from '../src/stats/windowedTopK';
import { defaultConfig } from '../src/config';
import { DashboardFilter } from '../widgets/dashboardFilter';
import { httpEvent } from './helpers/events';

const long = (n: number, length = 1000) => `/${n.toString(16)}/${'a'.repeat(length)}`;

describe('the key budget', () => {
  it('charges a key beyond its first characters, two bytes a character, and gives it back', () => {
    const keys = new KeyBudget(10_000);
    expect(keys.admit('/short')).toBe('/short');
    expect(keys.used).toBe(0);
    const key = 'k'.repeat(FREE_KEY_CHARS + 100);
    expect(keys.admit(key)).toBe(key);
    expect(keys.used).toBe(200);
    keys.release(key);
    expect(keys.used).toBe(0);
  });

  it('keeps its own copy of a key cut from a longer string: the string it was cut from can go', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const keys = new KeyBudget(Infinity);
    // Sections (`/s1234-…`, 20 characters: V8 slices strings of 13 or more) cut from 8 KB URIs.
    const build = (count: number) => {
      const kept: string[] = [];
      for (let i = 0; i < count; i++) {
        const uri = `/s${String(i).padStart(6, '0')}-section/${'q'.repeat(8192)}${i}`;
        kept.push(keys.admit(uri.slice(0, 20)));
      }
      return kept;
    };
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept = build(2000);
    gc();
    const held = process.memoryUsage().heapUsed - before;
    expect(kept[1999]).toBe('/s001999-section/qqq');
    // Slices would keep all 2,000 URIs: 16 MB. Copies: ~100 KB.
    expect(held).toBeLessThan(2 * 1024 * 1024);
  });

  it('keeps a long key shortened, counted, once the budget is spent', () => {
    const keys = new KeyBudget(3000);
    const first = long(1);
    expect(keys.admit(first)).toBe(first);
    const second = long(2);
    expect(keys.fits('/short')).toBe(true);
    expect(keys.fits(second)).toBe(false);
    const kept = keys.admit(second);
    expect(kept).toBe(`${second.slice(0, FREE_KEY_CHARS - 1)}…`);
    expect(kept.length).toBe(FREE_KEY_CHARS);
    expect(keys.shortened).toBe(1);
    expect(keys.used).toBeLessThanOrEqual(3000);
    // A shortened key costs nothing to keep or give back.
    keys.release(kept);
    expect(keys.used).toBe(2 * (first.length - FREE_KEY_CHARS));
  });
});

describe('a summary on a key budget', () => {
  it('counts every addition, folding distinct long keys into their shortened rows once the budget is spent', () => {
    const keys = new KeyBudget(20_000);
    const summary = new SpaceSaving(64, false, keys);
    for (let n = 0; n < 1000; n++) summary.add(long(n % 16 === 0 ? 0 : 0x100 + n));
    expect(summary.total).toBe(1000);
    expect(summary.entries().reduce((sum, e) => sum + e.count, 0)).toBe(1000);
    expect(keys.used).toBeLessThanOrEqual(20_000);
    expect(keys.shortened).toBeGreaterThan(0);
    // The distinct keys that share their first characters count as one shortened row.
    const shortened = summary.entries().filter((e) => e.key.endsWith('…'));
    expect(shortened.length).toBeGreaterThan(0);
    expect(shortened.every((e) => e.key.length === FREE_KEY_CHARS)).toBe(true);
    summary.release();
    expect(keys.used).toBe(0);
  });

  it('gives back an evicted key', () => {
    const keys = new KeyBudget(Infinity);
    const summary = new SpaceSaving(4, false, keys);
    for (let n = 0; n < 100; n++) summary.add(long(n));
    const held = summary.entries().reduce((sum, e) => sum + 2 * (e.key.length - FREE_KEY_CHARS), 0);
    expect(keys.used).toBe(held);
  });
});

describe('a windowed top-k on a key budget', () => {
  it('keeps counting a tracked long key under its own row once the budget is spent', () => {
    const keys = new KeyBudget(1300);
    const counter = new WindowedTopK({ bucketSeconds: 10, retentionSeconds: 3600 }, { slice: 8, cumulative: 16, perSecond: 6 }, false, keys);
    const top = `/top/${'a'.repeat(259)}`;
    let t = 1000;
    for (let s = 0; s < 5; s++, t++) {
      for (let i = 0; i < 10; i++) counter.add(top, t + 0.1, 0, false, null);
      counter.closeSecond(t);
    }
    // Other long keys take the rest of the budget; the top key goes on.
    for (let i = 0; i < 3; i++) counter.add(`/other${i}${'b'.repeat(300)}`, t + 0.1, 0, false, null);
    for (let i = 0; i < 10; i++) counter.add(top, t + 0.2, 0, false, null);
    counter.closeSecond(t);
    expect(keys.shortened).toBeGreaterThan(0);
    const all = counter.view('all', t).entries;
    expect(all.find((e) => e.key === top)?.count).toBe(60);
    expect(all.filter((e) => e.key.startsWith('/top/')).length).toBe(1);
    expect(keys.used).toBeLessThanOrEqual(keys.limit);
  });

  it.each([
    ['a flood of them goes straight to the summaries (past perSecond)', 64, 1000],
    ['the second counts them exactly, and closes', 4096, 2000],
  ])('keeps no string that keys were cut from alive when %s', (_how, perSecond, least) => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const keys = new KeyBudget(Infinity);
    const counter = new WindowedTopK({ bucketSeconds: 10, retentionSeconds: 3600 }, { slice: 1024, cumulative: 2048, perSecond }, false, keys);
    gc();
    const before = process.memoryUsage().heapUsed;
    // 2,000 distinct sections in one second, each cut from an 8 KB URI.
    for (let i = 0; i < 2000; i++) {
      const uri = `/s${String(i).padStart(6, '0')}-section/${'q'.repeat(8192)}${i}`;
      counter.add(uri.slice(0, 20), 1000.5, 0, false, null);
    }
    counter.closeSecond(1000);
    gc();
    const held = process.memoryUsage().heapUsed - before;
    expect(counter.view('all', 1000).entries.length).toBeGreaterThanOrEqual(least);
    // The summaries keep copies: slices would keep the URIs, 16 MB.
    expect(held).toBeLessThan(4 * 1024 * 1024);
  });

  it('counts repeats of a shortened key, and of keys between them, each under its row', () => {
    const keys = new KeyBudget(0);
    const counter = new WindowedTopK({ bucketSeconds: 10, retentionSeconds: 3600 }, MEDIUM, false, keys);
    const a = long(1, 200);
    const b = long(2, 200);
    for (const key of [a, a, '/x', a, b, b, '/x', '/x']) counter.add(key, 1000.5, 0, false, null);
    counter.closeSecond(1000);
    const entries = counter.view('all', 1000).entries;
    expect(entries.find((e) => e.key === `${a.slice(0, FREE_KEY_CHARS - 1)}…`)?.count).toBe(3);
    expect(entries.find((e) => e.key === `${b.slice(0, FREE_KEY_CHARS - 1)}…`)?.count).toBe(2);
    expect(entries.find((e) => e.key === '/x')?.count).toBe(3);
    expect(keys.shortened).toBe(5);
  });

  it('never cuts a surrogate pair in half', () => {
    const keys = new KeyBudget(0);
    const key = `${'x'.repeat(FREE_KEY_CHARS - 2)}😀${'y'.repeat(100)}`;
    const kept = keys.admit(key);
    expect(kept).toBe(`${'x'.repeat(FREE_KEY_CHARS - 2)}…`);
  });

  it('holds a flood of distinct long keys within the budget over hours, and keeps short keys whole', () => {
    const keys = new KeyBudget(2 * 1024 * 1024);
    const counter = new WindowedTopK({ bucketSeconds: 10, retentionSeconds: 3 * 3600 }, MEDIUM, true, keys);
    const t0 = 1_700_000_000;
    let n = 0;
    for (let second = 0; second < 4 * 3600; second += 7) {
      for (let i = 0; i < 40; i++) counter.add(long(n++), t0 + second, 100, false, 5);
      counter.add('/health', t0 + second, 10, false, 1);
      counter.closeSecond(t0 + second);
      expect(keys.used).toBeLessThanOrEqual(keys.limit);
    }
    expect(keys.shortened).toBeGreaterThan(0);
    const view = counter.view('5m', t0 + 4 * 3600 - 7);
    // Every addition of the window is counted, under its own key or a shortened one.
    const health = view.entries.find((e) => e.key === '/health')!;
    expect(health.count).toBeGreaterThanOrEqual(Math.floor(300 / 7));
    expect(view.total).toBe(health.count * 41);
  });
});

describe('a filtered view on the run\'s key budget', () => {
  it('gives its keys\' charges back when it is replaced or cleared', () => {
    const keys = new KeyBudget(16 * 1024 * 1024);
    const filter = new DashboardFilter(defaultConfig(), keys);
    // Long URIs (charged past their first 64 characters), some of them open, some in closed seconds.
    filter.observe(Array.from({ length: 300 }, (_, i) => httpEvent(1_700_000_000 + i / 100, { uri: long(i, 500), host: `h${i % 7}` })));
    filter.closeSecond(1_700_000_001);
    expect(keys.used).toBe(0);
    for (let round = 0; round < 20; round++) {
      expect(filter.set(round % 2 === 0 ? 'h1' : '/')).toBeNull();
      expect(keys.used).toBeGreaterThan(0);
    }
    filter.clear();
    expect(keys.used).toBe(0);
  });
});
