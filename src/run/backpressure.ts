/**
 * Backpressure from stdout to the capture: while stdout's reader is behind, batches are not
 * taken in, so the capture of a file waits and a live capture drops (counted) instead of
 * queueing output without bound.
 */
import type { CaptureSource } from '../capture/captureSource';

/** Where the output goes: stdout, as the run's environment gives it. */
export interface PacedOutput {
  /** Writes; false when the text had to be queued (the reader is behind). */
  writeOut(text: string): boolean | void;
  /** Calls `listener` once when the queued output has been written. */
  onOutputDrained?(listener: () => void): void;
}

/** A write to `output` that holds `capture` while the output is behind, and resumes it on drain. */
export function pacedWrite(output: PacedOutput, capture: Pick<CaptureSource, 'hold' | 'resume'>): (text: string) => void {
  let behind = false;
  return (text) => {
    if (output.writeOut(text) !== false || behind || output.onOutputDrained === undefined) return;
    behind = true;
    capture.hold?.();
    output.onOutputDrained(() => {
      behind = false;
      capture.resume?.();
    });
  };
}
