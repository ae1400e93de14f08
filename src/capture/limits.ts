/**
 * The bounds of wiretop's growing state, derived from the config. Every structure that grows
 * with the traffic draws on one memory budget (`memory_budget_mb`), shared out between them:
 * each part is charged what its data really costs (objects, strings at two bytes a character,
 * buffers outside the JavaScript heap), and past its share the oldest (or, for message heads,
 * the newest) is given up and counted in the capture health, never the process.
 */
import type { ConnectionLimits } from '../http/h1/connection';
import type { Http2Limits } from '../http/h2/http2Connection';
import { ByteBudget } from '../protocol/byteBudget';
import type { TlsLimits } from '../tls/tlsProtocol';
import { CONNECTION_COST, type FlowLimits } from './flowTable';
import { budgetShare, DEFAULT_MEMORY_BUDGET_MB, type BudgetPart } from '../memoryBudget';

export { CONNECTION_COST };

/** The capture thread's limits: the tracking state's, its protocols', and the transactions it holds. */
export interface CaptureLimits extends FlowLimits, ConnectionLimits, TlsLimits, Http2Limits {
  /** Bytes of finished transactions held back for request-time order. */
  maxHeldBytes: number;
  /** Bytes of transaction batches sent to the main thread and not yet taken in. */
  maxBytesInFlight: number;
}

/** The limits within `memoryBudgetMb` (the default: ~24,000 connections at once). */
export function captureLimits(maxStrLength: number, memoryBudgetMb = DEFAULT_MEMORY_BUDGET_MB): CaptureLimits {
  const share = (part: BudgetPart) => budgetShare(memoryBudgetMb, part);
  return {
    maxFlows: Math.max(16, Math.floor(share('connections') / CONNECTION_COST)),
    idleSeconds: 120,
    maxBufferedBytes: share('outOfOrder'),
    maxStreamBufferBytes: 1024 * 1024,
    maxStreamSegments: 512,
    maxHoleSeconds: 5,
    maxStrLength,
    maxHeadBytes: 64 * 1024,
    // Heads that span segments, all connections together (a flood of unfinished heads stops here).
    headBuffers: new ByteBudget(share('heads')),
    maxHeaders: 200,
    maxPendingRequests: 64,
    // HTTP/2: a header block is a message head; servers allow 100–128 streams at once.
    maxHeaderBlock: 64 * 1024,
    maxOpenStreams: 256,
    // Requests waiting for their responses, all connections together (their strings included).
    pendingRequests: new ByteBudget(share('pendingRequests')),
    // What protocol sessions (TLS) cost beyond their connection: counted here, it takes room in
    // the connections' share (the flow table ends connections to make room for it).
    sessionCosts: new ByteBudget(Infinity),
    maxHeldBytes: share('heldTransactions'),
    maxBytesInFlight: share('transactionsInFlight'),
  };
}
