/**
 * Per-second counts (requests, errors, bytes) for the whole retention, in typed arrays used as
 * a ring: constant memory (12 bytes a second: ~1 MB for a day), any window summed on demand.
 */

/** The counts of one stretch of time. */
export interface RateTotals {
  requests: number;
  errors: number;
  bytes: number;
}

/** Per-second counters over the last `size` seconds. */
export class RateSeries {
  private readonly requests: Uint32Array;
  private readonly errors: Uint32Array;
  private readonly bytes: Float64Array;
  /** The latest second with a slot; -Infinity before any. */
  private head = -Infinity;

  constructor(readonly size: number) {
    this.requests = new Uint32Array(size);
    this.errors = new Uint32Array(size);
    this.bytes = new Float64Array(size);
  }

  /** Moves the ring's head to `second`, clearing the slots it passes. */
  advance(second: number): void {
    if (second <= this.head) return;
    const from = this.head === -Infinity ? second - this.size + 1 : this.head + 1;
    const clearFrom = Math.max(from, second - this.size + 1);
    for (let s = clearFrom; s <= second; s++) {
      const i = this.slot(s);
      this.requests[i] = 0;
      this.errors[i] = 0;
      this.bytes[i] = 0;
    }
    this.head = second;
  }

  /** Counts one request at time `ts`; false when it is older than the ring holds. */
  add(ts: number, isError: boolean, bytes: number): boolean {
    const second = Math.floor(ts);
    if (second > this.head) this.advance(second);
    if (second <= this.head - this.size) return false;
    const i = this.slot(second);
    this.requests[i]++;
    if (isError) this.errors[i]++;
    this.bytes[i] += bytes;
    return true;
  }

  private slot(second: number): number {
    const i = second % this.size;
    return i < 0 ? i + this.size : i;
  }

  /** Requests in seconds (from, to] — the window ending at second `to`. */
  requestsIn(fromExclusive: number, toInclusive: number): number {
    let sum = 0;
    const start = Math.max(fromExclusive + 1, this.head - this.size + 1);
    const end = Math.min(toInclusive, this.head);
    for (let s = start; s <= end; s++) sum += this.requests[this.slot(s)];
    return sum;
  }

  /** Totals of seconds (from, to]. */
  totalsIn(fromExclusive: number, toInclusive: number): RateTotals {
    const totals = { requests: 0, errors: 0, bytes: 0 };
    const start = Math.max(fromExclusive + 1, this.head - this.size + 1);
    const end = Math.min(toInclusive, this.head);
    for (let s = start; s <= end; s++) {
      const i = this.slot(s);
      totals.requests += this.requests[i];
      totals.errors += this.errors[i];
      totals.bytes += this.bytes[i];
    }
    return totals;
  }

  /**
   * Requests per second of seconds (from, to], averaged into at most `points` points
   * (each point the mean rate of its stretch), oldest first.
   */
  series(fromExclusive: number, toInclusive: number, points: number): number[] {
    const length = toInclusive - fromExclusive;
    if (length <= 0 || points <= 0) return [];
    const n = Math.min(points, length);
    const out: number[] = [];
    for (let p = 0; p < n; p++) {
      const a = fromExclusive + Math.floor((p * length) / n);
      const b = fromExclusive + Math.floor(((p + 1) * length) / n);
      out.push(this.requestsIn(a, b) / (b - a));
    }
    return out;
  }
}
