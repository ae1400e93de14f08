/**
 * The file reader thread of a sharded capture: reads the capture file (or standard input) into
 * a pool of shared buffers, sorts each frame to the worker that owns its connection (flowHash)
 * and sends each worker, once per read, the index of its frames (shardChannel): the frames
 * themselves are never copied. Reading, pacing (`--speed`) and the BPF filter of a file stay in
 * one place; the workers only parse.
 */
import { parentPort, workerData, type MessagePort } from 'worker_threads';
import { emptyCaptureStats } from '../types';
import { FlowSharder } from './flowHash';
import { errorMessage, type CaptureSourceSpec } from './messages';
import { END, isPlausibleTimestamp, type FrameSink, type PacketSource } from './packetSource';
import { BUFFER_BYTES, FrameIndex, GENERATION, OWN_IN_FLIGHT, POOL_BUFFERS, useCounts, type FromReader, type ToReader, type ToShard } from './shardChannel';
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

/** Frames in buffers of their own (larger than a pooled one) that may be in flight at once. */
const MAX_OWN_BUFFERS = 4;

/** What the reader holds besides the posted indices: told by the router, asked by the pool. */
interface Holder {
  /** Does the reader still need pooled buffer `buffer` (it reads or copies into it, or this read's frames lie in it)? */
  holds(buffer: number): boolean;
  /** Sends the frames of the read so far (early: the pool has no buffer left but those the reader holds). */
  post(): void;
}

/** The shared buffers and how many posted indices name each. */
class BufferPool {
  readonly shared = Array.from({ length: POOL_BUFFERS }, () => new SharedArrayBuffer(BUFFER_BYTES));
  readonly views = this.shared.map((buffer) => Buffer.from(buffer));
  readonly uses = useCounts(POOL_BUFFERS);
  private readonly numbers = new Map<Buffer, number>(this.views.map((view, i) => [view, i]));
  holder: Holder | null = null;

  constructor(private readonly stopped: () => boolean) {}

  /** The pool number of `view`, or undefined when it is not a pooled buffer. */
  numberOf(view: Buffer): number | undefined {
    return this.numbers.get(view);
  }

  /**
   * A buffer no thread uses; waits for one (throws Stopped on a stop). When every buffer is the
   * reader's own (a read that ran through several buffers of blocks without frames, or of frames
   * each in a buffer of their own), the read so far goes out first, so that the workers can
   * give buffers back.
   */
  take(): number {
    for (let postedEarly = false; ;) {
      const generation = Atomics.load(this.uses, GENERATION);
      let onlyReaders = true;
      for (let i = 0; i < POOL_BUFFERS; i++) {
        const used = Atomics.load(this.uses, i) > 0;
        const held = this.holder?.holds(i) ?? false;
        if (!used && !held) return i;
        if (used) onlyReaders = false;
      }
      if (onlyReaders && !postedEarly && this.holder !== null) {
        this.holder.post();
        postedEarly = true;
        continue;
      }
      this.waitForReturn(generation);
    }
  }

  /** Room for one more frame in a buffer of its own (waits while MAX_OWN_BUFFERS are in flight). */
  takeOwn(): void {
    for (;;) {
      const generation = Atomics.load(this.uses, GENERATION);
      if (Atomics.load(this.uses, OWN_IN_FLIGHT) < MAX_OWN_BUFFERS) {
        Atomics.add(this.uses, OWN_IN_FLIGHT, 1);
        return;
      }
      this.waitForReturn(generation);
    }
  }

  /** Waits until a worker gives something back (the generation moves on), a slice at a time; throws Stopped on a stop. */
  private waitForReturn(generation: number): void {
    if (this.stopped()) throw new Stopped();
    Atomics.wait(this.uses, GENERATION, generation, WAIT_SLICE_MS);
  }

  /** A read is posted: its indices now keep the buffers they name. */
  posted(counts: ReadonlyMap<number, number>): void {
    for (const [buffer, indices] of counts) Atomics.add(this.uses, buffer, indices);
  }
}

/** Sorts each frame of a read into its worker's index; copies the frames not in the pool. */
class FrameRouter implements FrameSink, Holder {
  /** The latest timestamp read: the data time every worker may move its clock to. */
  now = -Infinity;
  readonly indices: FrameIndex[];
  /** The buffer the file is read into now (-1: none from the pool). */
  fileBuffer = -1;
  /** Where frames outside the pool are copied, and how far it is filled. */
  private copyBuffer = -1;
  private copyUsed = 0;

  constructor(private readonly sharder: FlowSharder, private readonly pool: BufferPool, private readonly ports: MessagePort[]) {
    this.indices = ports.map(() => new FrameIndex());
    pool.holder = this;
  }

  holds(buffer: number): boolean {
    return buffer === this.fileBuffer || buffer === this.copyBuffer || this.indices.some((index) => index.names(buffer));
  }

  /** Sends each worker the index of its frames of this read (an empty one says the time). */
  post(): void {
    const counts = new Map<number, number>();
    this.indices.forEach((frames, worker) => {
      const { index, count, buffers, ownBuffers } = frames.take();
      for (const buffer of buffers) counts.set(buffer, (counts.get(buffer) ?? 0) + 1);
      const message: ToShard = { type: 'frames', index, count, buffers, ownBuffers, now: this.now };
      this.ports[worker].postMessage(message, [index.buffer as ArrayBuffer]);
    });
    this.pool.posted(counts);
  }

  onFrame(buf: Buffer, offset: number, caplen: number, wireLength: number, ts: number, linkType: number): void {
    // A frame with no plausible time is the worker's to count and skip: it moves no clock.
    if (ts > this.now && isPlausibleTimestamp(ts)) this.now = ts;
    const index = this.indices[this.sharder.shardOf(buf, offset, caplen, wireLength, linkType)];
    let buffer = this.pool.numberOf(buf);
    let at = offset;
    if (buffer === undefined) {
      if (caplen > BUFFER_BYTES) {
        // Larger than any pooled buffer (a hostile file's record): a buffer of its own, a few at a time.
        this.pool.takeOwn();
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
}

/** Reads `source` to its end (or a stop), each read's frames indexed for their workers. */
async function readIntoShards(source: PacketSource, router: FrameRouter, stopped: () => boolean): Promise<void> {
  for (;;) {
    if (stopped()) return;
    let read: number;
    try {
      read = source.read(router);
    } catch (error) {
      if (error instanceof Stopped) return;
      throw error;
    }
    router.post();
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
  const router = new FrameRouter(new FlowSharder(request.ports.length), pool, request.ports);
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
  let source: PacketSource;
  try {
    const spec = request.source;
    // A file read by wiretop goes into the pool's buffers; a filtered one (libpcap's buffer) is copied.
    source = spec.kind === 'file' && spec.filter === ''
      ? new FileSource(spec.path, spec.speed, stopSignal, (minBytes) => {
        if (minBytes > BUFFER_BYTES) {
          // A record larger than a pooled buffer: read into one of its own (its frame is copied out).
          router.fileBuffer = -1;
          return Buffer.allocUnsafe(minBytes);
        }
        router.fileBuffer = pool.take();
        return pool.views[router.fileBuffer];
      })
      : openSource(spec, stopSignal);
  } catch (error) {
    post(errorMessage(error));
    end(0);
    port.close();
    return;
  }
  lockDownThread();
  post({ type: 'ready', source: source.name, linkType: source.linkType });
  try {
    await readIntoShards(source, router, stopped);
  } catch (error) {
    post(errorMessage(error));
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
