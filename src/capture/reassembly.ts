/**
 * TCP reassembly for one direction of a connection: delivers payload bytes in sequence order,
 * once each. Out-of-order segments wait in a bounded buffer; retransmitted and overlapping bytes
 * are trimmed; a hole that does not fill (a lost packet) is skipped and reported as a gap so
 * the parser can resynchronise.
 */
import type { StreamReceiver } from '../protocol/streamReceiver';
import type { CaptureStats } from '../types';

/** Bounds on buffered out-of-order data. */
export interface ReassemblyLimits {
  /** Out-of-order bytes one direction may hold before its first hole is skipped. */
  maxStreamBufferBytes: number;
  /** Out-of-order segments one direction may hold. */
  maxStreamSegments: number;
  /** Seconds a hole may stay open while later data waits. */
  maxHoleSeconds: number;
}

/**
 * What a buffered segment costs beyond its bytes (its record, the Buffer object and its
 * share of a pool slab), charged to the shared budget: a flood of one-byte out-of-order
 * segments is bounded by what it really takes, not by its payload alone.
 */
export const SEGMENT_OVERHEAD = 160;

/** Out-of-order data held by all streams together (bytes plus SEGMENT_OVERHEAD each), bounded across the whole capture. */
export class ReassemblyBudget {
  used = 0;
  constructor(readonly maxBytes: number) {}
}

interface PendingSegment {
  seq: number;
  data: Buffer;
  /** Bytes after `data` that the snapshot length cut off. */
  uncaptured: number;
  ts: number;
}

/** Signed distance a − b between two 32-bit sequence numbers (wraps correctly). */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** One direction of a TCP connection. */
export class TcpStream {
  private nextSeq = 0;
  private started = false;
  /** The highest sequence number the peer has acknowledged (when peerAcked). */
  private peerAck = 0;
  private peerAcked = false;
  private readonly pending: PendingSegment[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly receiver: StreamReceiver,
    private readonly limits: ReassemblyLimits,
    private readonly budget: ReassemblyBudget,
    private readonly stats: CaptureStats,
  ) {}

  /** A SYN fixes where the byte stream starts. */
  onSyn(seq: number): void {
    if (!this.started) {
      this.nextSeq = (seq + 1) >>> 0;
      this.started = true;
    }
  }

  /**
   * Takes a segment's payload `buf[start, start + length)` sent with sequence number `seq`,
   * followed on the wire by `uncaptured` bytes that the snapshot length cut off.
   */
  onSegment(buf: Buffer, start: number, length: number, seq: number, ts: number, uncaptured = 0): void {
    if (length + uncaptured === 0) return;
    if (!this.started) {
      // Joined mid-connection: take this segment as the start and let the parser resync.
      this.started = true;
      this.nextSeq = seq;
      this.receiver.gap(ts, -1);
    }
    const offset = seqDiff(seq, this.nextSeq);
    if (offset <= 0) {
      this.deliverFrom(buf, start, length, uncaptured, offset, ts);
      if (this.pending.length > 0) this.drainPending(ts);
      return;
    }
    if (this.pending.length > 0 && ts - this.pending[0].ts > this.limits.maxHoleSeconds) {
      this.skipHole(ts);
      this.onSegment(buf, start, length, seq, ts, uncaptured);
      return;
    }
    this.buffer(buf, start, length, uncaptured, seq, ts);
    // The peer may have acknowledged the missing bytes already (its ACK came first).
    if (this.peerAcked && this.pending.length > 0) this.skipAcked(ts);
  }

  /**
   * The peer has received everything before `ack`. Bytes before it that never reached us
   * (dropped by the capture, not by the network) will not be sent again: stop waiting for them.
   */
  onAcked(ack: number, ts: number): void {
    if (!this.started) return;
    if (!this.peerAcked || seqDiff(ack, this.peerAck) > 0) {
      this.peerAck = ack >>> 0;
      this.peerAcked = true;
    }
    if (this.pending.length > 0) this.skipAcked(ts);
  }

  /** Jumps over bytes before the peer's latest ACK that are missing here. */
  private skipAcked(ts: number): void {
    const lost = seqDiff(this.peerAck, this.nextSeq);
    if (lost <= 0) return;
    if (lost >= seqDiff(this.pending[0].seq, this.nextSeq)) {
      this.skipHole(ts);
      return;
    }
    this.jump(lost, ts);
  }

  /** Counts `missing` lost bytes at nextSeq, moves past them and tells the parser. */
  private jump(missing: number, ts: number): void {
    this.stats.gaps++;
    this.stats.gapBytes += missing;
    this.nextSeq = (this.nextSeq + missing) >>> 0;
    this.receiver.gap(ts, missing);
  }

  /** The stream ends (FIN, RST, expiry): skip any hole and deliver what waits behind it. */
  flush(ts: number): void {
    while (this.pending.length > 0) this.skipHole(ts);
  }

  /** Out-of-order bytes this stream holds. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * Delivers the part of a segment at or after nextSeq (`offset` ≤ 0 is seq − nextSeq): its new
   * captured bytes as data, its new uncaptured bytes as a hole of known size.
   */
  private deliverFrom(buf: Buffer, start: number, length: number, uncaptured: number, offset: number, ts: number): void {
    const span = length + uncaptured;
    if (offset + span <= 0) {
      this.stats.duplicateBytes += span;
      return;
    }
    if (offset < 0) this.stats.duplicateBytes += -offset;
    const fresh = offset + length;
    if (fresh > 0) this.receiver.push(buf, start - offset, start + length, ts);
    this.nextSeq = (this.nextSeq + offset + span) >>> 0;
    const skipped = offset + span - Math.max(fresh, 0);
    if (skipped > 0) {
      this.stats.uncapturedBytes += skipped;
      this.receiver.gap(ts, skipped);
    }
  }

  private buffer(buf: Buffer, start: number, length: number, uncaptured: number, seq: number, ts: number): void {
    if (this.budget.used + length + SEGMENT_OVERHEAD > this.budget.maxBytes
        || this.pendingBytes + length > this.limits.maxStreamBufferBytes
        || this.pending.length >= this.limits.maxStreamSegments) {
      if (this.pending.length === 0) {
        // Nothing to make room with: this segment is lost to us.
        this.stats.reassemblyDrops++;
        return;
      }
      this.skipHole(ts);
      this.onSegment(buf, start, length, seq, ts, uncaptured);
      return;
    }
    // The packet buffer is reused by the capture: keep a copy.
    const segment: PendingSegment = { seq, data: Buffer.from(buf.subarray(start, start + length)), uncaptured, ts };
    let i = this.pending.length;
    while (i > 0 && seqDiff(this.pending[i - 1].seq, seq) > 0) i--;
    this.pending.splice(i, 0, segment);
    this.pendingBytes += length;
    this.budget.used += length + SEGMENT_OVERHEAD;
  }

  /** Delivers buffered segments that now continue the stream. */
  private drainPending(ts: number): void {
    while (this.pending.length > 0) {
      const head = this.pending[0];
      const offset = seqDiff(head.seq, this.nextSeq);
      if (offset > 0) return;
      this.pending.shift();
      this.release(head);
      this.deliverFrom(head.data, 0, head.data.length, head.uncaptured, offset, ts);
    }
  }

  /** Jumps over the hole before the first buffered segment, then delivers what follows it. */
  private skipHole(ts: number): void {
    const head = this.pending[0];
    const missing = seqDiff(head.seq, this.nextSeq);
    if (missing > 0) this.jump(missing, ts);
    this.drainPending(ts);
  }

  private release(segment: PendingSegment): void {
    this.pendingBytes -= segment.data.length;
    this.budget.used -= segment.data.length + SEGMENT_OVERHEAD;
  }

  /** Returns the buffered bytes to the shared budget and starts over, for the next connection. */
  reset(): void {
    this.budget.used -= this.pendingBytes + this.pending.length * SEGMENT_OVERHEAD;
    this.pendingBytes = 0;
    // Setting an array's length is a call into the runtime, even to the 0 it has: most streams end with nothing pending.
    if (this.pending.length !== 0) this.pending.length = 0;
    this.nextSeq = 0;
    this.started = false;
    this.peerAck = 0;
    this.peerAcked = false;
  }
}
