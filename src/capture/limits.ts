/** The bounds of the capture worker's state, derived from the config. */
import { ByteBudget } from './byteBudget';
import type { FlowLimits } from './flowTable';

/** Bytes all message-head buffers may hold together. */
export const HEAD_BUFFER_BUDGET = 32 * 1024 * 1024;

/** Bytes the requests waiting for responses may hold together. */
export const PENDING_REQUEST_BUDGET = 64 * 1024 * 1024;

/** Defaults sized for a busy server: ~200k connections, 64 MB of out-of-order data at most. */
export function captureLimits(maxStrLength: number): FlowLimits {
  return {
    maxFlows: 200_000,
    idleSeconds: 120,
    maxBufferedBytes: 64 * 1024 * 1024,
    maxStreamBufferBytes: 1024 * 1024,
    maxStreamSegments: 512,
    maxHoleSeconds: 5,
    maxStrLength,
    maxHeadBytes: 64 * 1024,
    // Heads that span segments, all connections together (a flood of unfinished heads stops here).
    headBuffers: new ByteBudget(HEAD_BUFFER_BUDGET),
    maxHeaders: 200,
    maxPendingRequests: 64,
    // Requests waiting for their responses, all connections together (their strings included).
    pendingRequests: new ByteBudget(PENDING_REQUEST_BUDGET),
  };
}
