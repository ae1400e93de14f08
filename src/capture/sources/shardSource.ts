/**
 * A capture worker's share of a file: the frames of its connections, read where the reader
 * thread put them, in buffers of shared memory (see shardChannel). One read's index per read(),
 * so the capture loop flushes and waits for the main thread between them as it does between
 * reads of a file; the buffers an index names are given back once its frames are parsed.
 */
import type { MessagePort } from 'worker_threads';
import type { CaptureStats } from '../../types';
import { END, type FrameSink, type PacketSource } from '../packetSource';
import { drainIndex, giveBack, type ToShard } from '../shardChannel';

type Frames = Extract<ToShard, { type: 'frames' }>;

/** Frames from the reader thread. */
export class ShardSource implements PacketSource {
  readonly live = false;
  private pool: Buffer[] = [];
  private uses: Int32Array = new Int32Array(0);
  private readonly queue: Frames[] = [];
  private ended = false;
  private readerDecodeErrors = 0;
  private countedDecodeErrors = false;
  /** The reader's data time as of the indices taken: a worker's clock moves with the whole file, not only its own frames. */
  private readerNow = -Infinity;
  private wake: (() => void) | null = null;

  constructor(readonly name: string, readonly linkType: number, private readonly port: MessagePort) {
    port.on('message', (message: ToShard) => {
      switch (message.type) {
        case 'pool':
          this.pool = message.buffers.map((buffer) => Buffer.from(buffer));
          this.uses = new Int32Array(message.uses);
          break;
        case 'frames':
          this.queue.push(message);
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

  /** The data time the reader has reached, as far as the indices taken tell. */
  dataTime(): number {
    return this.readerNow;
  }

  /**
   * One read's frames (0 for a read with none of this worker's: the capture loop still moves
   * its clock to that read's time before the next one, as one thread does after every read).
   */
  read(sink: FrameSink): number {
    const frames = this.queue.shift();
    if (frames === undefined) return this.ended ? END : 0;
    if (frames.now > this.readerNow) this.readerNow = frames.now;
    if (frames.count === 0) return 0;
    drainIndex(frames.index, frames.count, this.pool, frames.ownBuffers.map((buffer) => Buffer.from(buffer)), sink);
    giveBack(this.uses, frames.buffers, frames.ownBuffers.length);
    return frames.count;
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
