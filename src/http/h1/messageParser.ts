/**
 * An incremental HTTP/1.x parser for one direction of a connection. It finds message heads,
 * follows body framing (Content-Length, chunked with trailers, until-close, tunnels), counts
 * body bytes without keeping them, and resynchronises at the next message start after a gap.
 * Bytes are only copied while a head spans segments, into a buffer bounded by `maxHeadBytes`.
 */
import type { ByteBudget } from '../../protocol/byteBudget';
import type { HeadOptions, HeadParser, MessageHead } from './head';
import { CR, LF, indexOfByte } from './lines';
import { endsWithHttpVersion, looksLikeRequestLine, looksLikeStatusLine } from './startLine';

/** How the body after a head is delimited. */
export const enum Framing {
  None,
  Length,
  Chunked,
  UntilClose,
  /** The connection stops carrying HTTP (CONNECT, Upgrade). */
  Tunnel,
}

/** What a head means for its body, decided by the connection (responses depend on the request). */
export interface BodyPlan {
  framing: Framing;
  length: number;
}

/** The connection a parser reports to. */
export interface ParserOwner {
  onHead(parser: MessageParser, head: MessageHead, ts: number): BodyPlan;
  onMessageEnd(parser: MessageParser, bodyBytes: number, ts: number): void;
  /** The first bytes of the stream are not HTTP: the connection is given up. */
  onNotHttp(parser: MessageParser): void;
  /** The first byte of a status-less HTTP/0.9 response (see expectRawResponse). */
  onRawResponseStart(parser: MessageParser, ts: number): void;
  /** Bytes that do not parse in a stream that was HTTP; the parser resyncs. */
  onParseError(parser: MessageParser): void;
  /** Bytes after the direction stopped carrying HTTP (a tunnel: after an Upgrade or CONNECT), in order. */
  onTunnelBytes(parser: MessageParser, buf: Buffer, start: number, end: number, ts: number): void;
  /** Bytes lost in a tunnel (`missing` < 0: unknown how many). */
  onTunnelGap(parser: MessageParser, ts: number, missing: number): void;
}

/** Bounds on what one parser holds (and on what its heads keep). */
export interface ParserLimits extends HeadOptions {
  maxHeadBytes: number;
  /** What all parsers' head buffers may hold together. */
  headBuffers: ByteBudget;
}

const enum State {
  Start,
  Head,
  Body,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Tunnel,
  Resync,
  Dead,
}

/** Who speaks in this direction, learnt from its first bytes. */
export const enum Role { Unknown, Client, Server }

const MAX_CHUNK_LINE = 1024;
/** A head buffer up to this size stays with a parser that is reused. */
export const KEPT_HEAD_BUFFER = 4096;
const MAX_CHUNK_SIZE = 2 ** 50;

/** Parses one direction's byte stream into message heads and body ends. */
export class MessageParser {
  role: Role = Role.Unknown;
  private state = State.Start;
  private headBuf: Buffer | null = null;
  private headLen = 0;
  private remaining = 0;
  private bodyBytes = 0;
  private lineLen = 0;
  private chunkSize = 0;
  private chunkSizeValid = true;
  private chunkDigits = 0;
  private inChunkExtension = false;
  /** A trailer line had content (so the next empty line ends the trailers). */
  private trailerLineHasContent = false;
  /** A message head has been parsed in this direction. */
  sawHttp = false;
  /** The next message is an HTTP/0.9 response: raw bytes until the close, no head. */
  private rawResponseNext = false;
  private scratchHead: MessageHead | null = null;
  /** Time of the segment that carried a head's first byte. */
  private headTs = 0;

  /** `heads`: parses the heads it finds (shared: it keeps nothing between heads). */
  constructor(private readonly owner: ParserOwner, private readonly limits: ParserLimits, private readonly heads: HeadParser) {}

  /** Back to the state of a new parser, for a new connection (a small head buffer is kept). */
  reset(): void {
    this.role = Role.Unknown;
    this.state = State.Start;
    this.releaseHeadBuffer(KEPT_HEAD_BUFFER);
    this.headLen = 0;
    this.remaining = 0;
    this.bodyBytes = 0;
    this.lineLen = 0;
    this.chunkSize = 0;
    this.chunkSizeValid = true;
    this.chunkDigits = 0;
    this.inChunkExtension = false;
    this.trailerLineHasContent = false;
    this.sawHttp = false;
    this.rawResponseNext = false;
    this.headTs = 0;
  }

  /** Consumes `buf[start, end)`, the next bytes of the stream in order. */
  push(buf: Buffer, start: number, end: number, ts: number): void {
    let pos = start;
    while (pos < end) {
      switch (this.state) {
        case State.Start:
          pos = this.onStart(buf, pos, end, ts);
          break;
        case State.Head:
          pos = this.onHeadBytes(buf, pos, end, ts);
          break;
        case State.Body:
          pos += this.consumeBody(end - pos);
          if (this.remaining === 0) this.endMessage(ts);
          break;
        case State.ChunkSize:
          pos = this.onChunkSize(buf, pos, end, ts);
          break;
        case State.ChunkData:
          pos += this.consumeBody(end - pos);
          if (this.remaining === 0) { this.state = State.ChunkDataEnd; this.lineLen = 0; }
          break;
        case State.ChunkDataEnd:
          // The CRLF after a chunk's data: tolerate a bare LF, and data that runs on.
          if (buf[pos] === CR && this.lineLen === 0) { this.lineLen = 1; pos++; break; }
          if (buf[pos] === LF) pos++;
          this.startChunkSize();
          break;
        case State.Trailers:
          pos = this.onTrailers(buf, pos, end, ts);
          break;
        case State.UntilClose:
          this.bodyBytes += end - pos;
          pos = end;
          break;
        case State.Resync:
          pos = this.onResync(buf, pos, end, ts);
          break;
        case State.Tunnel:
          // Not HTTP/1 any more: the connection knows who reads it.
          this.owner.onTunnelBytes(this, buf, pos, end, ts);
          return;
        case State.Dead:
          return;
      }
    }
  }

  /** Counts up to `available` bytes of a body of known remaining size; returns how many. */
  private consumeBody(available: number): number {
    const take = Math.min(this.remaining, available);
    this.remaining -= take;
    this.bodyBytes += take;
    return take;
  }

  /** Bytes were lost before the next push (`missing` < 0: unknown how many). */
  gap(ts: number, missing: number): void {
    if (this.state === State.Tunnel) {
      this.owner.onTunnelGap(this, ts, missing);
      return;
    }
    if (this.state === State.Dead) return;
    if (this.state === State.UntilClose && missing >= 0) {
      this.bodyBytes += missing;
      return;
    }
    if ((this.state === State.Body || this.state === State.ChunkData) && missing >= 0 && missing < this.remaining) {
      // The hole lies inside a body of known size: skip it and stay in step.
      this.remaining -= missing;
      this.bodyBytes += missing;
      return;
    }
    // Of the bytes lost, those after the message the hole ends (-1: unknown).
    let after = -1;
    if (this.state === State.Body || this.state === State.ChunkData || this.state === State.ChunkSize
        || this.state === State.ChunkDataEnd || this.state === State.Trailers) {
      // The hole takes the rest of the message with it: end it here (with the rest of a body of
      // known size; a chunked body's later chunks are not known) and look for the next one.
      if (this.state === State.Body || this.state === State.ChunkData) {
        this.bodyBytes += this.remaining;
        if (missing >= 0 && this.state === State.Body) after = missing - this.remaining;
      }
      this.endMessage(ts);
    } else if (this.state === State.Head && this.headLen > 0) {
      this.salvageHead(ts);
    } else if (this.state !== State.Start && this.state !== State.Resync && this.sawHttp) {
      // A head or chunk line lost its middle: what was read of it is useless.
      this.headLen = 0;
    }
    if ((this.state as State) === State.Tunnel) {
      // The message the hole ended switched the connection: the rest of the hole is the tunnel's.
      this.owner.onTunnelGap(this, ts, after);
      return;
    }
    this.state = State.Resync;
  }

  /** The stream ended (FIN, RST, expiry): a body delimited by the close ends here. */
  finish(ts: number): void {
    if (this.state === State.UntilClose || this.state === State.Body || this.state === State.ChunkData
        || this.state === State.ChunkSize || this.state === State.ChunkDataEnd || this.state === State.Trailers) {
      this.endMessage(ts);
    }
    this.state = State.Dead;
  }

  /** Stops parsing this direction: a tunnel's bytes go on to the owner (onTunnelBytes), a dead one's nowhere (not HTTP). */
  stop(tunnel: boolean): void {
    this.state = tunnel ? State.Tunnel : State.Dead;
    this.releaseHeadBuffer(0);
  }

  /** Parses again from a message start, after a tunnel that did not happen (the switch was refused). */
  resume(): void {
    this.state = State.Start;
    this.headLen = 0;
  }

  /** Has this direction stopped parsing as a tunnel? */
  get isTunnel(): boolean {
    return this.state === State.Tunnel;
  }

  /** Lets go of the head buffer if it is larger than `keep` bytes, giving its bytes back to the budget. */
  releaseHeadBuffer(keep: number): void {
    if (this.headBuf === null || this.headBuf.length <= keep) return;
    this.limits.headBuffers.give(this.headBuf.length);
    this.headBuf = null;
  }

  /** Is this parser in the middle of a body delimited by the connection's close? */
  get readingUntilClose(): boolean {
    return this.state === State.UntilClose;
  }

  /** The peer sent an HTTP/0.9 request: its answer is the body alone, until the close. */
  expectRawResponse(): void {
    this.role = Role.Server;
    this.rawResponseNext = true;
  }

  private onStart(buf: Buffer, pos: number, end: number, ts: number): number {
    if (this.rawResponseNext) {
      this.rawResponseNext = false;
      this.sawHttp = true;
      this.bodyBytes = 0;
      this.state = State.UntilClose;
      this.owner.onRawResponseStart(this, ts);
      return pos;
    }
    // Empty lines between messages are allowed (RFC 9112 §2.2).
    while (pos < end && (buf[pos] === CR || buf[pos] === LF)) pos++;
    if (pos === end) return end;
    this.state = State.Head;
    this.headLen = 0;
    this.headTs = ts;
    return pos;
  }

  private onHeadBytes(buf: Buffer, pos: number, end: number, ts: number): number {
    if (this.headLen === 0) {
      const headEnd = this.findHeadEnd(buf, pos, end, pos);
      if (headEnd >= 0) {
        this.completeHead(buf, pos, headEnd, ts);
        return headEnd;
      }
      if (!this.plausibleStart(buf, pos, end)) return this.notHttp(end);
      this.appendHead(buf, pos, end);
      return end;
    }
    const searchFrom = Math.max(0, this.headLen - 3);
    const before = this.headLen;
    if (!this.appendHead(buf, pos, end)) return end;
    const head = this.headBuf!;
    const headEnd = this.findHeadEnd(head, searchFrom, this.headLen, 0);
    if (headEnd < 0) return end;
    this.completeHead(head, 0, headEnd, ts);
    this.headLen = 0;
    // A large head was a one-off: its buffer goes back to the shared budget.
    this.releaseHeadBuffer(KEPT_HEAD_BUFFER);
    // Bytes after the head in this segment are consumed from the segment itself.
    return pos + (headEnd - before);
  }

  /** Copies bytes of a head that spans segments; false (and a resync) when it grows too large. */
  private appendHead(buf: Buffer, pos: number, end: number): boolean {
    const needed = this.headLen + (end - pos);
    if (needed > this.limits.maxHeadBytes) return this.dropHead();
    if (this.headBuf === null || this.headBuf.length < needed) {
      const size = Math.min(this.limits.maxHeadBytes, Math.max(needed, 2 * (this.headBuf?.length ?? 512)));
      // Every connection's head buffers come from one budget: a flood of unfinished heads is dropped, counted.
      if (!this.limits.headBuffers.take(size - (this.headBuf?.length ?? 0))) return this.dropHead();
      const grown = Buffer.allocUnsafe(size);
      if (this.headBuf !== null) this.headBuf.copy(grown, 0, 0, this.headLen);
      this.headBuf = grown;
    }
    buf.copy(this.headBuf, this.headLen, pos, end);
    this.headLen = needed;
    return true;
  }

  /** A head too large, or beyond the shared budget: a parse error, and a resync at the next message. */
  private dropHead(): false {
    this.owner.onParseError(this);
    this.headLen = 0;
    this.state = State.Resync;
    this.releaseHeadBuffer(KEPT_HEAD_BUFFER);
    return false;
  }

  /**
   * Index just past the blank line ending the head that starts at `headStart`, or -1; the
   * search starts at `from`. An HTTP/0.9 request has no headers: its head is the request line.
   */
  private findHeadEnd(buf: Buffer, from: number, end: number, headStart: number): number {
    let nl = indexOfByte(buf, LF, from, end);
    // Only the first line can end an HTTP/0.9 head: check it when this search reaches it.
    if (this.role !== Role.Server && nl >= 0 && (from === headStart || indexOfByte(buf, LF, headStart, end) === nl)
        && this.isHttp09RequestLine(buf, headStart, nl, end)) {
      return nl + 1;
    }
    while (nl >= 0) {
      if (nl + 1 < end && buf[nl + 1] === LF) return nl + 2;
      if (nl + 2 < end && buf[nl + 1] === CR && buf[nl + 2] === LF) return nl + 3;
      nl = indexOfByte(buf, LF, nl + 1, end);
    }
    return -1;
  }

  /**
   * Is the line ending at `nl` a request line without a version, with no header lines after it
   * in what has arrived? (Header lines that follow one anyway are read as headers.)
   */
  private isHttp09RequestLine(buf: Buffer, start: number, nl: number, end: number): boolean {
    if (this.role === Role.Server || looksLikeStatusLine(buf, start, nl)) return false;
    let stop = nl;
    if (stop > start && buf[stop - 1] === CR) stop--;
    if (endsWithHttpVersion(buf, start, stop)) return false;
    const next = indexOfByte(buf, LF, nl + 1, end);
    const colon = indexOfByte(buf, 0x3a, nl + 1, end);
    return nl + 1 >= end || colon < 0 || (next >= 0 && next < colon);
  }

  /** Could `buf[pos, end)` be the beginning of a message head? (Checked before buffering.) */
  private plausibleStart(buf: Buffer, pos: number, end: number): boolean {
    if (end - pos >= 7 && looksLikeStatusLine(buf, pos, end)) return true;
    if (end - pos < 7 && buf.subarray(pos, end).equals(Buffer.from('HTTP/1.'.slice(0, end - pos)))) return true;
    let i = pos;
    while (i < end && i - pos <= 32 && buf[i] !== 0x20 && buf[i] !== CR && buf[i] !== LF) i++;
    if (i === end && i - pos <= 32) return true; // a token not finished yet
    return looksLikeRequestLine(buf, pos, Math.min(end, i + 1));
  }

  /**
   * A head lost its end in a gap (a packet cut by the snapshot length, or dropped): its lines
   * read so far still name the message (the start line, Host, User-Agent come first), so it is
   * reported from them. Where its body ends is unknown: the parser then resyncs.
   */
  private salvageHead(ts: number): void {
    const head = this.headBuf!;
    const lastLineEnd = head.lastIndexOf(LF, this.headLen - 1);
    this.headLen = 0;
    if (lastLineEnd < 0) return;
    this.completeHead(head, 0, lastLineEnd + 1, ts, true);
  }

  /** `truncated`: the head was cut (see salvageHead); the message ends with it. */
  private completeHead(buf: Buffer, start: number, end: number, ts: number, truncated = false): void {
    // The connection keeps what it needs of a head, not the head: the next one reuses it.
    const head = this.heads.parse(buf, start, end, this.scratchHead ?? undefined);
    if (head !== null) this.scratchHead = head;
    if (head === null) {
      if (!this.sawHttp) { this.notHttp(end); return; }
      this.owner.onParseError(this);
      this.state = State.Resync;
      return;
    }
    this.sawHttp = true;
    if (this.role === Role.Unknown) this.role = head.isRequest ? Role.Client : Role.Server;
    this.bodyBytes = 0;
    const plan = this.owner.onHead(this, head, this.headTs);
    if ((this.state as State) === State.Dead || (this.state as State) === State.Tunnel) return;
    if (truncated && plan.framing !== Framing.Tunnel) {
      // The body's size as declared, when the cut left it readable: the best guess there is.
      this.bodyBytes = plan.framing === Framing.Length ? plan.length : 0;
      this.endMessage(ts);
      return;
    }
    switch (plan.framing) {
      case Framing.None:
        this.endMessage(ts);
        break;
      case Framing.Length:
        this.remaining = plan.length;
        if (plan.length === 0) this.endMessage(ts);
        else this.state = State.Body;
        break;
      case Framing.Chunked:
        this.startChunkSize();
        break;
      case Framing.UntilClose:
        this.state = State.UntilClose;
        break;
      case Framing.Tunnel:
        this.owner.onMessageEnd(this, 0, ts);
        this.state = State.Tunnel;
        break;
    }
  }

  private endMessage(ts: number): void {
    this.state = State.Start;
    this.owner.onMessageEnd(this, this.bodyBytes, ts);
  }

  private notHttp(end: number): number {
    this.owner.onNotHttp(this);
    this.stop(false);
    return end;
  }

  private startChunkSize(): void {
    this.state = State.ChunkSize;
    this.chunkSize = 0;
    this.chunkDigits = 0;
    this.chunkSizeValid = true;
    this.inChunkExtension = false;
    this.lineLen = 0;
  }

  private onChunkSize(buf: Buffer, pos: number, end: number, ts: number): number {
    while (pos < end) {
      const c = buf[pos++];
      if (c === LF) {
        if (!this.chunkSizeValid || this.chunkDigits === 0) return this.chunkError(ts, pos);
        if (this.chunkSize === 0) {
          this.state = State.Trailers;
          this.trailerLineHasContent = false;
          this.lineLen = 0;
        } else {
          this.remaining = this.chunkSize;
          this.state = State.ChunkData;
        }
        return pos;
      }
      if (++this.lineLen > MAX_CHUNK_LINE) return this.chunkError(ts, pos);
      if (this.inChunkExtension || c === CR) continue;
      if (c === 0x3b) { this.inChunkExtension = true; continue; }
      if (c === 0x20 || c === 0x09) { if (this.chunkDigits > 0) this.inChunkExtension = true; continue; }
      const digit = hexValue(c);
      if (digit < 0) { this.chunkSizeValid = false; continue; }
      this.chunkSize = this.chunkSize * 16 + digit;
      this.chunkDigits++;
      if (this.chunkSize > MAX_CHUNK_SIZE) this.chunkSizeValid = false;
    }
    return pos;
  }

  /** A chunk-size line that is not one: end the message here and look for the next. */
  private chunkError(ts: number, pos: number): number {
    this.owner.onParseError(this);
    this.endMessage(ts);
    this.state = State.Resync;
    return pos;
  }

  private onTrailers(buf: Buffer, pos: number, end: number, ts: number): number {
    while (pos < end) {
      const c = buf[pos++];
      if (c === LF) {
        if (!this.trailerLineHasContent) { this.endMessage(ts); return pos; }
        this.trailerLineHasContent = false;
        this.lineLen = 0;
      } else if (c !== CR) {
        this.trailerLineHasContent = true;
        if (++this.lineLen > this.limits.maxHeadBytes) return this.chunkError(ts, pos);
      }
    }
    return pos;
  }

  /** Looks for the start of the next message at a line start after lost or broken bytes. */
  private onResync(buf: Buffer, pos: number, end: number, ts: number): number {
    const start = findMessageStart(buf, pos, end, this.role);
    if (start < 0) return end;
    this.state = State.Head;
    this.headLen = 0;
    this.headTs = ts;
    return start;
  }
}

/**
 * Where the first message starting at a line start of `buf[pos, end)` begins (a complete
 * request line with its version, or a status line; only those `role` may send), or -1.
 */
export function findMessageStart(buf: Buffer, pos: number, end: number, role: Role): number {
  let lineStart = pos;
  while (lineStart < end) {
    if (isMessageStart(buf, lineStart, end, role)) return lineStart;
    const nl = indexOfByte(buf, LF, lineStart, end);
    if (nl < 0) return -1;
    lineStart = nl + 1;
  }
  return -1;
}

/** Does a complete request line or a status line start at `pos`? */
function isMessageStart(buf: Buffer, pos: number, end: number, role: Role): boolean {
  if (role !== Role.Client && looksLikeStatusLine(buf, pos, end)) return true;
  if (role === Role.Server) return false;
  const nl = indexOfByte(buf, LF, pos, end);
  if (nl < 0) return false;
  let stop = nl;
  if (stop > pos && buf[stop - 1] === CR) stop--;
  return looksLikeRequestLine(buf, pos, stop) && endsWithHttpVersion(buf, pos, stop);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}
