/**
 * One TCP connection as a script: it keeps both sides' sequence numbers, so its caller says only
 * who sends what and when, and gets the frames (handshake, data segments, FINs) numbered as a
 * real connection's would be. Used by the demo's traffic, the test fixtures and the benchmark.
 */
import { TCP_ACK, TCP_FIN, TCP_SYN } from '../../decode';
import { buildFrame, type Endpoint, type FrameOptions, type TimedFrame } from './frames';

/** The push flag: nothing reads it, but data segments carry it as real ones do. */
export const TCP_PSH = 0x08;

/** The segment size the demo uses: an Ethernet MTU's worth with TCP timestamps. */
export const DEFAULT_SEGMENT_SIZE = 1448;

export type Side = 'client' | 'server';

export function otherSide(side: Side): Side {
  return side === 'client' ? 'server' : 'client';
}

/** How `send` spaces its segments. */
export interface SendTiming {
  /** Seconds from one segment to the next. */
  step: number;
  segmentSize?: number;
  /** When set, the receiver acknowledges each segment this many seconds after it. */
  ackDelay?: number;
}

export class TcpConversation {
  /** The sequence number each side sends next. */
  private readonly next: Record<Side, number>;

  /** `isn`: each side's initial sequence number; `emit` gets every frame as it is made. */
  constructor(
    readonly client: Endpoint,
    readonly server: Endpoint,
    isn: Record<Side, number>,
    private readonly emit: (frame: TimedFrame) => void,
    private readonly frameOptions: FrameOptions = {},
  ) {
    this.next = { client: isn.client >>> 0, server: isn.server >>> 0 };
  }

  /** The sequence number `side` sends next. */
  nextSeq(side: Side): number {
    return this.next[side];
  }

  /**
   * One segment from `side` at `ts`, numbered `seq` (by default the side's next) and
   * acknowledging `ack` (by default all the other side has sent). It does not move the
   * sequence on: for segments out of order, repeated or made up.
   */
  segment(side: Side, flags: number, ts: number, options: { payload?: Buffer; seq?: number; ack?: number } = {}): TimedFrame {
    return this.write(side, flags, ts, options.payload, options.seq ?? this.next[side], options.ack ?? this.next[otherSide(side)]);
  }

  /** The next segment in `side`'s sequence: its payload, and a SYN or FIN, move the sequence on. */
  private inSequence(side: Side, flags: number, ts: number, payload?: Buffer, ack = this.next[otherSide(side)]): void {
    this.write(side, flags, ts, payload, this.next[side], ack);
    const length = (payload?.length ?? 0) + ((flags & (TCP_SYN | TCP_FIN)) !== 0 ? 1 : 0);
    this.next[side] = (this.next[side] + length) >>> 0;
  }

  private write(side: Side, flags: number, ts: number, payload: Buffer | undefined, seq: number, ack: number): TimedFrame {
    const [src, dst] = side === 'client' ? [this.client, this.server] : [this.server, this.client];
    const frame = { ts, frame: buildFrame({ src, dst, seq, ack, flags, payload }, this.frameOptions) };
    this.emit(frame);
    return frame;
  }

  /**
   * The three-way handshake: SYN, SYN-ACK and ACK at the three times given. The SYN's ack field
   * means nothing (its ACK flag is clear); it carries `synAckField`, by default the server's
   * initial sequence number.
   */
  open(synTs: number, synAckTs: number, ackTs: number, synAckField?: number): void {
    this.inSequence('client', TCP_SYN, synTs, undefined, synAckField);
    this.inSequence('server', TCP_SYN | TCP_ACK, synAckTs);
    this.inSequence('client', TCP_ACK, ackTs);
  }

  /**
   * `data` from `side` in segments of at most `segmentSize` bytes, the first at `ts` and each
   * next one `step` later. Returns the time after the last one (when another would go).
   */
  send(side: Side, data: Buffer, ts: number, timing: SendTiming): number {
    const size = timing.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    let at = ts;
    for (let offset = 0; offset < data.length; offset += size) {
      this.inSequence(side, TCP_PSH | TCP_ACK, at, data.subarray(offset, Math.min(data.length, offset + size)));
      if (timing.ackDelay !== undefined) this.segment(otherSide(side), TCP_ACK, at + timing.ackDelay);
      at += timing.step;
    }
    return at;
  }

  /** Moves `side`'s sequence on by `bytes` without sending them: segments the capture never saw. */
  skip(side: Side, bytes: number): void {
    this.next[side] = (this.next[side] + bytes) >>> 0;
  }

  /** The FIN of `first`, the other side's FIN, and `first`'s ACK of it, at the three times given. */
  close(finTs: number, otherFinTs: number, ackTs: number, first: Side = 'client'): void {
    const second = otherSide(first);
    this.inSequence(first, TCP_FIN | TCP_ACK, finTs);
    this.inSequence(second, TCP_FIN | TCP_ACK, otherFinTs);
    this.inSequence(first, TCP_ACK, ackTs);
  }
}
