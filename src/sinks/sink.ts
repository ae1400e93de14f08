/** What every headless output and the dashboard receive from the main loop. */
import type { HttpEvent } from '../types';

/** An output of wiretop. It reads statistics from the session; events come for those that print them. */
export interface Sink {
  onEvents(events: readonly HttpEvent[]): void;
  /** The capture ended (or was stopped): write what is left. */
  finish(): void;
}
