/** What every headless output and the dashboard receive from the main loop. */
import type { CaptureStats, HttpEvent } from '../types';

/** An output of wiretop. */
export interface Sink {
  onEvents(events: HttpEvent[]): void;
  onStats(stats: CaptureStats, now: number): void;
  /** The capture ended: write what is left. */
  finish(): void;
}
