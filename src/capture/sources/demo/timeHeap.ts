/** A binary min-heap by time, for the traffic generators: what is scheduled out of order comes out in order. */
export class TimeHeap<T extends { ts: number }> {
  private items: T[] = [];

  get size(): number { return this.items.length; }

  peek(): T { return this.items[0]; }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent].ts <= item.ts) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = item;
  }

  pop(): T {
    const items = this.items;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= items.length) break;
        const right = left + 1;
        const child = right < items.length && items[right].ts < items[left].ts ? right : left;
        if (items[child].ts >= last.ts) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}
