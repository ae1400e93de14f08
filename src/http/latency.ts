/** A transaction's latency, the same for every HTTP version. */

/** Request sent → first byte of its response, in ms to the microsecond; null when no response was seen (`responseTs` < 0). */
export function latencyMs(requestTs: number, responseTs: number): number | null {
  // Never negative: a response timestamped a hair before its request (clock steps, reordering) is 0.
  return responseTs >= 0 ? Math.max(0, Math.round((responseTs - requestTs) * 1e6) / 1e3) : null;
}
