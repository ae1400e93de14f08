/**
 * Unique visitors per day, as GoAccess counts them: distinct (client address, User-Agent) pairs
 * per UTC day of data time, the client being the one every panel uses (a trusted proxy's
 * forwarded address, else the TCP peer). Counted with a HyperLogLog sketch per day (16 KB,
 * ~0.8% standard error, exact in practice below a few hundred visitors thanks to its linear
 * counting), so a flood of distinct clients costs no more memory than a quiet day. Kept: today
 * and the days the retention reaches into (at most 31).
 */
import type { Config } from '../config';
import { memoized } from '../memo';
import { mix32 } from '../mix32';
import type { HttpEvent } from '../types';
import type { PanelRows, StatModule } from './statModule';
import type { WindowName } from './windows';

/** Register index bits: 2^14 registers. */
const PRECISION = 14;
const REGISTERS = 1 << PRECISION;
const ALPHA = 0.7213 / (1 + 1.079 / REGISTERS);

/** Days kept, at most. */
const MAX_DAYS = 31;

/** A HyperLogLog sketch of 32-bit hashes. */
export class HyperLogLog {
  private readonly registers = new Uint8Array(REGISTERS);

  add(hash: number): void {
    const index = hash >>> (32 - PRECISION);
    const rest = (hash << PRECISION) >>> 0;
    // The position of the first 1 bit in the remaining 18 bits (18 + 1 when they are all 0).
    const rank = rest === 0 ? 32 - PRECISION + 1 : Math.clz32(rest) + 1;
    if (rank > this.registers[index]) this.registers[index] = rank;
  }

  count(): number {
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < REGISTERS; i++) {
      sum += 2 ** -this.registers[i];
      if (this.registers[i] === 0) zeros++;
    }
    const raw = (ALPHA * REGISTERS * REGISTERS) / sum;
    // Small counts: linear counting over the empty registers is the better estimate.
    if (raw <= 2.5 * REGISTERS && zeros > 0) return Math.round(REGISTERS * Math.log(REGISTERS / zeros));
    return Math.round(raw);
  }
}

/** FNV-1a over a string's UTF-16 units, then mixed (murmur3's finaliser): HyperLogLog needs well-spread bits. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** One hash of two: the pair (client, User-Agent) as HyperLogLog counts it. */
function pairHash(a: number, b: number): number {
  return mix32(a ^ Math.imul(b, 0x9e3779b1));
}

/** `2026-12-07` for epoch seconds (UTC). */
export function dayOf(epochSeconds: number): string {
  return new Date(Math.floor(epochSeconds / 86400) * 86400 * 1000).toISOString().slice(0, 10);
}

export interface UniqueVisitorsReport {
  /** Visitors per UTC day, oldest first. */
  days: Array<{ day: string; visitors: number }>;
}

export class UniqueVisitorsModule implements StatModule<UniqueVisitorsReport> {
  readonly name = 'uniqueVisitors';
  private readonly days = new Map<number, HyperLogLog>();
  private readonly keep: number;
  /** The newest day counted, and the data's clock (the last second closed). */
  private newest = -Infinity;
  private now = -Infinity;
  /** Addresses and User-Agents repeat from request to request: each distinct one is hashed once (long ones each time: they would pin memory). */
  private readonly clientHash = memoized(hash32, 4096, (text) => text.length <= 64);
  private readonly uaHash = memoized(hash32, 4096, (text) => text.length <= 256);

  constructor(config: Config) {
    // Today, and the days the retention reaches back into.
    this.keep = Math.min(MAX_DAYS, Math.ceil(config.max_retention_length / 86400) + 1);
  }

  ingest(event: HttpEvent): void {
    // A time that is no time has no day (the capture skips such packets; merged streams are checked too).
    if (!Number.isFinite(event.ts)) return;
    const day = Math.floor(event.ts / 86400);
    // A day after tomorrow of the data's clock is a packet's bad clock, not a day: it must not push today out.
    if (Number.isFinite(this.now) && day > Math.floor(this.now / 86400) + 1) return;
    let sketch = this.days.get(day);
    if (sketch === undefined) {
      if (day <= this.newest - this.keep) return;
      sketch = new HyperLogLog();
      this.days.set(day, sketch);
      if (day > this.newest) {
        this.newest = day;
        for (const kept of this.days.keys()) if (kept <= day - this.keep) this.days.delete(kept);
      }
    }
    sketch.add(pairHash(this.clientHash(event.client), this.uaHash(event.ua)));
  }

  /** Data time moved on: the clock future-dated events are judged by. */
  tick(second: number): void {
    this.now = second;
  }

  /** Unique visitors of the day of `now` (data time). */
  today(now: number): number {
    return this.days.get(Math.floor(now / 86400))?.count() ?? 0;
  }

  rows(_window: WindowName, _now: number, limit: number): PanelRows {
    const days = this.report().days.slice(-limit).reverse();
    return { title: 'Unique visitors', columns: ['Day (UTC)', { header: 'Visitors', alignRight: true, width: 9 }], rows: days.map((d) => [d.day, String(d.visitors)]) };
  }

  report(): UniqueVisitorsReport {
    return { days: [...this.days.entries()].sort((a, b) => a[0] - b[0]).map(([day, sketch]) => ({ day: dayOf(day * 86400), visitors: sketch.count() })) };
  }
}
