/**
 * Capture health over time: the latest counters from the capture, their rates, and what the capture lost —
 * packets dropped by the kernel or the interface, transactions dropped because wiretop fell
 * behind — in any recent span of data time. Every output uses it to say when its counts are
 * incomplete, instead of showing numbers that look whole.
 */
import { lossOf, type Loss } from '../stats/loss';
import { emptyCaptureStats, type CaptureStats } from '../types';
import type { WorkerLoad } from '../capture/shardMerger';

/** The cumulative counters at data time `now`. */
interface Sample extends Loss {
  now: number;
}

function sampleOf(stats: CaptureStats, now: number): Sample {
  // A request given up to make room (pipelineDrops) goes out unanswered, apart from `unanswered`.
  const requestsUnanswered = stats.unanswered + stats.pipelineDrops;
  return {
    now,
    packets: stats.packets,
    packetsLost: stats.kernelDrops + stats.ifDrops,
    transactions: stats.events,
    transactionsLost: stats.eventsDropped,
    requestsAnswered: Math.max(0, stats.events - requestsUnanswered),
    requestsUnanswered,
    responsesOrphaned: stats.orphanResponses,
  };
}

const LOSS_FIELDS = ['packets', 'packetsLost', 'transactions', 'transactionsLost', 'requestsAnswered', 'requestsUnanswered', 'responsesOrphaned'] as const;

function difference(later: Sample, earlier: Sample | null): Loss {
  const loss = lossOf();
  for (const field of LOSS_FIELDS) loss[field] = later[field] - (earlier?.[field] ?? 0);
  return loss;
}

/** The capture's counters over time. */
export class CaptureHealth {
  /** The latest counters (null before the first report), and their data time. */
  latest: CaptureStats | null = null;
  now = -Infinity;
  /** The data time of the first counters: when the capture started, as the data tells it (Infinity before). */
  started = Infinity;
  /** One sample per second of data time at most, for the last `keepSeconds`. */
  private readonly samples: Sample[] = [];
  /** Samples older than `keepSeconds` have been forgotten. */
  private pruned = false;
  /** Packets and transactions per second of data time, over the last half second or more (null until known). */
  packetsPerSecond: number | null = null;
  eventsPerSecond: number | null = null;
  /** The counters the rates are measured from. */
  private rateBase: { packets: number; events: number; now: number } | null = null;

  /** Each capture worker's load, when the capture is split among several (else empty). */
  workers: readonly WorkerLoad[] = [];

  constructor(private readonly keepSeconds: number) {}

  /**
   * How much busier the busiest worker is than the average, by packets (1: even; null with one
   * worker or before any packet): a hot connection, or one client with most of the traffic,
   * leaves the other workers idle.
   */
  workerSkew(): number | null {
    if (this.workers.length < 2) return null;
    const packets = this.workers.map((w) => w.packets);
    const total = packets.reduce((a, b) => a + b, 0);
    if (total === 0) return null;
    return Math.max(...packets) / (total / packets.length);
  }

  /** New counters from the capture at data time `now` (and each worker's load, when there are several). */
  update(stats: CaptureStats, now: number, workers?: readonly WorkerLoad[]): void {
    this.latest = stats;
    if (workers !== undefined) this.workers = workers;
    if (this.started === Infinity) this.started = now;
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
    return end === null ? lossOf() : difference(end, start !== null && start.now <= end.now ? start : null);
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
