/**
 * A capture on the main thread: the capture loop runs between the dashboard's keys and redraws,
 * and hands its transactions to the run as they are. For a live capture of one worker on a
 * machine of 1 or 2 cores (see captureOnMainThread): no second isolate to keep (its heap, its
 * compiled code), no batch encoded on one thread and decoded on the other, no thread woken for
 * every message. The kernel's ring holds the packets that arrive while the main thread draws.
 *
 * The loop lets the ring fill after a read that emptied it as a capture thread does, blocking
 * the thread (at most MAX_LINGER_MS, 3 ms: keys and redraws wait that long). Waiting on a timer
 * instead lets the event loop run, and the ring's descriptor, readable all the while (its poll
 * is level-triggered), called back into JavaScript over and over: 28 µs of CPU per request
 * under the live bench's load, against 12.
 *
 * Not for files: a read of a stalled pipe would block the main thread, and a file is read
 * fastest by a capture thread beside the main one.
 */
import { CaptureLoop, type MessageOut } from './captureLoop';
import { relayMessage, type CaptureListener, type CaptureSource } from './captureSource';
import { openCaptureRun, type OpenedCapture } from './captureRun';
import { BatchDecoder } from './eventBatch';
import { errorMessage, type CaptureRequest } from './messages';

/** Capture on the calling thread. */
export class InlineCapture implements CaptureSource {
  private loop: CaptureLoop | null = null;
  private stopRequested = false;
  private ended: Promise<void> = Promise.resolve();
  /** The output is behind: what is taken in stays unacknowledged (the loop's in-flight bound then holds it). */
  private holding = false;
  private unacknowledged = 0;
  /** What the run's listener threw from inside the loop: the run's fault, not the capture's. */
  private listenerFault: { error: unknown } | null = null;
  /** For the relay's sake: this loop hands its transactions over as they are (`deliver`), never encoded. */
  private readonly decoder = new BatchDecoder();

  /**
   * `open`: what opens the request's source and pipeline; `fault`: where a fault of the run's
   * listener goes, thrown again outside the loop. Tests give their own.
   */
  constructor(
    private readonly request: CaptureRequest,
    private readonly open: (request: CaptureRequest) => OpenedCapture = openCaptureRun,
    private readonly fault: (error: unknown) => void = (error) => setImmediate(() => { throw error; }),
  ) {}

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
        if (this.tell(() => relayMessage(message, listener, this.decoder))) this.acknowledge();
      },
      deliver: (events, watermark) => {
        this.tell(() => listener.onEvents(events, watermark));
        this.acknowledge();
      },
    };
    try {
      const spec = this.request.source;
      // The main thread's own nice value stays: see raisePriority.
      const request = spec.kind === 'live' ? { ...this.request, source: { ...spec, groupNiceOnly: true } } : this.request;
      const { source, pipeline, maxBytesInFlight } = this.open(request);
      const loop = new CaptureLoop(source, pipeline, out, maxBytesInFlight);
      this.loop = loop;
      if (this.stopRequested) loop.stop();
      await loop.run();
    } catch (error) {
      if (this.listenerFault === null) {
        try {
          this.tell(() => relayMessage(errorMessage(error), listener, this.decoder));
        } catch {
          // Remembered by tell: the run's own fault.
        }
      }
      // A fault of the run's own goes where it would from a worker's message: to the process's
      // handler of uncaught errors (one line, the terminal restored, exit 1).
      if (this.listenerFault !== null) this.fault(this.listenerFault.error);
    }
  }

  /** Calls the run's listener, remembering what it throws (see run). */
  private tell<T>(call: () => T): T {
    try {
      return call();
    } catch (error) {
      this.listenerFault = { error };
      throw error;
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
