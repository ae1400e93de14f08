/** The bounds of the capture worker's state, derived from the config. */
import type { FlowLimits } from './flowTable';

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
    maxHeaders: 200,
    maxPendingRequests: 64,
  };
}
