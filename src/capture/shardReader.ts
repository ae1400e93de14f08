/**
 * The file reader thread of a sharded capture: reads the capture file (or standard input),
 * sorts each frame to the worker that owns its connection (flowHash) and hands the frames over
 * in chunks of shared memory (shardChannel). Reading, pacing (`--speed`) and the BPF filter of
 * a file stay in one place; the workers only parse.
 */
import { parentPort, workerData, type MessagePort } from 'worker_threads';
import { WiretopError } from '../errors';
import { emptyCaptureStats } from '../types';
import { FlowSharder } from './flowHash';
import type { CaptureSourceSpec } from './messages';
import { END, type FrameSink, type PacketSource } from './packetSource';
import { CHUNK_BYTES, CHUNKS_PER_WORKER, ChunkWriter, recordBytes, type FromReader, type FromShard, type ToReader, type ToShard } from './shardChannel';
import { openSource } from './sources/openSource';
import { lockDownThread } from '../platform/systemCalls';

/** What the reader thread is given. */
export interface ReaderRequest {
  source: CaptureSourceSpec;
  /** One port per worker, in worker order. */
  ports: MessagePort[];
  stopSignal: SharedArrayBuffer;
}

/** One worker as the reader sees it: its pool, the chunk being filled, the chunks it holds. */
class ShardOutlet {
  private readonly chunks: SharedArrayBuffer[];
  private readonly free: number[] = [];
  private current: ChunkWriter | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly port: MessagePort) {
    this.chunks = Array.from({ length: CHUNKS_PER_WORKER }, () => new SharedArrayBuffer(CHUNK_BYTES));
    this.chunks.forEach((_, slot) => this.free.push(slot));
    this.send({ type: 'pool', chunks: this.chunks });
    port.on('message', (message: FromShard) => {
      if (message.type !== 'free') return;
      this.free.push(message.slot);
      const wake = this.wake;
      this.wake = null;
      wake?.();
    });
  }

  private send(message: ToShard): void {
    this.port.postMessage(message);
  }

  /** Waits for a free pooled chunk to fill (false: stopped meanwhile). */
  async take(stopped: () => boolean): Promise<boolean> {
    while (this.free.length === 0) {
      if (stopped()) return false;
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
    const slot = this.free.pop()!;
    this.current = new ChunkWriter(this.chunks[slot], slot);
    return true;
  }

  /** Wakes a wait for a chunk (stop). */
  interrupt(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  append(buf: Buffer, offset: number, caplen: number, wireLength: number, ts: number, linkType: number, now: number): void {
    const chunk = this.current!;
    if (chunk.append(buf, offset, caplen, wireLength, ts, linkType)) return;
    // Larger than what is left (a frame of more than ~700 KB): what the chunk holds goes now, and
    // the rest of this read goes into a chunk of its own, outside the pool.
    this.post(now);
    this.current = new ChunkWriter(new SharedArrayBuffer(Math.max(CHUNK_BYTES, recordBytes(caplen))), -1);
    this.current.append(buf, offset, caplen, wireLength, ts, linkType);
  }

  /** Posts the chunk being filled (or, when it is empty, gives it back and says the time). */
  post(now: number): void {
    const chunk = this.current;
    if (chunk === null) return;
    this.current = null;
    if (chunk.used === 0) {
      if (chunk.slot >= 0) this.free.push(chunk.slot);
      this.send({ type: 'time', now });
      return;
    }
    this.send(chunk.slot >= 0
      ? { type: 'chunk', slot: chunk.slot, bytes: chunk.used, now }
      : { type: 'chunk', slot: -1, buffer: chunk.buffer, bytes: chunk.used, now });
  }

  end(decodeErrors: number): void {
    this.send({ type: 'end', decodeErrors });
    this.port.close();
  }
}

/** Routes each frame of a read to its worker's chunk. */
class FrameRouter implements FrameSink {
  /** The latest timestamp read: the data time every worker may move its clock to. */
  now = -Infinity;

  constructor(private readonly sharder: FlowSharder, private readonly outlets: ShardOutlet[]) {}

  onFrame(buf: Buffer, offset: number, caplen: number, wireLength: number, ts: number, linkType: number): void {
    if (ts > this.now) this.now = ts;
    this.outlets[this.sharder.shardOf(buf, offset, caplen, wireLength, linkType)].append(buf, offset, caplen, wireLength, ts, linkType, this.now);
  }
}

/** Reads `source` to its end (or a stop), every read split among the workers. */
async function readIntoShards(source: PacketSource, outlets: ShardOutlet[], stopped: () => boolean): Promise<void> {
  const router = new FrameRouter(new FlowSharder(outlets.length), outlets);
  for (;;) {
    for (const outlet of outlets) if (!(await outlet.take(stopped))) return;
    if (stopped()) return;
    const read = source.read(router);
    for (const outlet of outlets) outlet.post(router.now);
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
  const outlets = request.ports.map((p) => new ShardOutlet(p));
  port.on('message', (message: ToReader) => {
    if (message.type !== 'stop') return;
    stopRequested = true;
    for (const outlet of outlets) outlet.interrupt();
  });
  let source: PacketSource;
  try {
    source = openSource(request.source, stopSignal);
  } catch (error) {
    post(error instanceof WiretopError ? { type: 'error', kind: error.kind, message: error.message } : { type: 'error', kind: 'capture', message: `capture failed: ${(error as Error).message}` });
    for (const outlet of outlets) outlet.end(0);
    port.close();
    return;
  }
  lockDownThread();
  post({ type: 'ready', source: source.name, linkType: source.linkType });
  try {
    await readIntoShards(source, outlets, () => stopRequested || Atomics.load(stopSignal, 0) === 1);
  } catch (error) {
    post(error instanceof WiretopError ? { type: 'error', kind: error.kind, message: error.message } : { type: 'error', kind: 'capture', message: `capture failed: ${(error as Error).message}` });
  }
  // What only the reader knows (a file cut inside a record) is counted by worker 0.
  const health = emptyCaptureStats();
  source.updateHealth(health);
  source.close();
  outlets.forEach((outlet, index) => outlet.end(index === 0 ? health.decodeErrors : 0));
  post({ type: 'done' });
  port.close();
}

if (parentPort !== null && (workerData as ReaderRequest | null)?.ports !== undefined) void main();
