/**
 * Coalesces redraw requests to at most `perSecond` renders a second: data changes ask for a
 * render, and a request made while one is pending is dropped, not queued. Keys render at once.
 */

/** Timers, injectable so tests need no waiting. */
export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Throttles calls to `render`. */
export class RenderScheduler {
  private pending: unknown = null;
  private last = -Infinity;
  /** Renders done (for tests and the benchmark). */
  renders = 0;

  constructor(private readonly render: () => void, private readonly perSecond: number, private readonly timers: Timers = realTimers) {}

  /** Asks for a render; it happens within 1/perSecond s, together with any other request. */
  request(): void {
    if (this.pending !== null) return;
    const wait = Math.max(0, this.last + 1000 / this.perSecond - this.timers.now());
    this.pending = this.timers.setTimeout(() => {
      this.pending = null;
      this.run();
    }, wait);
  }

  /** Renders now (a key was pressed), cancelling a pending request. */
  renderNow(): void {
    if (this.pending !== null) {
      this.timers.clearTimeout(this.pending);
      this.pending = null;
    }
    this.run();
  }

  stop(): void {
    if (this.pending !== null) this.timers.clearTimeout(this.pending);
    this.pending = null;
  }

  private run(): void {
    this.last = this.timers.now();
    this.renders++;
    this.render();
  }
}
