/**
 * The file reader thread of a sharded capture: reads the capture file (or standard input) into
 * a pool of shared buffers, sorts each frame to the worker that owns its connection (flowHash)
 * and sends each worker, once per read, the index of its frames (shardChannel): the frames
 * themselves are never copied. Reading, pacing (`--speed`) and the BPF filter of a file stay in
 * one place; the workers only parse.
 */
import { parentPort, workerData, type MessagePort } from 'worker_threads';
import { WiretopError } from '../errors';
import { emptyCaptureStats } from '../types';
import { FlowSharder } from './flowHash';
import type { CaptureSourceSpec } from './messages';
import { END, type FrameSink, type PacketSource } from './packetSource';
import { BUFFER_BYTES, FrameIndex, POOL_BUFFERS, useCounts, type FromReader, type ToReader, type ToShard } from './shardChannel';
import { FileSource } from './sources/fileSource';
import { openSource } from './sources/openSource';
import { lockDownThread } from '../platform/systemCalls';

/** What the reader thread is given. */
export interface ReaderRequest {
  source: CaptureSourceSpec;
  /** One port per worker, in worker order. */
  ports: MessagePort[];
  stopSignal: SharedArrayBuffer;
}

/** Milliseconds the reader waits at a time for a buffer to come back, between looks at the stop signal. */
const WAIT_SLICE_MS = 50;

/** Thrown out of a read when a stop came while the reader waited for a buffer. */
class Stopped extends Error {}

/** The shared buffers, which of them the reader holds, and how many posted indices name each. */
class BufferPool {
  readonly shared = Array.from({ length: POOL_BUFFERS }, () => new SharedArrayBuffer(BUFFER_BYTES));
  readonly views = this.shared.map((buffer) => Buffer.from(buffer));
  readonly uses = useCounts(POOL_BUFFERS);
  private readonly numbers = new Map<Buffer, number>(this.views.map((view, i) => [view, i]));
  /** Buffers the reader holds: the one the file is read into, the one frames are copied into, and any this read has named. */
  private readonly held = new Set<number>();

  constructor(private readonly stopped: () => boolean) {}

  /** The pool number of `view`, or undefined when it is not a pooled buffer. */
  numberOf(view: Buffer): number | undefined {
    return this.numbers.get(view);
  }

  /** A buffer no thread uses, now held by the reader; waits for one (throws Stopped on a stop). */
  take(): number {
    for (;;) {
      const generation = Atomics.load(this.uses, POOL_BUFFERS);
      for (let i = 0; i < POOL_BUFFERS; i++) {
        if (!this.held.has(i) && Atomics.load(this.uses, i) === 0) {
          this.held.add(i);
          return i;
        }
      }
      if (this.stopped()) throw new Stopped();
      Atomics.wait(this.uses, POOL_BUFFERS, generation, WAIT_SLICE_MS);
    }
  }

  /** The read is posted: its indices now keep the buffers they name; the reader keeps only `keep`. */
  posted(counts: ReadonlyMap<number, number>, keep: readonly number[]): void {
    for (const [buffer, indices] of counts) Atomics.add(this.uses, buffer, indices);
    this.held.clear();
    for (const buffer of keep) if (buffer >= 0) this.held.add(buffer);
  }
}

/** Sorts each frame of a read into its worker's index; copies the frames not in the pool. */
class FrameRouter implements FrameSink {
  /** The latest timestamp read: the data time every worker may move its clock to. */
  now = -Infinity;
  readonly indices: FrameIndex[];
  /** The buffer the file is read into now (-1: none from the pool). */
  fileBuffer = -1;
  /** Where frames outside the pool are copied, and how far it is filled. */
  private copyBuffer = -1;
  private copyUsed = 0;

  constructor(private readonly sharder: FlowSharder, private readonly pool: BufferPool, workers: number) {
    this.indices = Array.from({ length: workers }, () => new FrameIndex());
  }

  onFrame(buf: Buffer, offset: number, caplen: number, wireLength: number, ts: number, linkType: number): void {
    if (ts > this.now) this.now = ts;
    const index = this.indices[this.sharder.shardOf(buf, offset, caplen, wireLength, linkType)];
    let buffer = this.pool.numberOf(buf);
    let at = offset;
    if (buffer === undefined) {
      if (caplen > BUFFER_BYTES) {
        // Larger than any pooled buffer (a hostile file's record): a buffer of its own.
        const own = new SharedArrayBuffer(caplen);
        buf.copy(Buffer.from(own), 0, offset, offset + caplen);
        index.add(index.addOwnBuffer(own), 0, caplen, wireLength, ts, linkType);
        return;
      }
      if (this.copyBuffer < 0 || this.copyUsed + caplen > BUFFER_BYTES) {
        this.copyBuffer = this.pool.take();
        this.copyUsed = 0;
      }
      buffer = this.copyBuffer;
      at = this.copyUsed;
      buf.copy(this.pool.views[buffer], at, offset, offset + caplen);
      this.copyUsed += caplen;
    }
    index.add(buffer, at, caplen, wireLength, ts, linkType);
  }

  /** The pool buffers the reader still fills after this read. */
  keep(): number[] {
    return [this.fileBuffer, this.copyBuffer];
  }
}

/** Reads `source` to its end (or a stop), each read's frames indexed for their workers. */
async function readIntoShards(source: PacketSource, router: FrameRouter, pool: BufferPool, ports: MessagePort[], stopped: () => boolean): Promise<void> {
  for (;;) {
    if (stopped()) return;
    let read: number;
    try {
      read = source.read(router);
    } catch (error) {
      if (error instanceof Stopped) return;
      throw error;
    }
    const counts = new Map<number, number>();
    router.indices.forEach((frames, worker) => {
      const { index, count, buffers, ownBuffers } = frames.take();
      for (const buffer of buffers) counts.set(buffer, (counts.get(buffer) ?? 0) + 1);
      const message: ToShard = { type: 'frames', index, count, buffers, ownBuffers, now: router.now };
      ports[worker].postMessage(message, [index.buffer as ArrayBuffer]);
    });
    pool.posted(counts, router.keep());
    if (read === END) return;
    if (read === 0) await source.wait(100);
  }
}

async function main(): Promise<void> {
  const port = parentPort!;
  const request = workerData as ReaderRequest;
  const post = (message: FromReader) => port.postMessage(message);
  const stopSignal = new Int32Array(request.stopSignal);
  let stopRequested = false;
  const stopped = () => stopRequested || Atomics.load(stopSignal, 0) === 1;
  port.on('message', (message: ToReader) => {
    if (message.type === 'stop') stopRequested = true;
  });
  const pool = new BufferPool(stopped);
  const router = new FrameRouter(new FlowSharder(request.ports.length), pool, request.ports.length);
  for (const workerPort of request.ports) {
    const message: ToShard = { type: 'pool', buffers: pool.shared, uses: pool.uses.buffer as SharedArrayBuffer };
    workerPort.postMessage(message);
  }
  const end = (decodeErrors: number) => {
    request.ports.forEach((workerPort, index) => {
      const message: ToShard = { type: 'end', decodeErrors: index === 0 ? decodeErrors : 0 };
      workerPort.postMessage(message);
      workerPort.close();
    });
  };
  const failed = (error: unknown) => post(error instanceof WiretopError
    ? { type: 'error', kind: error.kind, message: error.message }
    : { type: 'error', kind: 'capture', message: `capture failed: ${(error as Error).message}` });
  let source: PacketSource;
  try {
    const spec = request.source;
    // A file read by wiretop goes into the pool's buffers; a filtered one (libpcap's buffer) is copied.
    source = spec.kind === 'file' && spec.filter === ''
      ? new FileSource(spec.path, spec.speed, stopSignal, (minBytes) => {
        if (minBytes > BUFFER_BYTES) return Buffer.allocUnsafe(minBytes);
        router.fileBuffer = pool.take();
        return pool.views[router.fileBuffer];
      })
      : openSource(spec, stopSignal);
  } catch (error) {
    failed(error instanceof Stopped ? new WiretopError('capture', 'stopped') : error);
    end(0);
    port.close();
    return;
  }
  lockDownThread();
  post({ type: 'ready', source: source.name, linkType: source.linkType });
  try {
    await readIntoShards(source, router, pool, request.ports, stopped);
  } catch (error) {
    failed(error);
  }
  // What only the reader knows (a file cut inside a record) is counted by worker 0.
  const health = emptyCaptureStats();
  source.updateHealth(health);
  source.close();
  end(health.decodeErrors);
  post({ type: 'done' });
  port.close();
}

if (parentPort !== null && (workerData as ReaderRequest | null)?.ports !== undefined) void main();
