/**
 * Heavy hitters against exact counting: millions of transactions over a million distinct URIs
 * (Zipf), top-10 sections and URIs in the same order as exact counts and within the reported
 * error. (`npm run bench` runs the full 10 M and prints the memory figure.)
 */
import { defaultConfig } from '../src/config';
import { zipfEvents } from './fixtures/zipf';
import { StatsStore } from '../src/stats/store';

it('top-10 sections and URIs match exact counting, within the documented error', () => {
  const events = 3_000_000;
  const store = new StatsStore(defaultConfig());
  const exactUris = new Map<string, number>();
  const exactSections = new Map<string, number>();
  zipfEvents(events, 1_000_000, 1.0, 600, 1_700_000_000, 5, (batch) => {
    store.ingest(batch);
    store.advanceTo(batch[batch.length - 1].ts);
    for (const e of batch) {
      exactUris.set(e.uri, (exactUris.get(e.uri) ?? 0) + 1);
      exactSections.set(e.section, (exactSections.get(e.section) ?? 0) + 1);
    }
  });
  store.advanceTo(1_700_000_000 + 601);
  const now = store.lastClosed;
  for (const [got, exact] of [
    [store.builtins.uris.top('all', now, 10), exactUris],
    [store.builtins.sections.top('all', now, 10), exactSections],
  ] as const) {
    const truth = [...exact.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([key]) => key);
    expect(got.map((e) => e.key)).toEqual(truth);
    for (const e of got) {
      const real = exact.get(e.key)!;
      expect(e.count).toBeGreaterThanOrEqual(real);
      expect(e.count - real).toBeLessThanOrEqual(e.overcount);
      expect(e.overcount).toBeLessThanOrEqual(events / 4096);
    }
  }
  expect(store.builtins.uris.view('all', now).approximate).toBe(true);
});
