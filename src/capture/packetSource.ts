/**
 * Where the capture's frames come from. Every source — a live interface, a capture file (read by
 * wiretop, or by libpcap when a BPF filter applies), the demo generator — hands frames to the
 * capture loop the same way: `read()` takes what is ready now, `wait()` until more may be.
 */
import type { CaptureStats } from '../types';

/** Takes frames: `buf[offset, offset + caplen)` is valid only during the call. */
export interface FrameSink {
  /** `wireLength` is the frame's length on the wire (more than `caplen` when the snapshot length cut it). */
  onFrame(buf: Buffer, offset: number, caplen: number, wireLength: number, ts: number, linkType: number): void;
}

/** One frame as a source holds it; `buf[offset, offset + caplen)`. */
export interface Frame {
  buf: Buffer;
  offset: number;
  caplen: number;
  wireLength: number;
  /** Capture time, epoch seconds (fractional). */
  ts: number;
  linkType: number;
}

/** What read() returns when the input is over. */
export const END = -1;

/** A source of frames. */
export interface PacketSource {
  /** What the capture is called in messages and the status bar. */
  readonly name: string;
  /** The link type of the first frames. */
  readonly linkType: number;
  /** A live source cannot pause: frames it does not take in time are lost (in the kernel). */
  readonly live: boolean;
  /** Hands the frames that are ready now (a bounded batch) to `sink`; returns how many, 0 if none is yet, or END. */
  read(sink: FrameSink): number;
  /** Resolves when more frames may be ready, after `maxMs` at the latest. */
  wait(maxMs: number): Promise<void>;
  /**
   * Milliseconds to let a live source's kernel ring fill before the next read, after a read
   * that took everything it had ready (0: read on). Under load each wake of the capture thread
   * then takes a few milliseconds of traffic instead of one block of the ring: a wake costs a
   * context switch, and those were ~950 a second (about a tenth of the thread's CPU) at 25,000
   * requests a second.
   */
  lingerMs?(): number;
  /**
   * Data time the source vouches for beyond its own frames (a worker's share of a file: the
   * reader's latest timestamp), so its connections expire as they would in one thread.
   */
  dataTime?(): number;
  /**
   * A live source's clock runs this many seconds behind the wall clock: one of several workers,
   * whose watermark must not pass packets still in its ring (see sources/liveSource).
   */
  readonly clockLag?: number;
  /** Adds what only the source knows (kernel drops, a truncated file) to the capture-health counters. */
  updateHealth(stats: CaptureStats): void;
  close(): void;
}

/** Frames a pulled source hands over per read(): small enough that the loop sees messages often. */
export const FRAMES_PER_READ = 8192;

/**
 * Captured bytes a pulled source hands over per read(), at most: the transactions one read
 * finishes are posted before the loop can wait for the main thread, and a megabyte of large
 * hostile heads (escaped, two bytes a character) already makes ~8 MB of them.
 */
export const BYTES_PER_READ = 1024 * 1024;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const PAUSE = new Int32Array(new SharedArrayBuffer(4));
/**
 * Blocks the calling thread for `ms`. Not a timer: while the thread's event loop runs, a
 * capture descriptor with data waiting wakes it at once (libpcap's poll is level-triggered).
 */
export function pauseThread(ms: number): void {
  Atomics.wait(PAUSE, 0, 0, ms);
}

/** The latest timestamp taken for a time (2200-01-01): past it, a frame's clock is broken. */
export const MAX_TIMESTAMP = 7_258_118_400;

/**
 * Is `ts` (epoch seconds) a time wiretop can count in? A corrupt or hostile capture can carry
 * any value (a pcapng if_tsoffset puts packets at 2^60 s, where adding one second changes
 * nothing): such frames are skipped and counted, so no loop over seconds can run away.
 */
export function isPlausibleTimestamp(ts: number): boolean {
  return ts >= 0 && ts <= MAX_TIMESTAMP;
}

/**
 * A source that pulls one frame at a time (capture files, the demo) and delivers it at capture
 * timing × `speed` against the wall clock (speed 0: as fast as possible).
 */
export abstract class PacedSource implements PacketSource {
  readonly live = false;
  abstract readonly name: string;
  abstract readonly linkType: number;
  /** A frame read but not yet due; its buffer stays valid because next() is not called meanwhile. */
  private held: Frame | null = null;
  private firstTs = -1;
  private wallStart = 0;

  constructor(private readonly speed: number) {}

  /** The next frame, or null at the end of the input. */
  protected abstract next(): Frame | null;

  read(sink: FrameSink): number {
    let n = 0;
    let bytes = 0;
    while (n < FRAMES_PER_READ && bytes < BYTES_PER_READ) {
      const frame = this.held ?? this.next();
      if (frame === null) return n > 0 ? n : END;
      if (isPlausibleTimestamp(frame.ts) && this.delayFor(frame.ts) > 1) {
        this.held = frame;
        return n;
      }
      this.held = null;
      sink.onFrame(frame.buf, frame.offset, frame.caplen, frame.wireLength, frame.ts, frame.linkType);
      n++;
      bytes += frame.caplen;
    }
    return n;
  }

  wait(maxMs: number): Promise<void> {
    const delay = this.held === null ? 0 : this.delayFor(this.held.ts);
    return delay > 1 ? sleep(Math.min(delay, maxMs)) : yieldToLoop();
  }

  updateHealth(_stats: CaptureStats): void {}

  abstract close(): void;

  /** Milliseconds until the frame captured at `ts` is due. */
  private delayFor(ts: number): number {
    if (this.speed <= 0) return 0;
    if (this.firstTs < 0) {
      this.firstTs = ts;
      this.wallStart = Date.now();
      return 0;
    }
    return this.wallStart + ((ts - this.firstTs) * 1000) / this.speed - Date.now();
  }
}
