/** What every headless output and the dashboard receive from the main loop. */
import type { HttpEvent, TlsConnection } from '../types';

/** An output of wiretop. It reads statistics from the run's view; transactions come for those that print or keep them. */
export interface Sink {
  /** A batch of transactions. */
  onEvents(events: readonly HttpEvent[]): void;
  /** TLS connections that ended (for those that print them). */
  onTls?(connections: readonly TlsConnection[]): void;
  /** The capture ended (or was stopped): write what is left. */
  finish(): void;
  /** True for the dashboard: it stays open after the input ends, until the user quits. */
  readonly interactive?: boolean;
  /** New capture-health counters are in the run's view. */
  onCaptureStats?(): void;
  /** Gives the terminal back; returns a line to print after it. */
  close?(): string;
}
