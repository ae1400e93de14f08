/** The statistics store: windows, retention, bounded memory, drill-down, plug-ins. */
import * as fs from 'fs';
import * as path from 'path';
import { defaultConfig, type Config } from '../src/config';
import { KEY_SEPARATOR, statusClasses } from '../src/stats/classify';
import { loadPlugins } from '../src/stats/plugins';
import { StatsStore } from '../src/stats/store';
import { pairKeys } from '../src/stats/builtins';
import { TopModule } from '../src/stats/topModule';
import { RateSeries } from '../src/stats/rateSeries';
import { seededRandom } from '../src/capture/sources/demo/traffic';
import { RunState } from '../src/run/runState';
import type { StatModule } from '../src/stats/statModule';
import { ReportSink } from '../src/sinks/report';
import { TextSink } from '../src/sinks/text';
import type { HttpEvent } from '../src/types';
import { tempDir } from './helpers/conversation';
import { repoRoot } from './helpers/corpus';

const T0 = 1_700_000_000;

function event(ts: number, fields: Partial<HttpEvent> = {}): HttpEvent {
  return {
    ts, src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80, method: 'GET', host: 'example.com', uri: '/a/1', section: '/a',
    status: 200, reqBytes: 0, respBytes: 100, ua: 'ua', latencyMs: 10, version: '1.1', route: '/', client: '10.0.0.1', uriTruncated: false, requestHeaders: '', responseHeaders: '', ...fields,
  };
}

function storeWith(overrides: Partial<Config> = {}): StatsStore {
  return new StatsStore({ ...defaultConfig(), dashboard_bucket_size: 10, ...overrides });
}

describe('windows', () => {
  it('recent is the last complete bucket and the open one so far; 5m, 1h and all cover their spans', () => {
    const store = storeWith();
    // 1 req/s to /old for 20 min, then 5 req/s to /new for the last 12 s.
    for (let s = 0; s < 1200; s++) store.ingest([event(T0 + s, { uri: '/old/x', section: '/old' })]);
    for (let s = 1200; s < 1212; s++) for (let i = 0; i < 5; i++) store.ingest([event(T0 + s + i / 5, { uri: '/new/y', section: '/new' })]);
    store.advanceTo(T0 + 1212);
    const now = store.lastClosed;
    expect(now).toBe(T0 + 1211);
    const s = store.builtins.sections;
    const counts = (w: 'recent' | '5m' | '1h' | 'all') => Object.fromEntries(s.top(w, now, 10).map((e) => [e.key, e.count]));
    // The bucket [1200, 1210) is the last complete one, and [1210, 1212) of the open one is closed.
    expect(counts('recent')).toEqual({ '/new': 60 });
    expect(store.builtins.requests.span('recent', now)).toEqual({ start: T0 + 1200, end: T0 + 1212 });
    expect(store.builtins.requests.totals('recent', now).requests).toBe(60);
    // Slices are whole buckets: the 5-minute view starts at the bucket holding now − 299 s.
    expect(counts('5m')).toEqual({ '/new': 60, '/old': 290 });
    expect(counts('1h')).toEqual({ '/new': 60, '/old': 1200 });
    expect(counts('all')).toEqual({ '/new': 60, '/old': 1200 });
    expect(store.builtins.requests.requestsInLast(10, now)).toBe(50);
    // The bucket an input ended in, asked as of its last second, right after the last closed
    // second's view (a cached view must not answer for another second).
    expect(Object.fromEntries(s.top('recent', now - now % 10 + 9, 10).map((e) => [e.key, e.count]))).toEqual({ '/new': 10 });
    // At a bucket's end (where --text reads it) recent is exactly that bucket.
    store.advanceTo(T0 + 1220);
    expect(Object.fromEntries(s.top('recent', store.lastClosed, 10).map((e) => [e.key, e.count]))).toEqual({ '/new': 10 });
    expect(store.builtins.requests.span('recent', store.lastClosed)).toEqual({ start: T0 + 1210, end: T0 + 1220 });
  });

  it('forgets what is older than the retention', () => {
    const store = storeWith({ max_retention_length: 600 });
    for (let s = 0; s < 3000; s++) store.ingest([event(T0 + s, { section: s < 1000 ? '/early' : '/late', uri: s < 1000 ? '/early' : '/late' })]);
    store.advanceTo(T0 + 3000);
    const now = store.lastClosed;
    const all = store.builtins.sections.top('all', now, 10).map((e) => e.key);
    expect(all).toEqual(['/late']);
    expect(store.builtins.requests.series.requestsIn(now - 10_000, now)).toBe(601);
  });
});

describe('breakdowns', () => {
  it('keeps bytes, errors, latency quantiles and status classes', () => {
    const store = storeWith();
    const events = [
      ...Array.from({ length: 90 }, (_, i) => event(T0 + i / 100, { latencyMs: 10, host: 'fast.example.com' })),
      ...Array.from({ length: 10 }, (_, i) => event(T0 + 0.9 + i / 100, { latencyMs: 900, status: 503, host: 'fast.example.com' })),
      event(T0 + 0.99, { status: null, host: 'slow.example.com', latencyMs: null }),
    ];
    store.ingest(events);
    store.advanceTo(T0 + 2);
    const now = store.lastClosed;
    const [fast, slow] = store.builtins.domains.top('all', now, 10);
    expect(fast.key).toBe('fast.example.com');
    expect(fast.count).toBe(100);
    expect(fast.bytes).toBe(10_000);
    expect(fast.errors).toBe(10);
    expect(fast.latency!.quantile(0.5)).toBeCloseTo(10, -1);
    expect(fast.latency!.quantile(0.99)).toBeGreaterThan(700);
    expect(slow.errors).toBe(1);
    const { classes, errorRate } = statusClasses(store.builtins.statuses.top('all', now, 100));
    expect(classes).toEqual({ '1xx': 0, '2xx': 90, '3xx': 0, '4xx': 0, '5xx': 10, none: 1 });
    expect(errorRate).toBeCloseTo(11 / 101, 5);
  });

  it('drills down: URIs of a section, sections of a domain', () => {
    const store = storeWith();
    store.ingest([
      event(T0, { uri: '/a/1', section: '/a' }), event(T0, { uri: '/a/1', section: '/a' }), event(T0, { uri: '/a/2', section: '/a' }),
      event(T0, { uri: '/b/1', section: '/b', host: 'other.com' }),
    ]);
    store.advanceTo(T0 + 2);
    const now = store.lastClosed;
    expect(store.builtins.uris.top('all', now, 10, (uri) => uri.startsWith('/a')).map((e) => [e.key, e.count])).toEqual([['/a/1', 2], ['/a/2', 1]]);
    expect(store.builtins.domainSections.top('all', now, 10, (k) => k.startsWith(`example.com${KEY_SEPARATOR}`)).map((e) => e.count)).toEqual([3]);
  });

  it('counts the same through the store (one EventFacts per transaction) as through each counter\'s add, late and unanswered ones included', () => {
    const store = storeWith();
    const alone = storeWith();
    const random = seededRandom(11);
    const batches: HttpEvent[][] = [];
    for (let s = 0; s < 30; s++) {
      const batch: HttpEvent[] = [];
      for (let i = 0; i < 50; i++) {
        const r = random();
        batch.push(event(T0 + s + i / 50 - (i % 7 === 0 ? 3 : 0), {
          host: `h${Math.floor(r * 5)}.com`, section: `/s${Math.floor(r * 9)}`, uri: `/s${Math.floor(r * 9)}/${i % 13}`,
          latencyMs: i % 11 === 0 ? null : r * 900, status: i % 11 === 0 ? null : 200 + 100 * (i % 4), respBytes: Math.floor(r * 5000),
        }));
      }
      batches.push(batch);
    }
    for (const batch of batches) {
      store.ingest(batch);
      // The other way in: each breakdown's counter given the time and latency as they are (WindowedTopK.add).
      for (const event of batch) {
        for (const module of Object.values(alone.builtins)) {
          if (!(module instanceof TopModule)) { module.ingest(event); continue; }
          const key = (module as unknown as { keyOf(e: HttpEvent): string }).keyOf(event);
          module.counter.add(key, event.ts, event.reqBytes + event.respBytes, event.status === null || event.status >= 500, event.latencyMs);
        }
      }
      const second = Math.floor(batch[batch.length - 1].ts);
      store.advanceTo(second);
      alone.advanceTo(second);
    }
    const now = store.lastClosed;
    for (const name of ['sections', 'domains', 'statuses', 'uris', 'domainSections', 'endpoints', 'protocols'] as const) {
      for (const window of ['recent', '5m', 'all'] as const) {
        const rows = (s: StatsStore) => s.builtins[name].top(window, now, 50).map((e) => [e.key, e.count, e.bytes, e.errors, e.latency?.quantile(0.5) ?? null, e.latency?.quantile(0.99) ?? null]);
        expect(rows(store)).toEqual(rows(alone));
      }
    }
    expect(store.builtins.domainSections.top('all', now, 50).length).toBeGreaterThan(10);
  });

  it('a breakdown whose feature is off (no --processes) counts nothing', () => {
    const store = storeWith({ processes: false });
    expect(store.builtins.processes.inUse).toBe(false);
    expect(store.builtins.sections.inUse).toBe(true);
    store.ingest([event(T0), event(T0 + 0.5)]);
    store.builtins.processes.ingest(event(T0 + 0.7));
    store.advanceTo(T0 + 2);
    expect(store.builtins.processes.top('all', store.lastClosed, 10)).toEqual([]);
    expect(store.builtins.processEndpoints.top('all', store.lastClosed, 10)).toEqual([]);
    expect(store.builtins.sections.top('all', store.lastClosed, 10)[0].count).toBe(2);
  });

  it('composite keys stay right past the cache of their pairs, which stays bounded (a flood of distinct sections)', () => {
    const pairKey = pairKeys(256);
    const first = pairKey('h1.com', '/s1');
    expect(first).toBe(`h1.com${KEY_SEPARATOR}/s1`);
    expect(pairKey('h1.com', '/s1')).toBe(first);
    for (let i = 0; i < 20_000; i++) expect(pairKey(`h${i % 300}.com`, `/s${i}`)).toBe(`h${i % 300}.com${KEY_SEPARATOR}/s${i}`);
    expect(pairKey('h1.com', '/s1')).toBe(first);
    expect(pairKey('x'.repeat(500), '/s')).toBe(`${'x'.repeat(500)}${KEY_SEPARATOR}/s`);
  });

  it('stays bounded under a flood of distinct keys and says counts are approximate', () => {
    const store = storeWith();
    for (let s = 0; s < 100; s++) {
      const batch = [];
      for (let i = 0; i < 2000; i++) batch.push(event(T0 + s + i / 2000, { uri: `/x/${s}-${i}`, ua: `bot-${s}-${i}`, host: i % 2 ? 'h.com' : `r${s}-${i}.com` }));
      store.ingest(batch);
      store.advanceTo(T0 + s + 1);
    }
    const now = store.lastClosed;
    const uris = store.builtins.uris.view('all', now);
    expect(uris.entries.length).toBeLessThanOrEqual(4096);
    expect(uris.approximate).toBe(true);
    const hosts = store.builtins.domains.view('5m', now);
    expect(hosts.entries[0]).toMatchObject({ key: 'h.com', count: 100_000 });
    expect(hosts.entries.length).toBeLessThanOrEqual(1024);
  });
});

describe('subscribers and plug-ins', () => {
  it('notifies once per closed second, never per event', () => {
    const store = storeWith();
    const seconds: number[] = [];
    store.subscribe((s) => seconds.push(s));
    store.ingest(Array.from({ length: 1000 }, (_, i) => event(T0 + i / 250)));
    expect(seconds).toEqual([]);
    store.advanceTo(T0 + 4);
    expect(seconds).toEqual([T0, T0 + 1, T0 + 2, T0 + 3]);
  });

  it('starts data time with the first event\'s second: no empty second before it is closed', () => {
    const store = storeWith();
    const seconds: number[] = [];
    store.subscribe((s) => seconds.push(s));
    // A paced replay: the first batch comes while its second is still open.
    store.ingest([event(T0 + 0.03)]);
    store.advanceTo(T0 + 0.2);
    expect(seconds).toEqual([]);
    store.ingest([event(T0 + 0.5), event(T0 + 1.1)]);
    store.advanceTo(T0 + 1.2);
    expect(seconds).toEqual([T0]);
    expect(store.builtins.requests.requestsInLast(10, T0)).toBe(2);
  });

  it('loads the example plug-in and feeds it every event', () => {
    const config = { ...defaultConfig(), plugins: [path.join(repoRoot(), 'examples/plugins/topClients.js')] };
    const store = new StatsStore(config, loadPlugins(config));
    store.ingest([event(T0, { src: '10.0.0.9' }), event(T0, { src: '10.0.0.9' }), event(T0, { src: '10.0.0.1' })]);
    store.advanceTo(T0 + 2);
    const plugin = store.module('topClients')!;
    expect(plugin.report(store.lastClosed, 5)).toEqual({ top: [{ client: '10.0.0.9', requests: 2 }, { client: '10.0.0.1', requests: 1 }], untracked: 0 });
    expect(plugin.rows('all', store.lastClosed, 1).rows).toEqual([['10.0.0.9', '2']]);
  });

  it('shows a plug-in everywhere built-ins show: a line in --text summaries, a table in --report', () => {
    const config = { ...defaultConfig(), dashboard_bucket_size: 5, plugins: [path.join(repoRoot(), 'examples/plugins/topClients.js')] };
    const run = new RunState(config, 'test', loadPlugins(config));
    let text = '';
    const sink = new TextSink(run, (line) => { text += line; });
    const events = Array.from({ length: 30 }, (_, i) => event(T0 + i / 5, { src: i % 3 === 0 ? '10.0.0.9' : '10.0.0.1' }));
    run.ingest(events);
    run.advanceTo(T0 + 10);
    sink.finish();
    expect(text).toMatch(/^ {2}topClients: 10\.0\.0\.1 20 {2}10\.0\.0\.9 10$/m);
    const report = new ReportSink(run, 'text', (out) => { text = out; });
    report.finish();
    expect(text).toMatch(/^Top clients:\n {2}Client +Requests\n {2}10\.0\.0\.1 +20\n {2}10\.0\.0\.9 +10$/m);
  });

  it('a plug-in that throws is disabled, said once, and takes nothing else down', () => {
    const config = { ...defaultConfig(), dashboard_bucket_size: 5 };
    let seen = 0;
    const flaky: StatModule = {
      name: 'flaky',
      ingest() { if (++seen > 10) throw new Error('boom'); },
      tick() {},
      rows() { return { title: 'Flaky', columns: ['k'], rows: [] }; },
      report() { return { seen }; },
    };
    const run = new RunState(config, 'test', [flaky]);
    const failures: string[] = [];
    run.stats.onPluginFailure((f) => failures.push(`${f.name}.${f.method}: ${f.message}`));
    for (let s = 0; s < 5; s++) run.ingest(Array.from({ length: 10 }, (_, i) => event(T0 + s + i / 10)));
    run.advanceTo(T0 + 6);
    expect(failures).toEqual(['flaky.ingest: boom']);
    expect(seen).toBe(11);
    expect(run.stats.builtins.requests.total).toBe(50);
    let out = '';
    new ReportSink(run, 'json', (text) => { out = text; }).finish();
    expect(JSON.parse(out)).toMatchObject({ requests: 50, plugins: { flaky: { disabled: 'failed in ingest(): boom' } } });
  });

  it('refuses a plug-in that takes a built-in name', () => {
    const file = path.join(tempDir(), 'sections-plugin.js');
    fs.writeFileSync(file, "module.exports = () => ({ name: 'sections', ingest() {}, tick() {}, rows() { return { title: '', columns: [], rows: [] }; }, report() { return {}; } });");
    expect(() => loadPlugins({ ...defaultConfig(), plugins: [file] })).toThrow(/a module named "sections" exists already/);
  });

  it.each([
    ['a missing file', 'nope/none.js', /plugin nope\/none\.js: no such module/],
    ['a module without a factory', 'package.json', /must export a function/],
  ])('refuses %s', (_name, spec, message) => {
    expect(() => loadPlugins({ ...defaultConfig(), plugins: [spec] }, repoRoot())).toThrow(message);
  });
});

describe('per-second series', () => {
  it('holds memory for the span of data seen, not the whole retention', () => {
    const before = process.memoryUsage().arrayBuffers;
    const year = Array.from({ length: 10 }, () => new RateSeries(31_536_000));
    for (const series of year) for (let s = 0; s < 100; s++) series.add(T0 + s, false, 10);
    // A year's retention at 16 bytes a second would be ~500 MB per series.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(10 * 1024 * 1024);
    expect(year[0].requestsIn(T0 - 1, T0 + 99)).toBe(100);
  });

  it('counts the same as exact counting as it grows, stragglers included', () => {
    const series = new RateSeries(10_000);
    const exact = new Map<number, number>();
    const random = seededRandom(3);
    for (let s = 0; s < 9000; s += 1 + Math.floor(random() * 3)) {
      // Mostly in order, some up to 2 hours late (before the first second seen, early on).
      const second = s - (random() < 0.05 ? Math.floor(random() * 7200) : 0);
      if (series.add(T0 + second + 0.5, false, 1)) exact.set(second, (exact.get(second) ?? 0) + 1);
    }
    const head = 8999;
    for (const [from, to] of [[-7201, head], [head - 3600, head], [head - 9999, head], [100, 5000]] as const) {
      let expected = 0;
      for (const [second, n] of exact) if (second > from && second <= to && second > head - 10_000) expected += n;
      expect(series.requestsIn(T0 + from, T0 + to)).toBe(expected);
    }
  });
});


describe('endpoints, clients and the slowest requests', () => {
  it('counts endpoints by method and route with latency quantiles, and clients by the resolved client', () => {
    const store = storeWith();
    for (let i = 0; i < 100; i++) {
      store.ingest([event(T0 + i / 10, { method: i % 4 === 0 ? 'POST' : 'GET', uri: `/users/${i}`, route: '/users/{id}', latencyMs: i % 4 === 0 ? 100 : 10, client: `203.0.113.${i % 3}` })]);
    }
    store.advanceTo(T0 + 11);
    const now = store.lastClosed;
    const endpoints = store.builtins.endpoints.report(now, 10).top;
    expect(endpoints.map((e) => [e.key, e.hits])).toEqual([['GET /users/{id}', 75], ['POST /users/{id}', 25]]);
    expect(endpoints[1].latencyMs?.p50).toBeGreaterThan(90);
    expect(endpoints[0].latencyMs?.p99).toBeLessThan(12);
    expect(store.builtins.clients.report(now, 10).top.map((e) => e.key).sort()).toEqual(['203.0.113.0', '203.0.113.1', '203.0.113.2']);
    // Req/s over the window the rows are asked for.
    const rows = store.builtins.endpoints.rows('recent', now, 10, { seconds: 10 });
    expect(rows.rows[0].slice(0, 3)).toEqual(['GET /users/{id}', '75', '7.5']);
  });

  it('keeps the slowest requests per window, slowest first, and forgets what the window left', () => {
    const store = storeWith();
    for (let s = 0; s < 400; s++) store.ingest([event(T0 + s, { uri: `/s/${s}`, latencyMs: s === 5 ? 5000 : s })]);
    store.advanceTo(T0 + 400);
    const now = store.lastClosed;
    const slowest = store.builtins.slowest;
    // The last 5 minutes no longer hold the 5 s request of second 5; everything does.
    expect(slowest.list('5m', now)[0].latencyMs).toBe(399);
    expect(slowest.list('5m', now)).toHaveLength(20);
    expect(slowest.list('all', now)[0].latencyMs).toBe(5000);
    expect(slowest.list('recent', now).map((e) => e.latencyMs)).toEqual([399, 398, 397, 396, 395, 394, 393, 392, 391, 390]);
    expect(store.builtins.slowest.report()[0]).toMatchObject({ uri: '/s/5', latencyMs: 5000 });
    // Unanswered requests have no latency: not in the list.
    store.ingest([event(T0 + 401, { latencyMs: null, status: null })]);
    expect(slowest.list('all', now).some((e) => e.latencyMs === null)).toBe(false);
  });
});
