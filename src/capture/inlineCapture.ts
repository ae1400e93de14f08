/**
 * A capture on the main thread: the capture loop runs between the dashboard's keys and redraws,
 * and hands its transactions to the run as they are. For a live capture of one worker on a
 * small machine (see captureShape): no second isolate to keep (its heap, its compiled code,
 * ~20 MB), no batch encoded on one thread and decoded on the other, no thread woken for every
 * message. The kernel's ring holds the packets that arrive while the main thread draws.
 *
 * Not for files: a read of a stalled pipe would block the main thread, and a file is read
 * fastest by a capture thread beside the main one.
 */
import { CaptureLoop, type MessageOut } from './captureLoop';
import { relayMessage, type CaptureListener, type CaptureSource } from './captureSource';
import { openCaptureRun } from './captureRun';
import { errorMessage, type CaptureRequest } from './messages';

/** Capture on the calling thread. */
export class InlineCapture implements CaptureSource {
  private loop: CaptureLoop | null = null;
  private stopRequested = false;
  private ended: Promise<void> = Promise.resolve();
  /** The output is behind: what is taken in stays unacknowledged (the loop's in-flight bound then holds it). */
  private holding = false;
  private unacknowledged = 0;

  constructor(private readonly request: CaptureRequest) {}

  start(listener: CaptureListener): void {
    // Later, as a worker's first message would be: the run finishes starting before the capture speaks.
    this.ended = new Promise((resolve) => {
      setImmediate(() => { void this.run(listener).then(resolve); });
    });
  }

  private async run(listener: CaptureListener): Promise<void> {
    if (this.stopRequested) {
      listener.onEnd('stopped');
      return;
    }
    const out: MessageOut = {
      post: (message) => {
        if (relayMessage(message, listener)) this.acknowledge();
      },
      deliver: (events, watermark) => {
        listener.onEvents(events, watermark);
        this.acknowledge();
      },
    };
    try {
      const { source, pipeline, maxBytesInFlight } = openCaptureRun(this.request);
      const loop = new CaptureLoop(source, pipeline, out, maxBytesInFlight);
      this.loop = loop;
      if (this.stopRequested) loop.stop();
      await loop.run();
    } catch (error) {
      relayMessage(errorMessage(error), listener);
    }
  }

  private acknowledge(): void {
    if (this.holding) this.unacknowledged++;
    else this.loop?.acknowledge(1);
  }

  hold(): void {
    this.holding = true;
  }

  resume(): void {
    this.holding = false;
    const taken = this.unacknowledged;
    this.unacknowledged = 0;
    if (taken > 0) this.loop?.acknowledge(taken);
  }

  /** A forced exit: nothing to wait for (the capture runs only while this thread does). */
  abandon(): Promise<boolean> {
    this.stopRequested = true;
    this.loop?.stop();
    return Promise.resolve(true);
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    this.loop?.stop();
    await this.ended;
  }
}
