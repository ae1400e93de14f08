/**
 * Space-Saving heavy-hitter counting (Metwally et al.): at most `capacity` keys are tracked;
 * a new key takes the place of the least-counted one and inherits its count as its overcount. Every
 * key whose true count exceeds total/capacity is kept, and each count is over by at most its
 * `overcount` (≤ total/capacity). Exact while no more than `capacity` distinct keys were seen.
 * Memory is bounded whatever the key cardinality (a flood of random URIs cannot grow it).
 *
 * Each entry also carries the bytes, errors and latencies added with its key; after an
 * eviction these start again from the newcomer, so they are as approximate as the count.
 */
import type { KeyBudget } from './keyBudget';
import { LogHistogram, NO_LATENCY, latencyBucket } from './logHistogram';

/** One tracked key. */
export interface HeavyHitter {
  key: string;
  count: number;
  /** Upper bound of how much `count` over-estimates the true count (0: exact). */
  overcount: number;
  /** Sum of the byte values added with this key. */
  bytes: number;
  /** Number of additions flagged as errors (5xx or no response). */
  errors: number;
  /** Latencies added with this key, when the counter keeps them. */
  latency: LogHistogram | null;
}

/** A tracked key in the heap: it knows its position, so moving it costs no map update. */
interface Slot extends HeavyHitter {
  pos: number;
}

/** A bounded top-k counter. */
export class SpaceSaving {
  /** Min-heap on count; `index` finds a key's slot. */
  private readonly heap: Slot[] = [];
  private readonly index = new Map<string, Slot>();
  /** Total weight added. */
  total = 0;

  /**
   * `keys`: the budget a kept key's length is charged to (null: not charged, for a view merged
   * for a moment). Keys are kept as given: they must not be slices of larger strings.
   */
  constructor(readonly capacity: number, readonly keepsLatency = false, private readonly keys: KeyBudget | null = null) {}

  /** Counts `key` `count` more times, with `bytes`, `errors` and (if kept) a latency sample. */
  add(key: string, count = 1, bytes = 0, errors = 0, latencyMs: number | null = null): void {
    this.addBucketed(key, count, bytes, errors, latencyMs == null ? NO_LATENCY : latencyBucket(latencyMs));
  }

  /** `add` with the latency given as its histogram bucket (NO_LATENCY: none). */
  addBucketed(key: string, count: number, bytes: number, errors: number, bucket: number): void {
    const entry = this.entryFor(key, count);
    entry.bytes += bytes;
    entry.errors += errors;
    if (bucket !== NO_LATENCY && entry.latency !== null) entry.latency.addBucket(bucket, 1);
  }

  /** Adds a whole entry of another counter (merging summaries). */
  addEntry(other: HeavyHitter): void {
    const entry = this.entryFor(other.key, other.count);
    entry.overcount += other.overcount;
    entry.bytes += other.bytes;
    entry.errors += other.errors;
    if (other.latency !== null && entry.latency !== null) entry.latency.merge(other.latency);
  }

  /** Adds every entry of `other`. */
  merge(other: SpaceSaving): void {
    for (const entry of other.heap) this.addEntry(entry);
  }

  /** The entry of `key`, its count raised by `count`; takes the least-counted slot if needed. */
  private entryFor(key: string, count: number): HeavyHitter {
    this.total += count;
    let slot = this.index.get(key);
    if (slot === undefined && this.keys !== null) {
      // Kept as admit gives it: a copy, which holds no longer string alive (see KeyBudget.admit).
      const kept = this.keys.admit(key);
      const shortened = kept.length !== key.length;
      key = kept;
      // Shortened (free of charge): it counts under the shortened key, which may be tracked already.
      if (shortened) slot = this.index.get(key);
    }
    if (slot !== undefined) {
      slot.count += count;
      this.siftDown(slot.pos);
      return slot;
    }
    if (this.heap.length < this.capacity) {
      const made: Slot = { key, count, overcount: 0, bytes: 0, errors: 0, latency: this.keepsLatency ? new LogHistogram() : null, pos: this.heap.length };
      this.heap.push(made);
      this.index.set(key, made);
      this.siftUp(made.pos);
      return made;
    }
    // Replace the least-counted key: the newcomer may have been seen that often before.
    const min = this.heap[0];
    this.index.delete(min.key);
    this.keys?.release(min.key);
    min.overcount = min.count;
    min.count += count;
    min.key = key;
    min.bytes = 0;
    min.errors = 0;
    min.latency?.reset();
    this.index.set(key, min);
    this.siftDown(0);
    return min;
  }

  /** Gives back what the kept keys were charged: the summary is being forgotten. */
  release(): void {
    if (this.keys === null) return;
    for (const entry of this.heap) this.keys.release(entry.key);
  }

  /** Is `key` tracked? */
  has(key: string): boolean {
    return this.index.has(key);
  }

  /** Distinct keys tracked. */
  get size(): number {
    return this.heap.length;
  }

  /** Every entry, in no particular order (do not modify). */
  entries(): readonly HeavyHitter[] {
    return this.heap;
  }

  /** The `n` largest counts, largest first (ties by key, so output is stable); copies. */
  top(n: number, filter?: (key: string) => boolean): HeavyHitter[] {
    const candidates = filter === undefined ? [...this.heap] : this.heap.filter((e) => filter(e.key));
    return candidates
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, n)
      .map((e) => ({ key: e.key, count: e.count, overcount: e.overcount, bytes: e.bytes, errors: e.errors, latency: e.latency }));
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const item = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].count <= item.count) break;
      heap[i] = heap[parent];
      heap[i].pos = i;
      i = parent;
    }
    heap[i] = item;
    item.pos = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const item = heap[i];
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right].count < heap[left].count ? right : left;
      if (heap[child].count >= item.count) break;
      heap[i] = heap[child];
      heap[i].pos = i;
      i = child;
    }
    heap[i] = item;
    item.pos = i;
  }
}
