/**
 * One direction of an HTTP/2 connection cut into frames (RFC 9113 §4): DATA payloads are passed
 * through as they come (counted, never kept), a header block (HEADERS or PUSH_PROMISE and its
 * CONTINUATIONs) is gathered whole, padding and priority fields are taken off, and the small
 * control frames are handed over whole. Bytes from the wire are hostile: a frame may claim 16
 * MB, a block may never end; what is gathered is bounded and charged to the capture's budget of
 * message heads, and nothing throws.
 *
 * After lost bytes the frame boundaries are unknown: the reader waits for a segment that starts
 * with a plausible frame (see frames.ts) and says that it lost its place, since a lost header
 * block leaves the sender's HPACK table out of step.
 */
import type { ByteBudget } from '../../protocol/byteBudget';
import { FRAME_HEADER_LENGTH, Flag, FrameType, Guess, PREFACE, findFrameBoundary, guessFrameBoundary, isPlausibleFrameHeader } from './frames';

/** What the reader finds, in order. Views are valid only during the call. */
export interface FrameHandler {
  /** The client connection preface was read: this direction is the client's. */
  onPreface(): void;
  /** DATA bytes of `streamId` (padding left out). */
  onData(streamId: number, buf: Buffer, start: number, end: number, ts: number): void;
  /** A DATA frame is over; `endStream`: it was the stream's last from this side. */
  onDataEnd(streamId: number, endStream: boolean, ts: number): void;
  /** A whole header block: a HEADERS frame's (`promisedId` -1), or a PUSH_PROMISE's for stream `promisedId`. */
  onHeaderBlock(streamId: number, endStream: boolean, promisedId: number, block: Buffer, start: number, end: number, ts: number): void;
  /** A header block that could not be read (too large, cut by another frame, no budget): its stream's headers are lost. */
  onHeaderBlockLost(streamId: number, ts: number): void;
  /** RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, PRIORITY, or a type this reader does not know. */
  onControl(type: number, flags: number, streamId: number, payload: Buffer, start: number, end: number, ts: number): void;
  /** Bytes were lost where frames could not be followed: what was gathered is gone. */
  onLostPlace(ts: number): void;
}

/** How the reader bounds what it gathers. */
export interface FrameReaderLimits {
  /** Largest header block gathered (larger ones are skipped, and lost). */
  maxHeaderBlock: number;
  /** What gathered bytes of every connection may hold together (the message heads' budget). */
  headBuffers: ByteBudget;
}

/** What a block's first frame carries beyond the block: pad length and padding (1 + 255), priority fields (5) or a promised stream id (4). */
const MAX_FIRST_FRAME_EXTRA = 1 + 255 + 5;
/** Control frames are small; a longer one is skipped rather than gathered. */
const MAX_CONTROL_PAYLOAD = 1024;

const enum State {
  /** The client preface, when this direction is expected to start with it. */
  Preface,
  FrameHeader,
  /** A DATA frame's pad length byte. */
  DataPadLength,
  DataBytes,
  /** A payload gathered whole (a header block's fragment, a control frame). */
  Gather,
  /** Bytes passed over: padding, an oversized frame. */
  Skip,
  /** Frame boundaries lost: waiting for a segment that starts with one. */
  Lost,
}

/** The frame reader of one direction. */
export class FrameReader {
  private state = State.FrameHeader;
  private readonly header = Buffer.alloc(FRAME_HEADER_LENGTH);
  private headerFill = 0;
  private prefaceFill = 0;
  /** The current frame. */
  private type = 0;
  private flags = 0;
  private streamId = 0;
  /** Payload bytes of the current frame not yet read. */
  private remaining = 0;
  /** DATA: data bytes before the padding. */
  private dataLeft = 0;
  /** A gathered payload (own memory, charged to the budget), and how much of it is filled. */
  private gathered: Buffer | null = null;
  private gatheredFill = 0;
  /** The header block gathered so far across HEADERS/PUSH_PROMISE and CONTINUATION frames. */
  private block: Buffer | null = null;
  private blockFill = 0;
  /** The open header block's stream, its END_STREAM, its promised stream (-1: HEADERS); -1 stream: none open. */
  private blockStream = -1;
  private blockEndStream = false;
  private blockPromised = -1;
  /** The open block could not be kept: its frames are read and dropped until it ends. */
  private blockDropped = false;
  /** The place was found again by a guess that the next frame header has yet to bear out. */
  private unconfirmed = false;
  /** Bytes charged to the budget for `gathered` and `block`. */
  private charged = 0;

  constructor(private readonly handler: FrameHandler, private readonly limits: FrameReaderLimits) {}

  /** Starts over, expecting the client preface first when `preface`. */
  reset(preface: boolean): void {
    this.release();
    this.state = preface ? State.Preface : State.FrameHeader;
    this.unconfirmed = false;
    this.headerFill = 0;
    this.prefaceFill = 0;
    this.blockStream = -1;
    this.blockDropped = false;
  }

  /** Lets go of gathered bytes (the connection ended). */
  release(): void {
    this.limits.headBuffers.give(this.charged);
    this.charged = 0;
    this.gathered = null;
    this.block = null;
    this.gatheredFill = 0;
    this.blockFill = 0;
  }

  /** Frame boundaries are lost (a hole in the stream, or a direction joined mid-way). */
  lose(ts: number): void {
    const hadPlace = this.state !== State.Lost;
    this.release();
    this.state = State.Lost;
    this.unconfirmed = false;
    this.headerFill = 0;
    this.blockStream = -1;
    this.blockDropped = false;
    if (hadPlace) this.handler.onLostPlace(ts);
  }

  /** `missing` bytes (-1: unknown) are lost here: inside a DATA frame's data the place is kept. */
  gap(missing: number, ts: number): void {
    if (missing >= 0 && this.state === State.DataBytes && missing <= this.dataLeft) {
      this.dataLeft -= missing;
      this.remaining -= missing;
      if (this.dataLeft === 0) this.afterData(ts);
      return;
    }
    if (missing >= 0 && this.state === State.Skip && missing <= this.remaining) {
      this.remaining -= missing;
      if (this.remaining === 0) this.endFrame(ts);
      return;
    }
    this.lose(ts);
  }

  push(buf: Buffer, start: number, end: number, ts: number): void {
    let at = start;
    while (at < end) {
      switch (this.state) {
        case State.Lost:
          at = this.findPlace(buf, at, end, at === start);
          break;
        case State.Preface:
          at = this.readPreface(buf, at, end);
          break;
        case State.FrameHeader:
          at = this.readFrameHeader(buf, at, end, ts);
          break;
        case State.DataPadLength: {
          const padLength = buf[at++];
          this.remaining--;
          this.dataLeft = this.remaining - padLength;
          if (this.dataLeft < 0) {
            // Padding longer than the frame: a protocol error; the frame's bytes are passed over.
            this.dataLeft = 0;
            this.state = State.Skip;
          } else if (this.dataLeft === 0) {
            this.afterData(ts);
          } else {
            this.state = State.DataBytes;
          }
          break;
        }
        case State.DataBytes: {
          const take = Math.min(this.dataLeft, end - at);
          this.handler.onData(this.streamId, buf, at, at + take, ts);
          at += take;
          this.dataLeft -= take;
          this.remaining -= take;
          if (this.dataLeft === 0) this.afterData(ts);
          break;
        }
        case State.Gather:
          at = this.gather(buf, at, end, ts);
          break;
        case State.Skip: {
          const take = Math.min(this.remaining, end - at);
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) this.endFrame(ts);
          break;
        }
      }
    }
  }

  /**
   * Looks for a frame boundary in `buf[at, end)` (a segment's start most often is one); returns
   * where frames start again, or `end`. The place found is confirmed by the next frame header.
   */
  private findPlace(buf: Buffer, at: number, end: number, segmentStart: boolean): number {
    let found = segmentStart && guessFrameBoundary(buf, at, end) === Guess.Yes ? at : -1;
    if (found < 0) found = findFrameBoundary(buf, segmentStart ? at + 1 : at, end, true);
    if (found < 0) return end;
    this.state = State.FrameHeader;
    this.unconfirmed = true;
    return found;
  }

  private readPreface(buf: Buffer, at: number, end: number): number {
    while (at < end && this.prefaceFill < PREFACE.length) {
      if (buf[at] !== PREFACE[this.prefaceFill]) {
        // The server's side starts with frames; a preface broken off half-way leaves the place lost.
        if (this.prefaceFill === 0) {
          this.state = State.FrameHeader;
          return at;
        }
        this.state = State.Lost;
        return end;
      }
      at++;
      this.prefaceFill++;
    }
    if (this.prefaceFill === PREFACE.length) {
      this.state = State.FrameHeader;
      this.handler.onPreface();
    }
    return at;
  }

  private readFrameHeader(buf: Buffer, at: number, end: number, ts: number): number {
    let header: Buffer;
    let h: number;
    if (this.headerFill === 0 && end - at >= FRAME_HEADER_LENGTH) {
      header = buf;
      h = at;
      at += FRAME_HEADER_LENGTH;
    } else {
      const take = Math.min(FRAME_HEADER_LENGTH - this.headerFill, end - at);
      buf.copy(this.header, this.headerFill, at, at + take);
      this.headerFill += take;
      at += take;
      if (this.headerFill < FRAME_HEADER_LENGTH) return at;
      this.headerFill = 0;
      header = this.header;
      h = 0;
    }
    if (this.unconfirmed) {
      // The frame before was where the place was found again: this header must bear it out.
      if (!isPlausibleFrameHeader(header, h)) {
        this.lose(ts);
        return at;
      }
      this.unconfirmed = false;
    }
    const length = (header[h] << 16) | (header[h + 1] << 8) | header[h + 2];
    this.type = header[h + 3];
    this.flags = header[h + 4];
    this.streamId = header.readUInt32BE(h + 5) & 0x7fffffff;
    this.remaining = length;
    this.startFrame(length, ts);
    // A frame with no payload ends here.
    if (this.remaining === 0) {
      if (this.state === State.Gather) this.onPayload(header, h, h, ts);
      else if (this.state === State.Skip) this.endFrame(ts);
    }
    return at;
  }

  /** Chooses how the current frame's payload is read. */
  private startFrame(length: number, ts: number): void {
    if (this.blockStream >= 0 && (this.type !== FrameType.Continuation || this.streamId !== this.blockStream)) {
      // A header block must go on in CONTINUATION frames of its stream, with nothing between.
      this.dropBlock(ts);
      this.blockStream = -1;
      this.blockDropped = false;
    }
    switch (this.type) {
      case FrameType.Data:
        if ((this.flags & Flag.Padded) !== 0) {
          this.state = length === 0 ? State.Skip : State.DataPadLength;
        } else {
          this.dataLeft = length;
          this.state = State.DataBytes;
          if (length === 0) this.afterData(ts);
        }
        return;
      case FrameType.Headers:
      case FrameType.PushPromise:
        this.blockStream = this.streamId;
        this.blockEndStream = this.type === FrameType.Headers && (this.flags & Flag.EndStream) !== 0;
        this.blockPromised = -1;
        this.blockDropped = false;
        this.blockFill = 0;
        this.gatherOrSkip(length, this.limits.maxHeaderBlock + MAX_FIRST_FRAME_EXTRA, ts);
        return;
      case FrameType.Continuation:
        if (this.blockStream < 0) {
          this.state = State.Skip;
          return;
        }
        this.gatherOrSkip(length, this.limits.maxHeaderBlock, ts);
        return;
      default:
        this.gatherOrSkip(length, MAX_CONTROL_PAYLOAD, ts);
    }
  }

  private gatherOrSkip(length: number, max: number, ts: number): void {
    if (length > max || this.blockDropped) {
      this.dropBlock(ts);
      this.state = State.Skip;
      return;
    }
    this.gatheredFill = 0;
    this.state = State.Gather;
  }

  /** Gathers the current payload; a payload whole within the segment is read in place. */
  private gather(buf: Buffer, at: number, end: number, ts: number): number {
    if (this.gatheredFill === 0 && end - at >= this.remaining) {
      const payloadEnd = at + this.remaining;
      this.remaining = 0;
      this.onPayload(buf, at, payloadEnd, ts);
      return payloadEnd;
    }
    const length = this.gatheredFill + this.remaining;
    if (this.gathered === null || this.gathered.length < length) {
      if (!this.grow('gathered', length)) {
        this.state = State.Skip;
        if (this.blockStream >= 0) this.dropBlock(ts);
        return at;
      }
    }
    const take = Math.min(this.remaining, end - at);
    buf.copy(this.gathered!, this.gatheredFill, at, at + take);
    this.gatheredFill += take;
    this.remaining -= take;
    at += take;
    if (this.remaining === 0) {
      const fill = this.gatheredFill;
      this.gatheredFill = 0;
      this.onPayload(this.gathered!, 0, fill, ts);
    }
    return at;
  }

  /** A whole payload of the current frame. */
  private onPayload(buf: Buffer, start: number, end: number, ts: number): void {
    this.state = State.FrameHeader;
    const type = this.type;
    if (type !== FrameType.Headers && type !== FrameType.PushPromise && type !== FrameType.Continuation) {
      this.handler.onControl(type, this.flags, this.streamId, buf, start, end, ts);
      return;
    }
    let from = start;
    let to = end;
    if (type !== FrameType.Continuation) {
      if ((this.flags & Flag.Padded) !== 0) {
        if (to - from < 1) return this.loseBlock(ts);
        to -= buf[from++];
      }
      if (type === FrameType.Headers && (this.flags & Flag.Priority) !== 0) from += 5;
      if (type === FrameType.PushPromise) {
        if (to - from < 4) return this.loseBlock(ts);
        this.blockPromised = buf.readUInt32BE(from) & 0x7fffffff;
        from += 4;
      }
      if (to < from) return this.loseBlock(ts);
    }
    const endHeaders = (this.flags & Flag.EndHeaders) !== 0;
    if (this.blockFill === 0 && endHeaders) {
      // The usual case: a block in one frame, read where it lies.
      this.endBlock(buf, from, to, ts);
      return;
    }
    if (this.blockFill + to - from > this.limits.maxHeaderBlock) return this.loseBlock(ts);
    if ((this.block === null || this.block.length < this.blockFill + to - from) && !this.grow('block', this.blockFill + to - from)) {
      return this.loseBlock(ts);
    }
    buf.copy(this.block!, this.blockFill, from, to);
    this.blockFill += to - from;
    if (endHeaders) this.endBlock(this.block!, 0, this.blockFill, ts);
  }

  private endBlock(buf: Buffer, start: number, end: number, ts: number): void {
    const stream = this.blockStream;
    this.blockStream = -1;
    this.blockFill = 0;
    this.handler.onHeaderBlock(stream, this.blockEndStream, this.blockPromised, buf, start, end, ts);
  }

  /** The block of the frame just read is lost; it is over if that frame ended it. */
  private loseBlock(ts: number): void {
    this.dropBlock(ts);
    if ((this.flags & Flag.EndHeaders) !== 0) {
      this.blockStream = -1;
      this.blockDropped = false;
    }
  }

  /** The open header block is lost; its CONTINUATIONs are passed over until it ends. */
  private dropBlock(ts: number): void {
    if (this.blockStream < 0 || this.blockDropped) return;
    this.blockDropped = true;
    this.blockFill = 0;
    this.handler.onHeaderBlockLost(this.blockStream, ts);
  }

  /** Grows a gathering buffer to `length`, charged to the budget; false when the budget is spent. */
  private grow(which: 'gathered' | 'block', length: number): boolean {
    const current = this[which];
    const size = Math.max(length, Math.min(2 * (current?.length ?? 0), this.limits.maxHeaderBlock + 1024), 256);
    const more = size - (current?.length ?? 0);
    if (!this.limits.headBuffers.take(more)) return false;
    this.charged += more;
    const grown = Buffer.allocUnsafeSlow(size);
    if (current !== null) current.copy(grown, 0, 0, which === 'gathered' ? this.gatheredFill : this.blockFill);
    this[which] = grown;
    return true;
  }

  /** DATA bytes are over: the padding, if any, is passed over, then the frame ends. */
  private afterData(ts: number): void {
    if (this.remaining > 0) {
      this.state = State.Skip;
      return;
    }
    this.endFrame(ts);
  }

  /** The current frame's payload is all read. */
  private endFrame(ts: number): void {
    const type = this.type;
    this.state = State.FrameHeader;
    if (type === FrameType.Data) {
      this.handler.onDataEnd(this.streamId, (this.flags & Flag.EndStream) !== 0, ts);
      return;
    }
    // A frame of a lost block, passed over: the block is over when it says so.
    if (this.blockDropped && (this.flags & Flag.EndHeaders) !== 0) {
      this.blockStream = -1;
      this.blockDropped = false;
      return;
    }
  }
}
