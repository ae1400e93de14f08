/** The time windows every view can be asked for: how long each is, and which seconds it covers. */

/**
 * `recent`: the last complete dashboard bucket and the open one so far; then the last 5
 * minutes, hour, and everything kept.
 */
export type WindowName = 'recent' | '5m' | '1h' | 'all';

export const WINDOWS: readonly WindowName[] = ['recent', '5m', '1h', 'all'];

/**
 * Seconds every "now" rate is the mean of (the rate chart's title, the capture health's
 * pkts/s and req/s): long enough to be steady under bursts, short enough to follow the traffic.
 */
export const NOW_SECONDS = 5;

/** The seconds "now" covers as of `now`, the last closed second: the last NOW_SECONDS of them. */
export function nowSpan(now: number): SecondSpan {
  return { start: now + 1 - NOW_SECONDS, end: now + 1 };
}

/** Human label of a window; `recent` says how many seconds it covers as of `now` (when given). */
export function windowLabel(window: WindowName, bucketSeconds: number, now?: number): string {
  switch (window) {
    case 'recent': {
      const { start, end } = now === undefined || !Number.isFinite(now) ? { start: 0, end: bucketSeconds } : windowSpan(window, now, bucketSeconds, 0);
      return `last ${end - start}s`;
    }
    case '5m': return 'last 5 min';
    case '1h': return 'last hour';
    case 'all': return 'all';
  }
}

/** Seconds a window spans (`all`: the retention; `recent`: one bucket, before the open one's seconds: see windowSpan). */
export function windowSeconds(window: WindowName, bucketSeconds: number, retentionSeconds: number): number {
  switch (window) {
    case 'recent': return bucketSeconds;
    case '5m': return 300;
    case '1h': return 3600;
    case 'all': return retentionSeconds;
  }
}

/** The seconds a window covers: `start` ≤ second < `end`. */
export interface SecondSpan {
  start: number;
  end: number;
}

/**
 * The seconds of `window` as of `now`, the last closed second. `recent` is the last complete
 * bucket and the closed seconds of the open one (buckets are aligned on multiples of
 * `bucketSeconds`, as the seed tool showed them): a request shows in the tables as soon as its
 * second closes, and at a bucket's end (where `--text` reads it) it is exactly that bucket. The
 * others end with `now`. Every view (rates, top-N, summaries, loss) asks this one place.
 */
export function windowSpan(window: WindowName, now: number, bucketSeconds: number, retentionSeconds: number): SecondSpan {
  if (window === 'recent') {
    const open = Math.floor((now + 1) / bucketSeconds) * bucketSeconds;
    return { start: open - bucketSeconds, end: now + 1 };
  }
  return { start: now + 1 - windowSeconds(window, bucketSeconds, retentionSeconds), end: now + 1 };
}
