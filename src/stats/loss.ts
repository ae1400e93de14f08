/**
 * What a capture lost over a span, and how to say it: packets dropped by the kernel or the
 * interface, transactions dropped because wiretop fell behind, and an estimate of the requests
 * that this left incomplete. The alerts, the outputs and the capture health all speak of loss
 * in these words.
 */
import { grouped, lossPercent as percent } from '../format';

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
  if (loss.packetsLost > 0) parts.push(`${grouped(loss.packetsLost)} packets (${percent(packetLossShare(loss))}${impact === '' ? '' : `; ${impact}`})`);
  if (loss.transactionsLost > 0) parts.push(`${grouped(loss.transactionsLost)} transactions (${percent(transactionLossShare(loss))})`);
  return parts.join(' and ');
}

/** What to do about losses, for the lines that report them. */
export const LOSS_ADVICE = 'a larger --buffer-size, a smaller --snaplen or a narrower -p/-f may help';
