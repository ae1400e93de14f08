/**
 * Feeds the statistics store 10 M synthetic transactions whose URIs follow a Zipf law over
 * 1 M distinct paths (as a crawler or an attack with random paths would), then prints the
 * top-10 sections and URIs of the whole input, the time taken and the peak RSS, as JSON.
 * Run by `npm run bench` in its own process, so the RSS is the store's alone.
 */
import { defaultConfig } from '../src/config';
import { zipfEvents } from '../test/fixtures/zipf';
import { StatsStore } from '../src/stats/store';

export const HEAVY_HITTERS = { events: 10_000_000, distinct: 1_000_000, exponent: 1.0, seconds: 1000, startTs: 1_700_000_000, seed: 11 };

function main(): void {
  const { events, distinct, exponent, seconds, startTs, seed } = HEAVY_HITTERS;
  const store = new StatsStore(defaultConfig());
  const started = process.hrtime.bigint();
  zipfEvents(events, distinct, exponent, seconds, startTs, seed, (batch) => {
    store.ingest(batch);
    store.advanceTo(batch[batch.length - 1].ts);
  });
  store.advanceTo(startTs + seconds + 1);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const now = store.lastClosed;
  const pick = (e: { key: string; count: number; overcount: number }) => ({ key: e.key, count: e.count, overcount: e.overcount });
  process.stdout.write(JSON.stringify({
    seconds: elapsed,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    sections: store.builtins.sections.top('all', now, 10).map(pick),
    uris: store.builtins.uris.top('all', now, 10).map(pick),
  }) + '\n');
}

if (require.main === module) main();
