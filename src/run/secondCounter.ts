/**
 * A running counter (packets captured) read at the end of each second of data time, so that
 * its growth over whole seconds can be set beside counts kept per second (requests): the
 * dashboard's "now" rates all cover the same seconds.
 */

/** The counter's value at the end of a second: the last report within it. */
interface Reading {
  second: number;
  value: number;
}

/** A counter's readings per second of data time, for the last `keepSeconds`. */
export class SecondCounter {
  private readonly readings: Reading[] = [];
  /** Readings older than `keepSeconds` were forgotten: before the oldest kept, the value is unknown. */
  private forgotten = false;

  constructor(private readonly keepSeconds: number) {}

  /** The counter reads `value` at data time `time`. */
  record(value: number, time: number): void {
    const second = Math.floor(time);
    const last = this.readings[this.readings.length - 1];
    if (last !== undefined && second < last.second) return;
    if (last !== undefined && last.second === second) last.value = value;
    else this.readings.push({ second, value });
    while (this.readings.length > 1 && this.readings[0].second < second - this.keepSeconds) {
      this.readings.shift();
      this.forgotten = true;
    }
  }

  /** The value at the end of `second` (the latest reading at or before it); 0 before the first; null when forgotten. */
  private valueAt(second: number): number | null {
    let found: number | null = this.forgotten ? null : 0;
    for (const reading of this.readings) {
      if (reading.second > second) break;
      found = reading.value;
    }
    return found;
  }

  /** How much the counter grew over seconds (`fromExclusive`, `toInclusive`]; null when unknown. */
  growth(fromExclusive: number, toInclusive: number): number | null {
    const end = this.valueAt(toInclusive);
    const start = this.valueAt(fromExclusive);
    return end === null || start === null ? null : end - start;
  }
}
