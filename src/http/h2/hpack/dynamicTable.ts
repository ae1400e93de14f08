/**
 * The dynamic table of one direction of an HTTP/2 connection, kept in step with the encoder's
 * (RFC 7541 §2.3.2, §4): newest entry first, a ring of strings, evicted oldest first.
 *
 * Joined mid-stream, the table also bounds what it does not know. The encoder may still hold
 * entries from before the capture began; they are older than every entry seen since, so they
 * sit behind them, and the entries seen are always the front of the encoder's table, at the
 * same indices. `unknownRoom` bounds the bytes those older entries can still take:
 * - at the start, the whole maximum size (nothing seen says otherwise);
 * - adding an entry of size s: before it goes in, the encoder evicts from the end until the
 *   table's size is at most max − s (§4.4). The unknown entries are at the end, so they go
 *   first, and what of them survives fits in max − s − (size of the seen entries). If that
 *   is negative a seen entry had to go too, after every unknown one: none is left.
 *   An entry larger than the maximum empties the table (§4.4): none is left either;
 * - a size update to max′: the encoder evicts until the table fits max′ (§4.3), so what
 *   survives fits in max′ − (size of the seen entries); a size update to 0 leaves nothing;
 * - nothing else can make room for an unknown entry: none is ever added after the start.
 * Every entry takes at least 32 bytes (§4.1, empty name and value), so once `unknownRoom` is
 * below 32 no unknown entry is left and the table is known whole: exactly the condition
 * "the seen entries have forced the older ones out", and no weaker one follows from §4.4,
 * since any room of 32 bytes or more may still hold an unseen entry of that size.
 *
 * The maximum size itself is an assumption until a size update tells it: 4096, the default,
 * unless the encoder went higher before the capture. An index past every entry a table of the
 * assumed size could hold proves it higher: the table then assumes the cap (the most any size
 * update may set), which bounds the unknown entries again but proves nothing by filling.
 *
 * An entry added with the name of an unknown entry has an unknown name, so its size is known
 * only from below (name length ≥ 0). Sizes here are those lower bounds: an entry is evicted
 * only when the encoder must have evicted it, and may be kept after the encoder let it go
 * (harmless: the encoder never names an index it no longer has); `unknownRoom` stays an upper
 * bound. The table is whole again once no such entry is left and `unknownRoom` is below 32.
 */

/** Bytes an entry counts beyond its name and value (§4.1). */
export const ENTRY_OVERHEAD = 32;

/** Slots of a new ring: a few requests' worth of headers. */
const INITIAL_SLOTS = 16;

/** A header name and value table, newest first, mirroring the encoder's (see the file comment). */
export class DynamicTable {
  private names: Array<string | null> = new Array<string | null>(INITIAL_SLOTS).fill(null);
  private values: string[] = new Array<string>(INITIAL_SLOTS).fill('');
  /** Ring position of the newest entry. */
  private head = 0;
  private count = 0;
  private currentSize = 0;
  private currentMax: number;
  private room: number;
  /** Entries whose name is unknown (their size is a lower bound). */
  private uncertain = 0;
  private added = 0;
  /** Whether `currentMax` is assumed rather than seen (from the start, or in a size update). */
  private maxAssumed: boolean;

  /**
   * `maxSize`: the maximum size in force at the start; `joined`: the table was not seen from its
   * start (its entries and maximum are unknown); `cap`: the most a size update may set.
   */
  constructor(maxSize: number, joined: boolean, private readonly cap = maxSize) {
    this.currentMax = maxSize;
    this.room = joined ? maxSize : 0;
    this.maxAssumed = joined;
  }

  /** Entries held. */
  get length(): number {
    return this.count;
  }

  /** The table's size in HPACK terms (§4.1); a lower bound while a name is unknown. */
  get size(): number {
    return this.currentSize;
  }

  /** The maximum size the encoder last signalled (or the default it started with). */
  get maxSize(): number {
    return this.currentMax;
  }

  /** An upper bound on the bytes held by entries from before the capture (0 when none is left). */
  get unknownRoom(): number {
    return this.room;
  }

  /** Entries added since the start (a running total). */
  get insertions(): number {
    return this.added;
  }

  /** How many entries from before the capture may still sit behind the known ones. */
  get possibleUnknown(): number {
    return Math.floor(this.room / ENTRY_OVERHEAD);
  }

  /** Whether every entry the encoder holds is known, name and value. */
  get complete(): boolean {
    return this.room < ENTRY_OVERHEAD && this.uncertain === 0;
  }

  /** The name of entry `i` (0 is the newest; i < length), null when it is unknown. */
  nameAt(i: number): string | null {
    return this.names[(this.head + i) & (this.names.length - 1)];
  }

  /** The value of entry `i` (0 is the newest; i < length). */
  valueAt(i: number): string {
    return this.values[(this.head + i) & (this.values.length - 1)];
  }

  /** Adds an entry that fits the maximum size (§4.4); `name` null when it is unknown. */
  insert(name: string | null, value: string): void {
    const entrySize = (name === null ? 0 : name.length) + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.currentMax) {
      this.insertTooLarge();
      return;
    }
    this.bound(this.currentMax - entrySize - this.currentSize);
    this.evictTo(this.currentMax - entrySize);
    if (this.count === this.names.length) this.grow();
    const slot = (this.head - 1) & (this.names.length - 1);
    this.head = slot;
    this.names[slot] = name;
    this.values[slot] = value;
    this.count++;
    this.currentSize += entrySize;
    this.added++;
    if (name === null) this.uncertain++;
  }

  /** Adds an entry larger than the maximum size: the table empties and keeps nothing (§4.4). */
  insertTooLarge(): void {
    this.evictTo(0);
    this.room = 0;
    this.added++;
  }

  /** Applies a dynamic table size update (§4.3, §6.3). */
  resize(maxSize: number): void {
    this.currentMax = maxSize;
    this.maxAssumed = false;
    this.bound(maxSize - this.currentSize);
    this.evictTo(maxSize);
  }

  /**
   * Forgets every entry: the table may be out of step, so all it held becomes unknown, and so
   * does the maximum (a size update may have been lost with the rest).
   */
  forget(): void {
    this.evictTo(0);
    this.room = this.currentMax;
    this.maxAssumed = true;
  }

  /**
   * Called for an index past every entry there could be: when the maximum was only assumed,
   * the encoder's is larger, so assume the cap and give true (the index may be valid); false
   * when the maximum is known or already the cap (the index is malformed).
   */
  widen(): boolean {
    if (!this.maxAssumed || this.currentMax >= this.cap) return false;
    this.currentMax = this.cap;
    // Entries evicted here under the smaller maximum may still be there: behind, unknown.
    this.room = this.cap - this.currentSize;
    return true;
  }

  /** Lowers `unknownRoom` to `room` (none when negative). */
  private bound(room: number): void {
    if (room < this.room) this.room = room > 0 ? room : 0;
  }

  /** Evicts the oldest entries until the size is at most `size`. */
  private evictTo(size: number): void {
    const mask = this.names.length - 1;
    while (this.count > 0 && this.currentSize > size) {
      const slot = (this.head + this.count - 1) & mask;
      const name = this.names[slot];
      this.currentSize -= (name === null ? 0 : name.length) + this.values[slot].length + ENTRY_OVERHEAD;
      if (name === null) this.uncertain--;
      // Let the strings go: a ring slot would otherwise keep them alive until it is reused.
      this.names[slot] = null;
      this.values[slot] = '';
      this.count--;
    }
  }

  /** Doubles the ring, oldest entries kept behind the newest. */
  private grow(): void {
    const slots = this.names.length * 2;
    const names = new Array<string | null>(slots).fill(null);
    const values = new Array<string>(slots).fill('');
    for (let i = 0; i < this.count; i++) {
      names[i] = this.nameAt(i);
      values[i] = this.valueAt(i);
    }
    this.names = names;
    this.values = values;
    this.head = 0;
  }
}
