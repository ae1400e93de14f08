/** What every headless output and the dashboard receive from the main loop. */
import type { HttpEvent } from '../types';

/** An output of wiretop. It reads statistics from the session; events come for those that print them. */
export interface Sink {
  onEvents(events: readonly HttpEvent[]): void;
  /** The capture ended (or was stopped): write what is left. */
  finish(): void;
  /** True for the dashboard: it stays open after the input ends, until the user quits. */
  readonly interactive?: boolean;
  /** New capture-health counters are in the session. */
  onCaptureStats?(): void;
  /** Gives the terminal back; returns a line to print after it. */
  close?(): string;
}
