/**
 * Wall time, for the few things that are about the machine rather than the traffic (how long
 * an interface has been down). Statistics never read it: they run on the data's clock, the
 * packet timestamps, so a capture file gives the same answer on every run. The clock is
 * passed in from main, so that a test can move it by hand.
 */

/** Where a run reads wall time. */
export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
}

/** The machine's clock. */
export const systemClock: Clock = { now: () => Date.now() };
