/**
 * Capture health over time: the latest counters from the capture, their rates, and what the capture lost —
 * packets dropped by the kernel or the interface, transactions dropped because wiretop fell
 * behind — in any recent span of data time. Every output uses it to say when its counts are
 * incomplete, instead of showing numbers that look whole.
 */
import { lossPercent as percent } from '../format';
import { emptyCaptureStats, type CaptureStats } from '../types';

/** What was seen and lost over a span. */
export interface Loss {
  /** Packets captured. */
  packets: number;
  /** Packets the kernel or the interface dropped before wiretop could read them. */
  packetsLost: number;
  /** Transactions wiretop put together (including those it then dropped). */
  transactions: number;
  /** Transactions dropped because the main thread fell too far behind a live capture. */
  transactionsLost: number;
}

/** The share of packets lost, 0..1 (0 when nothing was seen). */
export function packetLossShare(loss: Loss): number {
  const all = loss.packets + loss.packetsLost;
  return all > 0 ? loss.packetsLost / all : 0;
}

/** The share of transactions lost, 0..1. */
export function transactionLossShare(loss: Loss): number {
  return loss.transactions > 0 ? loss.transactionsLost / loss.transactions : 0;
}

/** Did anything go missing? */
export function isLossy(loss: Loss): boolean {
  return loss.packetsLost > 0 || loss.transactionsLost > 0;
}

/** `12% of packets`, `3.1% of transactions`, or both joined by `and`; '' when nothing was lost. */
export function describeLossShare(loss: Loss): string {
  const parts: string[] = [];
  if (loss.packetsLost > 0) parts.push(`${percent(packetLossShare(loss))} of packets`);
  if (loss.transactionsLost > 0) parts.push(`${percent(transactionLossShare(loss))} of transactions`);
  return parts.join(' and ');
}

/** `1,234 packets (0.3%) and 56 transactions (0.1%)`; '' when nothing was lost. */
export function describeLossCounts(loss: Loss): string {
  const parts: string[] = [];
  if (loss.packetsLost > 0) parts.push(`${loss.packetsLost.toLocaleString('en-US')} packets (${percent(packetLossShare(loss))})`);
  if (loss.transactionsLost > 0) parts.push(`${loss.transactionsLost.toLocaleString('en-US')} transactions (${percent(transactionLossShare(loss))})`);
  return parts.join(' and ');
}

/** What to do about losses, for the lines that report them. */
export const LOSS_ADVICE = 'a larger --buffer-size, a smaller --snaplen or a narrower -p/-f may help';

interface Sample {
  now: number;
  packets: number;
  packetsLost: number;
  transactions: number;
  transactionsLost: number;
}

function sampleOf(stats: CaptureStats, now: number): Sample {
  return {
    now,
    packets: stats.packets,
    packetsLost: stats.kernelDrops + stats.ifDrops,
    transactions: stats.events,
    transactionsLost: stats.eventsDropped,
  };
}

function difference(later: Sample, earlier: Sample | null): Loss {
  return {
    packets: later.packets - (earlier?.packets ?? 0),
    packetsLost: later.packetsLost - (earlier?.packetsLost ?? 0),
    transactions: later.transactions - (earlier?.transactions ?? 0),
    transactionsLost: later.transactionsLost - (earlier?.transactionsLost ?? 0),
  };
}

/** The capture's counters over time. */
export class CaptureHealth {
  /** The latest counters (null before the first report), and their data time. */
  latest: CaptureStats | null = null;
  now = -Infinity;
  /** One sample per second of data time at most, for the last `keepSeconds`. */
  private readonly samples: Sample[] = [];
  /** Samples older than `keepSeconds` have been forgotten. */
  private pruned = false;
  /** Packets and transactions per second of data time, over the last half second or more (null until known). */
  packetsPerSecond: number | null = null;
  eventsPerSecond: number | null = null;
  /** The counters the rates are measured from. */
  private rateBase: { packets: number; events: number; now: number } | null = null;

  constructor(private readonly keepSeconds: number) {}

  /** New counters from the capture at data time `now`. */
  update(stats: CaptureStats, now: number): void {
    this.latest = stats;
    if (now > this.now) this.now = now;
    this.updateRates(stats);
    const last = this.samples[this.samples.length - 1];
    if (last === undefined || this.now - last.now >= 1) this.samples.push(sampleOf(stats, this.now));
    while (this.samples.length > 2 && this.samples[1].now < this.now - this.keepSeconds) {
      this.samples.shift();
      this.pruned = true;
    }
  }

  /** Rates need a span: counters closer than half a second to the base wait for the next update. */
  private updateRates(stats: CaptureStats): void {
    const base = this.rateBase;
    if (base !== null && this.now - base.now < 0.5) return;
    if (base !== null) {
      const span = this.now - base.now;
      this.packetsPerSecond = (stats.packets - base.packets) / span;
      this.eventsPerSecond = (stats.events - base.events) / span;
    }
    this.rateBase = { packets: stats.packets, events: stats.events, now: this.now };
  }

  /** Everything since the capture started. */
  total(): Loss {
    return difference(sampleOf(this.latest ?? emptyCaptureStats(), this.now), null);
  }

  /** The span of data time (`from`, `to`] (as far as samples reach back). */
  between(from: number, to: number): Loss {
    if (this.latest === null) return this.total();
    const end = to >= this.now ? sampleOf(this.latest, this.now) : this.sampleAt(to);
    const start = this.sampleAt(from);
    return end === null ? difference(sampleOf(emptyCaptureStats(), 0), null) : difference(end, start !== null && start.now <= end.now ? start : null);
  }

  /** The last `seconds` of data time. */
  recent(seconds: number): Loss {
    return this.between(this.now - seconds, this.now);
  }

  /** The latest sample taken at or before `time` (the oldest kept one if older); null: the start. */
  private sampleAt(time: number): Sample | null {
    let found: Sample | null = this.pruned ? this.samples[0] : null;
    for (const sample of this.samples) {
      if (sample.now > time) break;
      found = sample;
    }
    return found;
  }
}
