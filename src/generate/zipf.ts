/**
 * Synthetic HttpEvents with Zipf-distributed URIs, for measuring the statistics store without
 * packets: many distinct keys (an attack with random paths, a crawler) with a few heavy ones.
 */
import type { HttpEvent } from '../types';
import { seededRandom } from './traffic';

/** Draws ranks 1..n with P(k) ∝ 1/k^s, by inverse transform over a precomputed CDF. */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) {
    sum += 1 / k ** s;
    cdf[k - 1] = sum;
  }
  for (let k = 0; k < n; k++) cdf[k] /= sum;
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

/** The URI of rank k: 100 sections, each rank its own path. */
export function zipfUri(rank: number): string {
  return `/s${rank % 100}/item/${rank}`;
}

/**
 * Calls `onBatch` with batches of `count` events in all, URIs of Zipf(s) over `distinct` ranks,
 * spread evenly over `seconds` seconds from `startTs`.
 */
export function zipfEvents(
  count: number, distinct: number, s: number, seconds: number, startTs: number, seed: number,
  onBatch: (events: HttpEvent[]) => void, batchSize = 4096,
): void {
  const random = seededRandom(seed);
  const rank = zipfSampler(distinct, s, random);
  let batch: HttpEvent[] = [];
  for (let i = 0; i < count; i++) {
    const uri = zipfUri(rank());
    batch.push({
      ts: startTs + (i * seconds) / count, src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80, method: 'GET',
      host: `h${i % 7}.example.com`, uri, section: uri.slice(0, uri.indexOf('/', 1)), status: 200, reqBytes: 0, respBytes: 100,
      ua: 'zipf', latencyMs: 1 + (i % 50), version: '1.1',
    });
    if (batch.length === batchSize) {
      onBatch(batch);
      batch = [];
    }
  }
  if (batch.length > 0) onBatch(batch);
}
