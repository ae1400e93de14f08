/**
 * The one memory budget (`memory_budget_mb`) and how it is shared out. Every structure that
 * grows with the traffic, in the capture thread (connections, buffers, waiting requests) and in
 * the main thread (the statistics' keys, the dashboard's transactions), draws on one part of it,
 * charged what its data really costs; past its part it gives up data and counts it.
 */

/** The default `memory_budget_mb`: with the runtime itself (~90 MB), the process stays under ~300 MB. */
export const DEFAULT_MEMORY_BUDGET_MB = 160;

/**
 * How the budget is shared out. Connections take the largest part because a busy server has
 * many, and they are what is tracked at all; out-of-order data and waiting requests only fill
 * up under loss or attack.
 */
export const BUDGET_SHARES = {
  connections: 0.225,
  outOfOrder: 0.2,
  heads: 0.125,
  pendingRequests: 0.15,
  heldTransactions: 0.05,
  transactionsInFlight: 0.05,
  recentTransactions: 0.1,
  // The statistics' keys beyond their first characters (see stats/keyBudget).
  statistics: 0.1,
} as const;

export type BudgetPart = keyof typeof BUDGET_SHARES;

/** A part of the budget, in bytes. */
export function budgetShare(memoryBudgetMb: number, part: BudgetPart): number {
  return Math.floor(memoryBudgetMb * 1024 * 1024 * BUDGET_SHARES[part]);
}
