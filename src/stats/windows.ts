/** The time windows every view can be asked for: how long each is, and which seconds it covers. */

/** `recent`: the last complete dashboard bucket; then the last 5 minutes, hour, and everything kept. */
export type WindowName = 'recent' | '5m' | '1h' | 'all';

export const WINDOWS: readonly WindowName[] = ['recent', '5m', '1h', 'all'];

/** Human label of a window. */
export function windowLabel(window: WindowName, bucketSeconds: number): string {
  switch (window) {
    case 'recent': return `last ${bucketSeconds}s`;
    case '5m': return 'last 5 min';
    case '1h': return 'last hour';
    case 'all': return 'all';
  }
}

/** Seconds a window spans (`all`: the retention). */
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
 * bucket (buckets are aligned on multiples of `bucketSeconds`, as the seed tool showed them);
 * the others end with `now`. Every view (rates, top-N, summaries, loss) asks this one place.
 */
export function windowSpan(window: WindowName, now: number, bucketSeconds: number, retentionSeconds: number): SecondSpan {
  if (window === 'recent') {
    const end = Math.floor((now + 1) / bucketSeconds) * bucketSeconds;
    return { start: end - bucketSeconds, end };
  }
  return { start: now + 1 - windowSeconds(window, bucketSeconds, retentionSeconds), end: now + 1 };
}
