/** The time windows every view can be asked for, and how long each is. */

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
