/**
 * The main thread's handle on the capture worker: starts it, turns its messages into typed
 * callbacks, and stops it cleanly (the worker closes its pcap session before it exits).
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import { WiretopError } from '../errors';
import type { CaptureStats, HttpEvent } from '../types';
import { decodeEvents, type EncodedBatch } from './eventBatch';
import type { CaptureRequest, FromWorker, ToWorker } from './messages';

/** What the capture reports. */
export interface CaptureListener {
  onReady(source: string): void;
  /**
   * A batch of transactions; every one that started before `watermark` has now been sent.
   * `encoded` is the batch's compact form, as it crossed from the worker.
   */
  onEvents(events: HttpEvent[], watermark: number, encoded?: EncodedBatch): void;
  onStats(stats: CaptureStats, now: number, watermark: number): void;
  /** The capture is over: `eof` at the end of a file, `stopped` after stop(). */
  onEnd(reason: 'eof' | 'stopped'): void;
  onError(error: WiretopError): void;
}

/** A source of transactions, real (the worker) or fake (tests). */
export interface CaptureSource {
  start(listener: CaptureListener): void;
  /** Asks the capture to stop; resolves once it has ended. */
  stop(): Promise<void>;
}

/** The compiled worker script (tests run the TypeScript sources, the worker runs from dist/). */
function workerScript(): string {
  return __filename.endsWith('.ts')
    ? path.resolve(__dirname, '../../dist/src/capture/worker.js')
    : path.join(__dirname, 'worker.js');
}

/** Capture in a worker thread. */
export class WorkerCapture implements CaptureSource {
  private worker: Worker | null = null;
  private exited: Promise<void> = Promise.resolve();
  private ended = false;
  /** Event batches taken in and not yet acknowledged to the worker. */
  private unacknowledged = 0;

  constructor(private readonly request: CaptureRequest) {}

  start(listener: CaptureListener): void {
    // The worker's garbage is short-lived (packets, heads, sent events): a small young
    // generation keeps the process's memory low at no measured cost in speed.
    const worker = new Worker(workerScript(), { workerData: this.request, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    this.worker = worker;
    let failed = false;
    worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'ready':
          listener.onReady(message.source);
          break;
        case 'events':
          listener.onEvents(decodeEvents(message.batch), message.watermark, message.batch);
          this.acknowledge(worker);
          break;
        case 'stats':
          listener.onStats(message.stats, message.now, message.watermark);
          break;
        case 'error':
          failed = true;
          listener.onError(new WiretopError(message.kind, message.message));
          break;
        case 'eof':
        case 'stopped':
          this.ended = true;
          listener.onEnd(message.type);
          break;
        default: {
          const unexpected: never = message;
          throw new Error(`unknown worker message ${JSON.stringify(unexpected)}`);
        }
      }
    });
    this.exited = new Promise((resolve) => {
      worker.on('error', (error) => {
        failed = true;
        listener.onError(new WiretopError('capture', `capture worker failed: ${error.message}`));
      });
      worker.on('exit', (code) => {
        this.worker = null;
        if (!this.ended && !failed) {
          listener.onError(new WiretopError('capture', `capture worker exited unexpectedly (code ${code})`));
        }
        resolve();
      });
    });
  }

  /**
   * Acknowledges a batch taken in. Batches come in bursts (a flush is several messages): one
   * ack message after the burst, not one per batch.
   */
  private acknowledge(worker: Worker): void {
    if (this.unacknowledged++ > 0) return;
    setImmediate(() => {
      const ack: ToWorker = { type: 'ack', batches: this.unacknowledged };
      this.unacknowledged = 0;
      worker.postMessage(ack);
    });
  }

  async stop(): Promise<void> {
    if (this.worker !== null) {
      const message: ToWorker = { type: 'stop' };
      this.worker.postMessage(message);
    }
    await this.exited;
  }
}
