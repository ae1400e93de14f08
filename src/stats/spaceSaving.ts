/**
 * Space-Saving heavy-hitter counting (Metwally et al.): at most `capacity` keys are tracked;
 * a new key takes the place of the least-counted one and inherits its count as its error. Every
 * key whose true count exceeds total/capacity is kept, and each count is over by at most its
 * `error`. Exact while fewer than `capacity` distinct keys have been seen. Memory is bounded
 * whatever the key cardinality (a flood of random URIs cannot grow it).
 */

/** One tracked key. */
export interface HeavyHitter {
  key: string;
  count: number;
  /** Upper bound of how much `count` over-estimates the true count (0: exact). */
  error: number;
  /** Sum of the values added with this key (bytes, say); as approximate as `count`. */
  sum: number;
}

/** A bounded top-k counter. */
export class SpaceSaving {
  /** Min-heap on count; `index` maps a key to its heap position. */
  private readonly heap: HeavyHitter[] = [];
  private readonly index = new Map<string, number>();
  /** Total weight added. */
  total = 0;

  constructor(readonly capacity: number) {}

  /** Counts `key` once more (weight `count`), adding `value` to its sum. */
  add(key: string, count = 1, value = 0): void {
    this.total += count;
    const at = this.index.get(key);
    if (at !== undefined) {
      const entry = this.heap[at];
      entry.count += count;
      entry.sum += value;
      this.siftDown(at);
      return;
    }
    key = ownCopy(key);
    if (this.heap.length < this.capacity) {
      this.heap.push({ key, count, error: 0, sum: value });
      this.index.set(key, this.heap.length - 1);
      this.siftUp(this.heap.length - 1);
      return;
    }
    // Replace the least-counted key: the newcomer may have been that often before.
    const min = this.heap[0];
    this.index.delete(min.key);
    min.error = min.count;
    min.count += count;
    min.key = key;
    min.sum = value;
    this.index.set(key, 0);
    this.siftDown(0);
  }

  /** Distinct keys tracked. */
  get size(): number {
    return this.heap.length;
  }

  /** True when some count may be over-estimated (more distinct keys than capacity were seen). */
  get approximate(): boolean {
    return this.heap.some((e) => e.error > 0);
  }

  /** The `n` largest counts, largest first (ties by key, so output is stable). */
  top(n: number): HeavyHitter[] {
    return [...this.heap]
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, n)
      .map((e) => ({ ...e }));
  }

  /** Count of one key (0 when not tracked). */
  countOf(key: string): number {
    const at = this.index.get(key);
    return at === undefined ? 0 : this.heap[at].count;
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const item = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].count <= item.count) break;
      heap[i] = heap[parent];
      this.index.set(heap[i].key, i);
      i = parent;
    }
    heap[i] = item;
    this.index.set(item.key, i);
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
      this.index.set(heap[i].key, i);
      i = child;
    }
    heap[i] = item;
    this.index.set(item.key, i);
  }
}

/**
 * A copy of `text` that does not share storage with the string it was cut from: a key kept for
 * long must not pin the whole batch string its event arrived in (V8 slices share memory).
 */
export function ownCopy(text: string): string {
  return (' ' + text).slice(1);
}
