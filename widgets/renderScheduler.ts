/**
 * Coalesces redraw requests to at most `perSecond` renders a second: data changes ask for a
 * render, and a request made while one is pending is dropped, not queued. Keys render at once.
 * Wall time: a redraw is for the eyes of whoever watches, whatever the data's time.
 */
import type { Clock } from '../src/run/clock';

/** Throttles calls to `render`. */
export class RenderScheduler {
  private pending: unknown = null;
  private last = -Infinity;
  /** Renders done (for tests and the benchmark). */
  renders = 0;

  constructor(private readonly render: () => void, private readonly perSecond: number, private readonly clock: Clock) {}

  /** Asks for a render; it happens within 1/perSecond s, together with any other request. */
  request(): void {
    if (this.pending !== null) return;
    const wait = Math.max(0, this.last + 1000 / this.perSecond - this.clock.now());
    this.pending = this.clock.setTimeout(() => {
      this.pending = null;
      this.run();
    }, wait);
  }

  /** Renders now (a key was pressed), cancelling a pending request. */
  renderNow(): void {
    if (this.pending !== null) {
      this.clock.clearTimeout(this.pending);
      this.pending = null;
    }
    this.run();
  }

  /** Milliseconds since the last render (Infinity before the first). */
  sinceLastRender(): number {
    return this.clock.now() - this.last;
  }

  stop(): void {
    if (this.pending !== null) this.clock.clearTimeout(this.pending);
    this.pending = null;
  }

  private run(): void {
    this.last = this.clock.now();
    this.renders++;
    this.render();
  }
}
