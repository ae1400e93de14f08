/**
 * A capture worker's share of a file: the frames of its connections, as the reader thread hands
 * them over in chunks of shared memory (see shardChannel). One chunk per read, so the capture
 * loop flushes and waits for the main thread between chunks as it does between reads of a file.
 */
import type { MessagePort } from 'worker_threads';
import type { CaptureStats } from '../../types';
import { END, type FrameSink, type PacketSource } from '../packetSource';
import { ChunkReader, type FromShard, type ToShard } from '../shardChannel';

type Queued = { reader: ChunkReader; slot: number; bytes: number; now: number };

/** Frames from the reader thread. */
export class ShardSource implements PacketSource {
  readonly live = false;
  private pool: ChunkReader[] = [];
  private readonly queue: Queued[] = [];
  private ended = false;
  private readerDecodeErrors = 0;
  private countedDecodeErrors = false;
  /** The reader's data time as of the chunks taken: a worker's clock moves with the whole file, not only its own frames. */
  private readerNow = -Infinity;
  private wake: (() => void) | null = null;

  constructor(readonly name: string, readonly linkType: number, private readonly port: MessagePort) {
    port.on('message', (message: ToShard) => {
      switch (message.type) {
        case 'pool':
          this.pool = message.chunks.map((chunk) => new ChunkReader(chunk));
          break;
        case 'chunk':
          this.queue.push({ reader: message.slot >= 0 ? this.pool[message.slot] : new ChunkReader(message.buffer!), slot: message.slot, bytes: message.bytes, now: message.now });
          break;
        case 'time':
          if (this.queue.length === 0) this.readerNow = Math.max(this.readerNow, message.now);
          else this.queue[this.queue.length - 1].now = Math.max(this.queue[this.queue.length - 1].now, message.now);
          break;
        case 'end':
          this.ended = true;
          this.readerDecodeErrors = message.decodeErrors;
          break;
      }
      const wake = this.wake;
      this.wake = null;
      wake?.();
    });
  }

  /** The data time the reader has reached, as far as the chunks taken tell. */
  dataTime(): number {
    return this.readerNow;
  }

  read(sink: FrameSink): number {
    const chunk = this.queue.shift();
    if (chunk === undefined) return this.ended ? END : 0;
    const frames = chunk.reader.drain(0, chunk.bytes, sink);
    if (chunk.now > this.readerNow) this.readerNow = chunk.now;
    if (chunk.slot >= 0) {
      const free: FromShard = { type: 'free', slot: chunk.slot };
      this.port.postMessage(free);
    }
    return frames;
  }

  wait(maxMs: number): Promise<void> {
    if (this.queue.length > 0 || this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, maxMs);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        if (self.wake === done) self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  updateHealth(stats: CaptureStats): void {
    if (this.ended && !this.countedDecodeErrors && this.queue.length === 0) {
      this.countedDecodeErrors = true;
      stats.decodeErrors += this.readerDecodeErrors;
    }
  }

  close(): void {
    this.port.close();
  }
}
