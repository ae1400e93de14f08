/**
 * A capture split among several worker threads by connection, merged back into one capture for
 * the run. Live, each worker opens its own socket on the interface, and the sockets join one
 * PACKET_FANOUT group with the kernel's symmetric flow hash: each worker gets whole connections,
 * in a ring of its own. On a file, a reader thread (shardReader) reads the file and hands each
 * worker its connections' frames in chunks of shared memory. The main thread merges the
 * workers' transactions in time order and sums their counters (shardMerger).
 */
import * as os from 'os';
import { MessageChannel, Worker, type MessagePort } from 'worker_threads';
import { WiretopError } from '../errors';
import type { CaptureStats, HttpEvent, TlsConnection } from '../types';
import { captureThreadScript, STOP_DEADLINE_MS, WorkerCapture, type CaptureListener, type CaptureSource, type StatsDetail } from './captureSource';
import type { CaptureRequest, CaptureSourceSpec } from './messages';
import type { FromReader, ToReader } from './shardChannel';
import type { ReaderRequest } from './shardReader';
import { ShardMerger } from './shardMerger';
import { fanoutJoinBoard } from './sources/liveSource';

/** The most workers `workers: 0` chooses: past this the main thread's merge and statistics are the limit. */
export const MAX_AUTO_WORKERS = 8;

/** The smallest kernel ring a live worker gets (`buffer_size` is shared out among the workers). */
const MIN_RING_BYTES = 2 * 1024 * 1024;

/**
 * How many capture workers a run uses: `configured` (the `workers` key, `--workers`), or for 0
 * one per core beside the main thread's (its statistics and display take most of one), up to
 * MAX_AUTO_WORKERS: one on a machine of 2 cores, where a second worker and the file reader only
 * compete with the main thread (measured: the bench's captures take ~20% longer with 2). The
 * demo and merged --ndjson streams use one.
 */
export function workerCount(configured: number, spec: CaptureSourceSpec, cores = os.availableParallelism()): number {
  if (spec.kind !== 'file' && spec.kind !== 'live') return 1;
  if (configured > 0) return configured;
  return Math.max(1, Math.min(MAX_AUTO_WORKERS, cores - 1));
}

/**
 * Whether a capture runs on the main thread (inlineCapture) instead of in a worker: a live
 * capture whose worker count is wiretop's choice (0) where that choice is one worker (a machine
 * of 1 or 2 cores). There the second isolate costs ~20 MB of resident memory (its heap and
 * compiled code) and saves no CPU (three alternated pairs under the live bench's load: 9.6,
 * 8.2, 9.8 µs per request against 9.0, 7.0, 9.1; 124–125 MB against 147). Not when the main
 * thread has work that holds it for long (`mainThreadBusy`): `persist_dir` (a save of a large
 * store takes ~0.5 s), plug-ins (code of their own in every batch), `har_file` (every
 * transaction serialised with all its headers). While it is held, a capture of its own would
 * leave the packets to the kernel's ring, which a busy link fills in a fraction of a second.
 * `--workers 1` keeps the capture thread; files keep theirs (they are read fastest beside the
 * main thread, and a stalled pipe must not block it).
 */
export function captureOnMainThread(configured: number, spec: CaptureSourceSpec, mainThreadBusy: boolean, cores = os.availableParallelism()): boolean {
  return configured === 0 && spec.kind === 'live' && !mainThreadBusy && workerCount(configured, spec, cores) === 1;
}

/** A way to start one worker (a test may give its own). */
export type StartWorker = (request: CaptureRequest, transfer: MessagePort[]) => CaptureSource & { abandon?(ms: number): Promise<boolean> };

/** Several capture workers as one capture. */
export class ShardedCapture implements CaptureSource {
  private readonly merger: ShardMerger;
  private readonly workers: Array<ReturnType<StartWorker>> = [];
  private reader: Worker | null = null;
  private readerExited: Promise<void> = Promise.resolve();
  private listener: CaptureListener | null = null;
  private readonly stopSignal = new Int32Array(new SharedArrayBuffer(4));
  private ready = 0;
  private failed = false;
  private stopping = false;
  private ended = false;
  /** A transaction or TLS connection went out: from then on the counters carry the watermark (as one worker's do). */
  private dataPosted = false;
  private holding = false;
  /** The watermark last given to the run. */
  private given = -Infinity;

  constructor(
    private readonly request: CaptureRequest,
    readonly count: number,
    private readonly startWorker: StartWorker = (request, transfer) => new WorkerCapture(request, transfer),
  ) {
    this.merger = new ShardMerger(count);
  }

  start(listener: CaptureListener): void {
    this.listener = listener;
    const spec = this.request.source;
    // Each worker holds its connections to its share of the budget, so that all of them hold the whole.
    const base: CaptureRequest = { ...this.request, workers: 1, memoryBudgetMb: this.request.memoryBudgetMb / this.count };
    if (spec.kind === 'live') {
      // One group per process: two wiretops on one interface each see all the traffic.
      const group = process.pid & 0xffff;
      const bufferBytes = Math.max(MIN_RING_BYTES, Math.floor(spec.bufferBytes / this.count));
      const joined = fanoutJoinBoard(this.count);
      for (let i = 0; i < this.count; i++) {
        this.launch(i, { ...base, source: { ...spec, bufferBytes, fanoutGroup: group, fanoutStart: { worker: i, workers: this.count, joined } } }, []);
      }
      return;
    }
    if (spec.kind !== 'file') throw new Error(`a ${spec.kind} capture is not sharded`);
    const channels = Array.from({ length: this.count }, () => new MessageChannel());
    const readerPorts = channels.map((c) => c.port1);
    const readerRequest: ReaderRequest = { source: spec, ports: readerPorts, stopSignal: this.stopSignal.buffer as SharedArrayBuffer };
    const reader = new Worker(captureThreadScript('shardReader'), { workerData: readerRequest, transferList: readerPorts, resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 64 } });
    this.reader = reader;
    reader.on('message', (message: FromReader) => {
      if (message.type === 'ready') {
        channels.forEach((channel, i) => this.launch(i, { ...base, source: { kind: 'shard', name: message.source, linkType: message.linkType }, shardPort: channel.port2 }, [channel.port2]));
      } else if (message.type === 'error') {
        this.fail(new WiretopError(message.kind, message.message));
      }
    });
    this.readerExited = new Promise((resolve) => {
      reader.on('error', (error) => this.fail(new WiretopError('capture', `capture reader failed: ${error.message}`)));
      reader.on('exit', () => {
        this.reader = null;
        // Ended before any worker started (it could not open the file): the capture is over.
        if (this.workers.length === 0) this.finish(this.stopping ? 'stopped' : 'eof');
        resolve();
      });
    });
  }

  private launch(index: number, request: CaptureRequest, transfer: MessagePort[]): void {
    const worker = this.startWorker(request, transfer);
    this.workers.push(worker);
    if (this.holding) worker.hold?.();
    worker.start({
      onReady: (source) => {
        if (++this.ready === this.count && !this.failed) this.listener?.onReady(source);
      },
      onEvents: (events, watermark) => {
        this.dataPosted = true;
        this.merger.addEvents(index, events, watermark);
        this.flush();
      },
      onStats: (stats: CaptureStats, now: number, watermark: number, detail?: StatsDetail) => {
        this.merger.addStats(index, stats, now, detail?.pipelineWatermark ?? watermark);
        this.flush();
        this.postStats();
      },
      onTls: (connections: TlsConnection[]) => {
        this.dataPosted = true;
        this.merger.addTls(index, connections);
        this.flush();
      },
      onEnd: (reason) => {
        this.merger.end(index);
        if (!this.merger.allEnded) return;
        this.flush();
        this.postStats();
        this.finish(this.stopping ? 'stopped' : reason);
      },
      onError: (error) => this.fail(error),
    });
  }

  /** The merged watermark as the run takes it: -Infinity until data went out on a file (see CaptureLoop.postStats). */
  private runWatermark(): number {
    const mark = Math.min(this.merger.watermark(), this.merger.now());
    if (this.dataPosted || this.request.source.kind === 'live') this.given = Math.max(this.given, mark);
    return this.given;
  }

  private flush(): void {
    const events: HttpEvent[] = this.merger.release();
    const tls = this.merger.releaseTls();
    // TLS connections are counted before the watermark closes their second (as one worker sends
    // them): with some due, the transactions go out under the watermark given before.
    if (events.length > 0) this.listener?.onEvents(events, tls.length > 0 ? this.given : this.runWatermark());
    for (const connections of tls) this.listener?.onTls?.(connections);
  }

  private postStats(): void {
    const now = this.merger.now();
    if (now === -Infinity) return;
    this.listener?.onStats(this.merger.stats(), now, this.runWatermark(), { workers: this.merger.loads() });
  }

  private fail(error: WiretopError): void {
    if (this.failed || this.ended) return;
    this.failed = true;
    this.listener?.onError(error);
  }

  private finish(reason: 'eof' | 'stopped'): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.failed) this.listener?.onEnd(reason);
  }

  hold(): void {
    this.holding = true;
    for (const worker of this.workers) worker.hold?.();
  }

  resume(): void {
    this.holding = false;
    for (const worker of this.workers) worker.resume?.();
  }

  /** Stops the reader and every worker; past STOP_DEADLINE_MS the reader is terminated. */
  async stop(): Promise<void> {
    this.stopping = true;
    Atomics.store(this.stopSignal, 0, 1);
    Atomics.notify(this.stopSignal, 0);
    const reader = this.reader;
    let deadline: NodeJS.Timeout | undefined;
    if (reader !== null) {
      const stop: ToReader = { type: 'stop' };
      reader.postMessage(stop);
      deadline = setTimeout(() => void reader.terminate(), STOP_DEADLINE_MS);
      deadline.unref();
    }
    await Promise.all([...this.workers.map((worker) => worker.stop()), this.readerExited]);
    clearTimeout(deadline);
  }

  /** Ends every thread without asking (a forced exit); false when one did not end within `ms`. */
  async abandon(ms: number): Promise<boolean> {
    void this.reader?.terminate();
    const ended = await Promise.all(this.workers.map((worker) => worker.abandon?.(ms) ?? Promise.resolve(true)));
    return ended.every(Boolean);
  }
}

