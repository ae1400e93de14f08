/**
 * How the file reader thread hands frames to the capture workers without copying them: the
 * reader reads the file into buffers of shared memory (a small pool all threads see), and each
 * worker gets, once per read, one message with an index of its frames — where each lies in
 * which buffer, its lengths, time and link type. A buffer goes back to the reader once every
 * worker is done with the frames it holds: each posted index counts once against every buffer
 * it names (an Int32 per buffer, decremented with Atomics), so the memory in flight stays
 * bounded and a worker that falls behind holds the reader.
 *
 * Frames that do not come from the pool (a BPF filter's libpcap buffer, a record larger than a
 * pooled buffer) are copied into one, or into a buffer of their own sent with the index.
 */
import type { ErrorMessage } from './messages';
import type { FrameSink } from './packetSource';

/** Bytes of one pooled buffer: what the file reader reads into at a time. */
export const BUFFER_BYTES = 2 * 1024 * 1024;
/**
 * Buffers in the pool: the one being read, the one a read began in, a buffer to copy into, and
 * room for the workers to hold the previous reads' frames while the reader goes on.
 */
export const POOL_BUFFERS = 6;
/** Numbers per frame in an index: buffer, offset, caplen, wire length, timestamp, link type. */
export const INDEX_FIELDS = 6;

/** Reader → worker. */
export type ToShard =
  /** The pool's buffers and their use counts (one Int32 each, then a generation counter), given once. */
  | { type: 'pool'; buffers: SharedArrayBuffer[]; uses: SharedArrayBuffer }
  /**
   * One read's frames of this worker (`count` may be 0: then only the time moved on): `index`
   * holds INDEX_FIELDS numbers per frame; a buffer number b ≥ 0 is the pool's, b < 0 is
   * `ownBuffers[-b - 1]`. `buffers`: the pool buffers the index names, each to be given back once.
   * `now`: the reader's latest timestamp.
   */
  | { type: 'frames'; index: Float64Array; count: number; buffers: number[]; ownBuffers: SharedArrayBuffer[]; now: number }
  /** The input is over; `decodeErrors`: frames the reader could not read (a file cut inside a record), counted by worker 0. */
  | { type: 'end'; decodeErrors: number };

/** Reader thread → main thread. */
export type FromReader =
  | { type: 'ready'; source: string; linkType: number }
  | ErrorMessage
  | { type: 'done' };

/** Main thread → reader thread. */
export interface ToReader {
  type: 'stop';
}

/** In the use counts, after one Int32 per pool buffer: the generation counter, and the own buffers in flight. */
export const GENERATION = POOL_BUFFERS;
export const OWN_IN_FLIGHT = POOL_BUFFERS + 1;

/**
 * The use counts of a pool: one Int32 per buffer (indices posted and not yet done with), then a
 * generation counter that moves whenever a worker gives buffers back (the reader waits on it),
 * then the frames in buffers of their own not yet done with.
 */
export function useCounts(buffers: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (buffers + 2)));
}

/** Gives back the pool buffers an index named and its own buffers (in a worker, once its frames are done). */
export function giveBack(uses: Int32Array, buffers: readonly number[], ownBuffers = 0): void {
  for (const buffer of buffers) Atomics.sub(uses, buffer, 1);
  const generation = uses.length - 2;
  if (ownBuffers > 0) Atomics.sub(uses, generation + 1, ownBuffers);
  Atomics.add(uses, generation, 1);
  Atomics.notify(uses, generation);
}

/** One worker's index of frames for the current read, grown as needed. */
export class FrameIndex {
  private fields = new Float64Array(1024 * INDEX_FIELDS);
  count = 0;
  /** Pool buffers named, as a set of small numbers. */
  private readonly named: boolean[] = [];
  readonly ownBuffers: SharedArrayBuffer[] = [];

  add(buffer: number, offset: number, caplen: number, wireLength: number, ts: number, linkType: number): void {
    let at = this.count * INDEX_FIELDS;
    if (at + INDEX_FIELDS > this.fields.length) {
      const grown = new Float64Array(this.fields.length * 2);
      grown.set(this.fields);
      this.fields = grown;
    }
    const f = this.fields;
    f[at++] = buffer;
    f[at++] = offset;
    f[at++] = caplen;
    f[at++] = wireLength;
    f[at++] = ts;
    f[at] = linkType;
    this.count++;
    if (buffer >= 0) this.named[buffer] = true;
  }

  /** A buffer of its own for one frame; returns its number in this index. */
  addOwnBuffer(buffer: SharedArrayBuffer): number {
    this.ownBuffers.push(buffer);
    return -this.ownBuffers.length;
  }

  /** Does this index name pool buffer `buffer`? */
  names(buffer: number): boolean {
    return this.named[buffer] === true;
  }

  /** The pool buffers this index names. */
  buffers(): number[] {
    const out: number[] = [];
    this.named.forEach((named, buffer) => { if (named) out.push(buffer); });
    return out;
  }

  /** The index's numbers (a copy, to send), and a fresh start. */
  take(): { index: Float64Array; count: number; buffers: number[]; ownBuffers: SharedArrayBuffer[] } {
    const taken = { index: this.fields.slice(0, this.count * INDEX_FIELDS), count: this.count, buffers: this.buffers(), ownBuffers: [...this.ownBuffers] };
    this.count = 0;
    this.named.length = 0;
    this.ownBuffers.length = 0;
    return taken;
  }
}

/** Hands the frames of an index to `sink`, each a view into the shared buffer it lies in. */
export function drainIndex(index: Float64Array, count: number, pool: readonly Buffer[], ownBuffers: readonly Buffer[], sink: FrameSink): void {
  for (let i = 0, at = 0; i < count; i++, at += INDEX_FIELDS) {
    const buffer = index[at];
    sink.onFrame(buffer >= 0 ? pool[buffer] : ownBuffers[-buffer - 1], index[at + 1], index[at + 2], index[at + 3], index[at + 4], index[at + 5]);
  }
}
