/**
 * The one memory budget (`memory_budget_mb`) and how it is shared out. Every structure that
 * grows with the traffic, in the capture thread (connections, buffers, waiting requests) and in
 * the main thread (the statistics' keys, the dashboard's transactions), draws on one part of it,
 * charged what its data really costs; past its part it gives up data and counts it.
 */
import { getHeapStatistics } from 'v8';

/** The default `memory_budget_mb`: with the runtime itself (~65 MB, ~95 MB live with the ring), the process stays under 250 MB (the hostile bench). */
export const DEFAULT_MEMORY_BUDGET_MB = 160;

/**
 * How the budget is shared out. Connections take the largest part because a busy server has
 * many, and they are what is tracked at all; out-of-order data and waiting requests only fill
 * up under loss or attack. A tenth is left to no part: the garbage a collector has not freed
 * yet takes room too (measured: a flood of unanswered requests with distinct 1 KB strings,
 * replayed live to the dashboard, went over 250 MB with that tenth given to waiting requests
 * and the dashboard's transactions).
 */
export const BUDGET_SHARES = {
  connections: 0.225,
  outOfOrder: 0.2,
  heads: 0.125,
  pendingRequests: 0.1,
  heldTransactions: 0.05,
  transactionsInFlight: 0.05,
  recentTransactions: 0.05,
  // The statistics' keys beyond their first characters (see stats/keyBudget).
  statistics: 0.1,
} as const;

export type BudgetPart = keyof typeof BUDGET_SHARES;

/** A part of the budget, in bytes. */
export function budgetShare(memoryBudgetMb: number, part: BudgetPart): number {
  return Math.floor(memoryBudgetMb * 1024 * 1024 * BUDGET_SHARES[part]);
}

/** The heap limit of the calling thread, in MB (the process's --max-old-space-size when one is set, and the young generation). */
export function heapLimitMb(): number {
  return Math.floor(getHeapStatistics().heap_size_limit / (1024 * 1024));
}

/**
 * The part of a thread's heap limit the budget may take: the rest is room for the garbage
 * between two collections (a heap near its limit collects all the time, then fails).
 */
export const HEAP_BUDGET_RATIO = 0.5;

/** The smallest budget wiretop runs with, whatever the heap (a few thousand connections). */
export const MIN_MEMORY_BUDGET_MB = 16;

/**
 * The budget a run uses under a heap limit of `heapLimitMb` (each thread has its own heap, as
 * large as the process's limit when one is set): `budgetMb`, or less when that would not fit.
 */
export function budgetForHeap(budgetMb: number, heapLimitMb: number): number {
  return Math.min(budgetMb, Math.max(MIN_MEMORY_BUDGET_MB, Math.floor(heapLimitMb * HEAP_BUDGET_RATIO)));
}

/**
 * What a live capture's parts share: the kernel's ring buffer (`buffer_size`, mapped into the
 * process and filled under load) is part of the one budget.
 */
export function budgetBesideRing(budgetMb: number, ringMb: number): number {
  return Math.max(MIN_MEMORY_BUDGET_MB, budgetMb - ringMb);
}

/**
 * The capture thread's heap limit for a budget: its parts on the JavaScript heap (connections,
 * waiting requests, held transactions: under half of it) with as much again for garbage, so
 * that its collector runs before the process grows, not after.
 */
export function captureHeapLimitMb(budgetMb: number): number {
  return Math.max(64, Math.ceil(budgetMb));
}
