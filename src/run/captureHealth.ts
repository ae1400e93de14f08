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
  /** Requests the parser saw with their response. */
  requestsAnswered: number;
  /** Requests the parser saw without a response (the connection ended, or the request was given up). */
  requestsUnanswered: number;
  /** Responses the parser saw without their request. */
  responsesOrphaned: number;
}

/** A Loss of nothing, with `fields` set (tests, and spans before the first counters). */
export function lossOf(fields: Partial<Loss> = {}): Loss {
  return { packets: 0, packetsLost: 0, transactions: 0, transactionsLost: 0, requestsAnswered: 0, requestsUnanswered: 0, responsesOrphaned: 0, ...fields };
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

/**
 * An estimate of the share of requests that were incomplete — the request, its response or
 * both missing — 0..1, or null when the parser saw no request or response at all.
 *
 * Packet loss counts packets; what a user needs is requests. The parser sees three kinds of
 * transaction: complete (C), request without response (U) and response without request (O);
 * a transaction whose request and response were both lost leaves no trace. Seeing the request
 * and seeing the response are taken as two independent samples of the same transactions, so
 * the total is estimated as in capture–recapture (Lincoln–Petersen): N ≈ (C+U)(C+O)/C, and the
 * share incomplete is 1 − C/N = 1 − C² / ((C+U)(C+O)). Losses in bursts lose both halves of a
 * transaction together more often than independence says, so the true share is, if anything,
 * higher. A request is counted unanswered only once its connection ends: on a live capture the
 * estimate trails by up to the connections' life.
 */
export function incompleteRequestShare(loss: Loss): number | null {
  const complete = loss.requestsAnswered;
  const requestOnly = loss.requestsUnanswered;
  const responseOnly = loss.responsesOrphaned;
  if (complete + requestOnly + responseOnly === 0) return null;
  if (complete === 0) return 1;
  return 1 - (complete * complete) / ((complete + requestOnly) * (complete + responseOnly));
}

/** ` (est. 42% of requests incomplete)` when packets were lost and requests seen, else ''. */
function requestImpact(loss: Loss): string {
  const share = loss.packetsLost > 0 ? incompleteRequestShare(loss) : null;
  return share === null ? '' : `est. ${percent(share)} of requests incomplete`;
}

/** Did anything go missing? */
export function isLossy(loss: Loss): boolean {
  return loss.packetsLost > 0 || loss.transactionsLost > 0;
}

/**
 * `68% of packets (est. 42% of requests incomplete)`, `3.1% of transactions`, or both joined by
 * `and`; '' when nothing was lost.
 */
export function describeLossShare(loss: Loss): string {
  const parts: string[] = [];
  const impact = requestImpact(loss);
  if (loss.packetsLost > 0) parts.push(`${percent(packetLossShare(loss))} of packets${impact === '' ? '' : ` (${impact})`}`);
  if (loss.transactionsLost > 0) parts.push(`${percent(transactionLossShare(loss))} of transactions`);
  return parts.join(' and ');
}

/** `1,234 packets (0.3%; est. 0.5% of requests incomplete) and 56 transactions (0.1%)`; '' when nothing was lost. */
export function describeLossCounts(loss: Loss): string {
  const parts: string[] = [];
  const impact = requestImpact(loss);
  if (loss.packetsLost > 0) parts.push(`${loss.packetsLost.toLocaleString('en-US')} packets (${percent(packetLossShare(loss))}${impact === '' ? '' : `; ${impact}`})`);
  if (loss.transactionsLost > 0) parts.push(`${loss.transactionsLost.toLocaleString('en-US')} transactions (${percent(transactionLossShare(loss))})`);
  return parts.join(' and ');
}

/** What to do about losses, for the lines that report them. */
export const LOSS_ADVICE = 'a larger --buffer-size, a smaller --snaplen or a narrower -p/-f may help';

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

  constructor(private readonly keepSeconds: number) {}

  /** New counters from the capture at data time `now`. */
  update(stats: CaptureStats, now: number): void {
    this.latest = stats;
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
