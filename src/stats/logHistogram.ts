/**
 * A fixed-size histogram of latencies on a logarithmic scale (each bucket 20% wider than the
 * last, 0.05 ms to ~20 min): constant memory, mergeable, quantiles within ~10%. Enough to show
 * p50/p95/p99 per domain and section without keeping samples.
 */

const MIN_MS = 0.05;
const GROWTH = 1.2;
const BUCKETS = 96;
const LOG_GROWTH = Math.log(GROWTH);

/** Bucket index of a latency in milliseconds. */
function bucketOf(ms: number): number {
  if (ms <= MIN_MS) return 0;
  const i = Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH) + 1;
  return i >= BUCKETS ? BUCKETS - 1 : i;
}

/** The middle of a bucket (geometric), reported as its value. */
function bucketValue(i: number): number {
  if (i === 0) return MIN_MS;
  return MIN_MS * GROWTH ** (i - 0.5);
}

/** Latency counts per logarithmic bucket. */
export class LogHistogram {
  readonly counts = new Uint32Array(BUCKETS);
  total = 0;

  add(ms: number, times = 1): void {
    this.counts[bucketOf(ms)] += times;
    this.total += times;
  }

  merge(other: LogHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
  }

  /** The value at quantile q (0..1), or null when empty. */
  quantile(q: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.round(bucketValue(i) * 100) / 100;
    }
    return Math.round(bucketValue(BUCKETS - 1) * 100) / 100;
  }
}
