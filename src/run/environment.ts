/**
 * The outside world as a run sees it. Every outside effect (the capture, stdout and stderr,
 * signals, wall time) comes in through `RunEnvironment`, so a whole run works in a test with
 * fakes; `processEnvironment` is the real process.
 */
import type { CaptureRequest } from '../capture/messages';
import type { CaptureSource } from '../capture/captureSource';
import type { Clock } from './clock';
import type { RunPhase } from './lifecycle';
import type { RunView } from './runState';
import type { Sink } from './sink';

/** The outside world as wiretop sees it. */
export interface RunEnvironment {
  /** Is stdout a terminal, and the environment (TERM, NO_COLOR). */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** Makes the dashboard output (injected so tests can use a fake screen). */
  createTui?: (run: RunView, onQuit: () => void) => Sink;
  /** Writes to stdout; false when the text had to be queued (the reader is behind). */
  writeOut(text: string): boolean | void;
  /** Calls `listener` once when queued output has been written (stdout's 'drain'). */
  onOutputDrained?(listener: () => void): void;
  writeErr(text: string): void;
  createCapture(request: CaptureRequest): CaptureSource;
  /**
   * Calls `handler` on SIGINT, SIGTERM or SIGHUP, and with `output` when stdout fails (closed,
   * full); returns an unsubscribe.
   */
  onInterrupt(handler: (cause?: 'output') => void, hangupQuits?: boolean): () => void;
  /** Calls `listener` on SIGHUP (when it does not quit: a headless run with --log); returns an unsubscribe. */
  onHangup?(listener: () => void): () => void;
  /** Gives up root once the capture is open; returns the line that says so, or null. */
  dropPrivileges?(user: string): string | null;
  /** Wall time: the interface-down grace, the dashboard's redraw pace. */
  clock: Clock;
  /** The heap limit each thread runs under, in MB (default: this thread's, from V8; tests give one). */
  heapLimitMb?(): number;
  /** Told each phase the run enters (tests). */
  onPhase?(phase: RunPhase): void;
}
