/**
 * The bounds of the capture worker's state, derived from the config. The growing buffers —
 * out-of-order segments, message heads that span segments, requests waiting for their
 * responses — draw on one memory budget (`memory_budget_mb`), shared out between them: each
 * part is charged what its data really costs, and past its share the oldest or the newest is
 * given up and counted, never the process.
 */
import { ByteBudget } from './byteBudget';
import type { FlowLimits } from './flowTable';

/** The default `memory_budget_mb`. */
export const DEFAULT_MEMORY_BUDGET_MB = 160;

/** How the budget is shared out (the rest of the process — tables, statistics — is bounded by counts). */
const SHARES = { outOfOrder: 0.4, heads: 0.2, pendingRequests: 0.4 } as const;

/** Defaults sized for a busy server: ~200k connections; buffers within `memoryBudgetMb`. */
export function captureLimits(maxStrLength: number, memoryBudgetMb = DEFAULT_MEMORY_BUDGET_MB): FlowLimits {
  const budget = memoryBudgetMb * 1024 * 1024;
  return {
    maxFlows: 200_000,
    idleSeconds: 120,
    maxBufferedBytes: Math.floor(budget * SHARES.outOfOrder),
    maxStreamBufferBytes: 1024 * 1024,
    maxStreamSegments: 512,
    maxHoleSeconds: 5,
    maxStrLength,
    maxHeadBytes: 64 * 1024,
    // Heads that span segments, all connections together (a flood of unfinished heads stops here).
    headBuffers: new ByteBudget(Math.floor(budget * SHARES.heads)),
    maxHeaders: 200,
    maxPendingRequests: 64,
    // Requests waiting for their responses, all connections together (their strings included).
    pendingRequests: new ByteBudget(Math.floor(budget * SHARES.pendingRequests)),
  };
}
