/**
 * A fixed-size histogram of latencies on a logarithmic scale (each bucket 20% wider than the
 * last, 0.05 ms to ~20 min): constant memory, mergeable, quantiles within ~10%. Enough to show
 * p50/p95/p99 per domain and section without keeping samples.
 *
 * Most keys of a flood are seen a few times only: a histogram keeps its first samples in a
 * short list and makes its bucket array only when that fills, so rare keys stay cheap.
 */

const MIN_MS = 0.05;
const GROWTH = 1.2;
const BUCKETS = 96;
const LOG_GROWTH = Math.log(GROWTH);
const SPARSE_SAMPLES = 8;

/**
 * The last latency bucketed and its bucket: a transaction's latency is added to every breakdown
 * that keeps latency (sections, domains, endpoints, protocols…) one after the other, and the
 * logarithm is the costly part.
 */
let lastMs = NaN;
let lastBucket = 0;

/** What a transaction without a latency (never answered) has for a bucket. */
export const NO_LATENCY = -1;

/**
 * Bucket index of a latency in milliseconds. The statistics bucket a transaction's latency once
 * and pass the index on: a small integer, where a fractional number of milliseconds passed to
 * each breakdown's counter would be a new heap object per call.
 */
export function latencyBucket(ms: number): number {
  if (ms === lastMs) return lastBucket;
  lastMs = ms;
  if (ms <= MIN_MS) return (lastBucket = 0);
  const i = Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH) + 1;
  return (lastBucket = i >= BUCKETS ? BUCKETS - 1 : i);
}

/** The middle of a bucket (geometric), reported as its value. */
function bucketValue(i: number): number {
  if (i === 0) return MIN_MS;
  return MIN_MS * GROWTH ** (i - 0.5);
}

/** Latency counts per logarithmic bucket. */
export class LogHistogram {
  /** Bucket counts, once more than a few samples were added. */
  private counts: Uint32Array | null = null;
  /** The first samples, as bucket indexes, while `counts` is null. */
  private sparse: number[] = [];
  total = 0;

  add(ms: number): void {
    this.addBucket(latencyBucket(ms), 1);
  }

  /** Adds `times` samples to bucket `bucket` (a latencyBucket). */
  addBucket(bucket: number, times: number): void {
    this.total += times;
    if (this.counts === null) {
      if (times === 1 && this.sparse.length < SPARSE_SAMPLES) {
        this.sparse.push(bucket);
        return;
      }
      this.densify();
    }
    this.counts![bucket] += times;
  }

  private densify(): void {
    const counts = new Uint32Array(BUCKETS);
    for (const bucket of this.sparse) counts[bucket]++;
    this.counts = counts;
    this.sparse = [];
  }

  merge(other: LogHistogram): void {
    if (other.counts === null) {
      for (const bucket of other.sparse) this.addBucket(bucket, 1);
      return;
    }
    if (this.counts === null) this.densify();
    const counts = this.counts!;
    for (let i = 0; i < BUCKETS; i++) counts[i] += other.counts[i];
    this.total += other.total;
  }

  /** Empties the histogram for reuse. */
  reset(): void {
    if (this.counts !== null) this.counts.fill(0);
    this.sparse = [];
    this.total = 0;
  }

  /** The value at quantile q (0..1), or null when empty. */
  quantile(q: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.total));
    const counts = this.counts ?? (() => { const c = new Uint32Array(BUCKETS); for (const b of this.sparse) c[b]++; return c; })();
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += counts[i];
      if (seen >= rank) return Math.round(bucketValue(i) * 100) / 100;
    }
    return Math.round(bucketValue(BUCKETS - 1) * 100) / 100;
  }
}
