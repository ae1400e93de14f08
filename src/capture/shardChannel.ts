/**
 * How the file reader thread hands frames to the capture workers: in chunks of shared memory,
 * one message per chunk, never one per frame. Each worker has a small pool of chunks; the reader
 * fills one per worker per read, posts it, and takes it again once the worker gives it back (so
 * a worker that falls behind holds the reader, and the memory in flight stays bounded).
 *
 * A chunk is a run of records, each 8-byte aligned: caplen, wire length and link type (uint32),
 * a spare uint32, the timestamp (float64, epoch seconds), then the frame's bytes.
 */
import type { FrameSink } from './packetSource';

/** Bytes of one pooled chunk: a whole read (BYTES_PER_READ, 1 MB) with its record headers fits, with room for a large frame. */
export const CHUNK_BYTES = 2 * 1024 * 1024;
/** Chunks each worker has: one being read, one filled, one on its way. */
export const CHUNKS_PER_WORKER = 3;
const HEADER_BYTES = 24;

/** Reader → worker. */
export type ToShard =
  /** The worker's pool, given once; later messages name a chunk by its slot. */
  | { type: 'pool'; chunks: SharedArrayBuffer[] }
  /** A filled chunk: `bytes` of records; `slot` -1 is a one-off chunk carried in `buffer` (a frame larger than a pooled chunk). */
  | { type: 'chunk'; slot: number; buffer?: SharedArrayBuffer; bytes: number; now: number }
  /** Data time moved on (the reader's latest timestamp) without frames for this worker. */
  | { type: 'time'; now: number }
  /** The input is over; `decodeErrors`: frames the reader could not read (a file cut inside a record), counted by worker 0. */
  | { type: 'end'; decodeErrors: number };

/** Worker → reader: a chunk is free again. */
export interface FromShard {
  type: 'free';
  slot: number;
}

/** Reader thread → main thread. */
export type FromReader =
  | { type: 'ready'; source: string; linkType: number }
  | { type: 'error'; kind: string; message: string }
  | { type: 'done' };

/** Main thread → reader thread. */
export interface ToReader {
  type: 'stop';
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Bytes a frame of `caplen` takes in a chunk. */
export function recordBytes(caplen: number): number {
  return align8(HEADER_BYTES + caplen);
}

/** Appends records to one chunk. */
export class ChunkWriter {
  readonly bytes: Buffer;
  private readonly words: Uint32Array;
  private readonly times: Float64Array;
  used = 0;

  constructor(readonly buffer: SharedArrayBuffer, readonly slot: number) {
    this.bytes = Buffer.from(buffer);
    this.words = new Uint32Array(buffer);
    this.times = new Float64Array(buffer);
  }

  /** Appends a frame; false when it does not fit (the chunk is left as it was). */
  append(buf: Buffer, offset: number, caplen: number, wireLength: number, ts: number, linkType: number): boolean {
    const at = this.used;
    const next = at + recordBytes(caplen);
    if (next > this.bytes.length) return false;
    const word = at >>> 2;
    this.words[word] = caplen;
    this.words[word + 1] = wireLength;
    this.words[word + 2] = linkType;
    this.times[(at >>> 3) + 2] = ts;
    buf.copy(this.bytes, at + HEADER_BYTES, offset, offset + caplen);
    this.used = next;
    return true;
  }
}

/** Reads the records of a chunk back as frames. */
export class ChunkReader {
  readonly bytes: Buffer;
  private readonly words: Uint32Array;
  private readonly times: Float64Array;

  constructor(buffer: SharedArrayBuffer) {
    this.bytes = Buffer.from(buffer);
    this.words = new Uint32Array(buffer);
    this.times = new Float64Array(buffer);
  }

  /** Hands the records in `[from, to)` to `sink`; returns the frames handed. */
  drain(from: number, to: number, sink: FrameSink): number {
    const { bytes, words, times } = this;
    let frames = 0;
    for (let at = from; at < to; frames++) {
      const word = at >>> 2;
      const caplen = words[word];
      sink.onFrame(bytes, at + HEADER_BYTES, caplen, words[word + 1], times[(at >>> 3) + 2], words[word + 2]);
      at += recordBytes(caplen);
    }
    return frames;
  }
}
