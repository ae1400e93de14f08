/**
 * Per-second counts (requests, errors, bytes) for the whole retention, in typed arrays used as
 * a ring (16 bytes a second: ~1.4 MB for a day), grown with the data's span up to the
 * retention; any window summed on demand.
 */

/** The counts of one stretch of time. */
export interface RateTotals {
  requests: number;
  errors: number;
  bytes: number;
}

/** Seconds the arrays hold at first: they grow with the span of data time seen, up to `size`. */
const INITIAL_CAPACITY = 3600;

/** Per-second counters over the last `size` seconds. */
export class RateSeries {
  private requests: Uint32Array;
  private errors: Uint32Array;
  private bytes: Float64Array;
  /** Seconds the arrays hold now: at least the span seen so far (or `size`). */
  private capacity: number;
  /** The latest second with a slot; -Infinity before any. */
  private head = -Infinity;
  /** The earliest second counted or passed; Infinity before any. */
  private first = Infinity;

  /**
   * `size`: the seconds kept. The arrays are not allocated for all of them at once (a year's
   * retention would be half a gigabyte before any traffic): they grow as data time passes.
   */
  constructor(readonly size: number) {
    this.capacity = Math.min(size, INITIAL_CAPACITY);
    this.requests = new Uint32Array(this.capacity);
    this.errors = new Uint32Array(this.capacity);
    this.bytes = new Float64Array(this.capacity);
  }

  /** Makes room for `span` seconds (up to `size`), keeping what is held. */
  private ensureCapacity(span: number): void {
    if (span <= this.capacity || this.capacity >= this.size) return;
    const capacity = Math.min(this.size, Math.max(span, 2 * this.capacity));
    const requests = new Uint32Array(capacity);
    const errors = new Uint32Array(capacity);
    const bytes = new Float64Array(capacity);
    if (this.head !== -Infinity) {
      for (let s = Math.max(this.first, this.head - this.capacity + 1); s <= this.head; s++) {
        const from = this.slot(s);
        const to = slotIn(s, capacity);
        requests[to] = this.requests[from];
        errors[to] = this.errors[from];
        bytes[to] = this.bytes[from];
      }
    }
    this.requests = requests;
    this.errors = errors;
    this.bytes = bytes;
    this.capacity = capacity;
  }

  /** Moves the ring's head to `second`, clearing the slots it passes. */
  advance(second: number): void {
    if (second <= this.head) return;
    if (this.first === Infinity) this.first = second;
    this.ensureCapacity(second - this.first + 1);
    const from = this.head === -Infinity ? second - this.capacity + 1 : this.head + 1;
    const clearFrom = Math.max(from, second - this.capacity + 1);
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
    if (second < this.first) {
      // A straggler from before the first second seen: the span reaches back to it.
      this.ensureCapacity(this.head - second + 1);
      this.first = second;
    }
    const i = this.slot(second);
    this.requests[i]++;
    if (isError) this.errors[i]++;
    this.bytes[i] += bytes;
    return true;
  }

  private slot(second: number): number {
    return slotIn(second, this.capacity);
  }

  /** Requests in seconds (from, to] — the window ending at second `to`. */
  requestsIn(fromExclusive: number, toInclusive: number): number {
    let sum = 0;
    const start = Math.max(fromExclusive + 1, this.head - this.capacity + 1);
    const end = Math.min(toInclusive, this.head);
    for (let s = start; s <= end; s++) sum += this.requests[this.slot(s)];
    return sum;
  }

  /** Totals of seconds (from, to]. */
  totalsIn(fromExclusive: number, toInclusive: number): RateTotals {
    const totals = { requests: 0, errors: 0, bytes: 0 };
    const start = Math.max(fromExclusive + 1, this.head - this.capacity + 1);
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

/** The slot of `second` in a ring of `capacity` seconds. */
function slotIn(second: number, capacity: number): number {
  const i = second % capacity;
  return i < 0 ? i + capacity : i;
}
