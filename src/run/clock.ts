/**
 * Wall time, for the few things that are about the machine rather than the traffic: how long
 * an interface has been down, how often the dashboard redraws. Statistics never read it: they
 * run on the data's clock, the packet timestamps, so a capture file gives the same answer on
 * every run. The clock is passed in, so that a test can move it by hand.
 */

/** Where wall time is read, and waited on. */
export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
  /** Calls `callback` in `ms` milliseconds; returns what `clearTimeout` cancels. */
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The machine's clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
