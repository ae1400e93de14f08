/**
 * The main thread's handle on the capture worker: starts it, turns its messages into typed
 * callbacks, and stops it cleanly (the worker closes its pcap session before it exits).
 */
import { Worker, type MessagePort } from 'worker_threads';
import { WiretopError } from '../errors';
import type { CaptureStats, HttpEvent, TlsConnection } from '../types';
import { BatchDecoder } from './eventBatch';
import type { CaptureRequest, FromWorker, ToWorker } from './messages';
import type { WorkerLoad } from './shardMerger';
import { adoptPrestartedWorker, captureThreadScript, captureWorkerLimits } from './prestartedWorker';

/** What some captures add to their counters. */
export interface StatsDetail {
  /** One worker's watermark even before its first transaction (what a merge of several needs). */
  pipelineWatermark?: number;
  /** Several workers: each one's load. */
  workers?: WorkerLoad[];
}

/** What the capture reports. */
export interface CaptureListener {
  onReady(source: string): void;
  /** A batch of transactions; every one that started before `watermark` has now been sent. */
  onEvents(events: HttpEvent[], watermark: number): void;
  onStats(stats: CaptureStats, now: number, watermark: number, detail?: StatsDetail): void;
  /** TLS connections that ended. */
  onTls?(connections: TlsConnection[]): void;
  /** The capture is over: `eof` at the end of a file, `stopped` after stop(). */
  onEnd(reason: 'eof' | 'stopped'): void;
  onError(error: WiretopError): void;
}

/** A source of transactions, real (the worker) or fake (tests). */
export interface CaptureSource {
  start(listener: CaptureListener): void;
  /**
   * The output is behind: stop taking batches in (a file's capture then waits; a live one
   * drops past its bound and counts it) until `resume`.
   */
  hold?(): void;
  resume?(): void;
  /** Asks the capture to stop; resolves once it has ended. */
  stop(): Promise<void>;
}

/** How long a stop may take before the worker is terminated (a hung source, a stalled pipe). */
export const STOP_DEADLINE_MS = 3000;

export { captureThreadScript } from './prestartedWorker';

/**
 * Hands a capture loop's message to the run's listener (a batch decoded by `decoder`, which has
 * seen every earlier batch of that loop). True when it carried transactions or TLS connections:
 * those count in flight until acknowledged.
 */
export function relayMessage(message: FromWorker, listener: CaptureListener, decoder: BatchDecoder): boolean {
  switch (message.type) {
    case 'ready':
      listener.onReady(message.source);
      return false;
    case 'events':
      listener.onEvents(decoder.decode(message.batch), message.watermark);
      return true;
    case 'stats':
      listener.onStats(message.stats, message.now, message.watermark, { pipelineWatermark: message.pipelineWatermark });
      return false;
    case 'tls':
      listener.onTls?.(message.connections);
      return true;
    case 'error':
      listener.onError(new WiretopError(message.kind, message.message));
      return false;
    case 'eof':
    case 'stopped':
      listener.onEnd(message.type);
      return false;
    default: {
      const unexpected: never = message;
      throw new Error(`unknown capture message ${JSON.stringify(unexpected)}`);
    }
  }
}

/** Capture in a worker thread. */
export class WorkerCapture implements CaptureSource {
  private worker: Worker | null = null;
  private exited: Promise<void> = Promise.resolve();
  private ended = false;
  /** Event batches taken in and not yet acknowledged to the worker. */
  private unacknowledged = 0;
  /** Set to 1 on stop: reaches the worker even while it waits on a stalled pipe. */
  private readonly stopSignal = new Int32Array(new SharedArrayBuffer(4));
  /** The output is behind: acknowledgements wait (the worker's in-flight bound then holds it). */
  private holding = false;
  /** Every batch of the worker goes through it, in order. */
  private readonly decoder = new BatchDecoder();

  /** `transfer`: ports the request carries (a shard's, from the reader thread). */
  constructor(private readonly request: CaptureRequest, private readonly transfer: MessagePort[] = []) {}

  start(listener: CaptureListener): void {
    const resourceLimits = captureWorkerLimits(this.request.memoryBudgetMb);
    const request: CaptureRequest = { ...this.request, stopSignal: this.stopSignal.buffer as SharedArrayBuffer };
    // A worker started before the run knew its request (bin/wiretop) is ready sooner; one that
    // carries ports (a shard's) is started with them.
    const prestarted = this.transfer.length === 0 ? adoptPrestartedWorker(resourceLimits) : null;
    const worker = prestarted ?? new Worker(captureThreadScript('worker'), { workerData: request, resourceLimits, transferList: this.transfer });
    if (prestarted !== null) {
      const start: ToWorker = { type: 'request', request };
      prestarted.postMessage(start);
    }
    this.worker = worker;
    let failed = false;
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'error') failed = true;
      if (message.type === 'eof' || message.type === 'stopped') this.ended = true;
      if (relayMessage(message, listener, this.decoder)) this.acknowledge(worker);
    });
    this.exited = new Promise((resolve) => {
      worker.on('error', (error) => {
        failed = true;
        listener.onError(new WiretopError('capture', (error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `the capture ran out of memory with memory_budget_mb ${this.request.memoryBudgetMb}: lower memory_budget_mb, or give wiretop more heap (NODE_OPTIONS=--max-old-space-size=MB)`
          : `capture worker failed: ${error.message}`));
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
    if (this.unacknowledged++ > 0 || this.holding) return;
    setImmediate(() => this.sendAcks(worker));
  }

  private sendAcks(worker: Worker): void {
    if (this.holding || this.unacknowledged === 0) return;
    const ack: ToWorker = { type: 'ack', batches: this.unacknowledged };
    this.unacknowledged = 0;
    worker.postMessage(ack);
  }

  hold(): void {
    this.holding = true;
  }

  resume(): void {
    this.holding = false;
    if (this.worker !== null) this.sendAcks(this.worker);
  }

  /**
   * Ends the worker without asking (a forced exit); resolves to false when its thread did not
   * end within `ms` (blocked in a read of a stalled pipe: only the end of the process ends it).
   */
  async abandon(ms: number): Promise<boolean> {
    const worker = this.worker;
    if (worker === null) return true;
    this.terminate(worker);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); });
    const ended = await Promise.race([this.exited.then(() => true), timedOut]);
    clearTimeout(timer);
    return ended;
  }

  /** Ends the worker without waiting for it; that counts as its end (what it still held is lost). */
  private terminate(worker: Worker): void {
    this.ended = true;
    void worker.terminate();
  }

  /** Asks the worker to stop; past STOP_DEADLINE_MS it is terminated instead. */
  async stop(): Promise<void> {
    const worker = this.worker;
    Atomics.store(this.stopSignal, 0, 1);
    Atomics.notify(this.stopSignal, 0);
    let deadline: NodeJS.Timeout | undefined;
    if (worker !== null) {
      const message: ToWorker = { type: 'stop' };
      worker.postMessage(message);
      deadline = setTimeout(() => this.terminate(worker), STOP_DEADLINE_MS);
      deadline.unref();
    }
    await this.exited;
    clearTimeout(deadline);
  }
}
