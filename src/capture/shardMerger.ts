/**
 * The main thread's merge of several capture workers: each worker's transactions come in
 * request-time order with a watermark (every transaction that started before it has been
 * sent); the merge gives them out in one time order, up to the lowest watermark of the workers
 * still running, so the statistics close a second only once every worker is past it. Its counters
 * are the sum of the workers'.
 */
import { emptyCaptureStats, type CaptureStats, type HttpEvent, type TlsConnection } from '../types';

/**
 * Transactions the merge may hold at most (~25 MB): a worker whose watermark lags far behind (a
 * live worker starved of CPU) does not hold the others' transactions without bound; past this
 * the oldest go out, and the lagging worker's late ones count as stragglers.
 */
export const MAX_SHARD_HELD = 65_536;

/** One worker's load, for the capture health's skew. */
export interface WorkerLoad {
  packets: number;
  transactions: number;
  kernelDrops: number;
}

interface Shard {
  held: HttpEvent[];
  /** Transactions taken in and given out so far. */
  received: number;
  released: number;
  /** TLS connections that ended, each group after the `after`-th transaction this worker sent. */
  tls: Array<{ after: number; connections: TlsConnection[] }>;
  watermark: number;
  ended: boolean;
  stats: CaptureStats | null;
  now: number;
}

function byTs(a: HttpEvent, b: HttpEvent): number {
  return a.ts - b.ts;
}

/** Merges the transactions and counters of `count` workers. */
export class ShardMerger {
  private readonly shards: Shard[];
  private heldCount = 0;
  /** No transaction went out below this (the merge's own watermark, never moved back). */
  private released = -Infinity;

  constructor(readonly count: number) {
    this.shards = Array.from({ length: count }, () => ({ held: [], received: 0, released: 0, tls: [], watermark: -Infinity, ended: false, stats: null, now: -Infinity }));
  }

  /** Worker `shard`'s transactions (in its time order) and its new watermark. */
  addEvents(shard: number, events: readonly HttpEvent[], watermark: number): void {
    const s = this.shards[shard];
    for (const event of events) s.held.push(event);
    s.received += events.length;
    this.heldCount += events.length;
    this.raise(s, watermark);
  }

  /**
   * TLS connections that ended in worker `shard`: they go out once the transactions that worker
   * sent before them have (as one worker's messages come), see releaseTls.
   */
  addTls(shard: number, connections: TlsConnection[]): void {
    const s = this.shards[shard];
    s.tls.push({ after: s.received, connections });
  }

  /** The TLS connections due: those whose worker's earlier transactions have all gone out. */
  releaseTls(): TlsConnection[][] {
    const out: TlsConnection[][] = [];
    for (const s of this.shards) {
      while (s.tls.length > 0 && s.tls[0].after <= s.released) out.push(s.tls.shift()!.connections);
    }
    return out;
  }

  /** Worker `shard`'s counters at its data time `now`, and its watermark. */
  addStats(shard: number, stats: CaptureStats, now: number, watermark: number): void {
    const s = this.shards[shard];
    s.stats = stats;
    if (now > s.now) s.now = now;
    this.raise(s, watermark);
  }

  /** Worker `shard` has ended: it holds back nothing more. */
  end(shard: number): void {
    this.shards[shard].ended = true;
  }

  get allEnded(): boolean {
    return this.shards.every((s) => s.ended);
  }

  private raise(shard: Shard, watermark: number): void {
    if (watermark > shard.watermark) shard.watermark = watermark;
  }

  /** Every transaction that started before this has been given out (Infinity once all ended). */
  watermark(): number {
    let mark = Infinity;
    for (const s of this.shards) if (!s.ended && s.watermark < mark) mark = s.watermark;
    return Math.max(mark, this.released);
  }

  /** The latest data time of any worker. */
  now(): number {
    let now = -Infinity;
    for (const s of this.shards) if (s.now > now) now = s.now;
    return now;
  }

  /** The transactions that can go out now, in one time order (ties: the lower worker first). */
  release(): HttpEvent[] {
    if (this.heldCount === 0) return [];
    let mark = this.watermark();
    if (this.heldCount > MAX_SHARD_HELD) mark = Math.max(mark, this.oldestToFree());
    const out: HttpEvent[] = [];
    let runs = 0;
    for (const s of this.shards) {
      const held = s.held;
      let n = 0;
      while (n < held.length && held[n].ts < mark) n++;
      if (mark === Infinity) n = held.length;
      if (n === 0) continue;
      runs++;
      for (let i = 0; i < n; i++) out.push(held[i]);
      s.held = n === held.length ? [] : held.slice(n);
      s.released += n;
    }
    this.heldCount -= out.length;
    // Each worker's part is in order already: a stable sort of two or more runs merges them.
    if (runs > 1) out.sort(byTs);
    if (mark > this.released && mark !== Infinity) this.released = mark;
    return out;
  }

  /** The time below which half the held transactions are (they go out when the merge is full). */
  private oldestToFree(): number {
    const all: number[] = [];
    for (const s of this.shards) for (const e of s.held) all.push(e.ts);
    all.sort((a, b) => a - b);
    return all[Math.floor(all.length / 2)];
  }

  /** The workers' counters summed (flows active, drops, everything; the interface is down if any says so). */
  stats(): CaptureStats {
    const total = emptyCaptureStats();
    const keys = Object.keys(total) as Array<keyof CaptureStats>;
    for (const s of this.shards) {
      if (s.stats === null) continue;
      for (const key of keys) (total[key] as number) += s.stats[key] as number;
    }
    total.interfaceDown = Math.max(0, ...this.shards.map((shard) => shard.stats?.interfaceDown ?? 0));
    return total;
  }

  /** Each worker's load so far. */
  loads(): WorkerLoad[] {
    return this.shards.map((s) => ({ packets: s.stats?.packets ?? 0, transactions: s.stats?.events ?? 0, kernelDrops: s.stats?.kernelDrops ?? 0 }));
  }
}
