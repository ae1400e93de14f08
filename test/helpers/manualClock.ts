/** A wall clock the test moves by hand: time stands still, and timers fire, only on `advance`. */
import type { Clock } from '../../src/run/clock';

/** A `Clock` at `start` ms; `advance(ms)` moves it and runs the timers then due, in order. */
export function manualClock(start = 0): Clock & { advance(ms: number): void } {
  let now = start;
  const queue: Array<{ at: number; fn: () => void; id: number }> = [];
  let ids = 0;
  return {
    now: () => now,
    setTimeout: (fn, ms) => { const id = ++ids; queue.push({ at: now + ms, fn, id }); return id; },
    clearTimeout: (id) => { const i = queue.findIndex((q) => q.id === id); if (i >= 0) queue.splice(i, 1); },
    advance(ms) {
      now += ms;
      for (let next = queue.find((q) => q.at <= now); next !== undefined; next = queue.find((q) => q.at <= now)) {
        queue.splice(queue.indexOf(next), 1);
        next.fn();
      }
    },
  };
}
