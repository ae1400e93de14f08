/**
 * TLS record framing for one direction of a connection: bytes in, whole records out, and the
 * first handshake message (a hello) gathered across records. Records and hellos that span TCP
 * segments are copied into buffers charged to a shared byte budget (the one message heads use),
 * so many connections each sending half a hello cannot hold more than the budget.
 */
import type { ByteBudget } from '../protocol/byteBudget';

export const RECORD_HEADER = 5;
/** A record's body at most: 2^14 bytes of plaintext plus what encryption may add (RFC 8446 §5.2). */
export const MAX_RECORD_BODY = 16384 + 256;
/** Bytes of handshake data gathered at most for one hello. */
export const MAX_HELLO = 64 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * A copy of `bytes` in memory of its own. Small Buffers otherwise come from a shared 8 KB
 * pool, and one kept for long (a key, a waiting record) would keep its whole slab alive.
 */
export function ownCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

export const CONTENT = { CHANGE_CIPHER_SPEC: 20, ALERT: 21, HANDSHAKE: 22, APPLICATION_DATA: 23 } as const;

/** Receives the records of a direction. `body[start, end)` is only valid during the call. */
export interface RecordHandler {
  onRecord(type: number, header: Buffer, body: Buffer, start: number, end: number, ts: number): void;
  /** A whole record went by unread (no budget to gather it): what depended on it is lost. */
  onRecordSkipped?(type: number): void;
}

/** Splits a direction's bytes into records. Once framing is lost (not TLS, a gap of unknown size) it stays lost. */
export class RecordReader {
  /** A header that spans segments is gathered here (made when first needed: most never do). */
  private spanningHeader: Buffer | null = null;
  /** The current record's header: a view of the segment, or spanningHeader. */
  private header: Buffer = EMPTY;
  private headerLength = 0;
  /** Body bytes still to come of the current record (its header is whole). */
  private remaining = 0;
  private body: Buffer | null = null;
  private bodyLength = 0;
  /** The current record's body is being skipped (no budget for it, or a hole inside it). */
  private skipping = false;
  /** ...because the budget refused it (a hole is told by gap() instead). */
  private budgetSkipped = false;
  lost = false;

  constructor(private readonly handler: RecordHandler, private readonly budget: ByteBudget) {}

  push(buf: Buffer, start: number, end: number, ts: number): void {
    let pos = start;
    while (pos < end && !this.lost) {
      if (this.remaining === 0) {
        if (this.headerLength === 0 && end - pos >= RECORD_HEADER) {
          // The usual case: the whole header in this segment, read in place.
          this.header = buf.subarray(pos, pos + RECORD_HEADER);
          pos += RECORD_HEADER;
        } else {
          this.spanningHeader ??= Buffer.allocUnsafeSlow(RECORD_HEADER);
          const take = Math.min(RECORD_HEADER - this.headerLength, end - pos);
          buf.copy(this.spanningHeader, this.headerLength, pos, pos + take);
          this.headerLength += take;
          pos += take;
          if (this.headerLength < RECORD_HEADER) return;
          this.headerLength = 0;
          this.header = this.spanningHeader;
        }
        const type = this.header[0];
        const length = this.header.readUInt16BE(3);
        if (type < CONTENT.CHANGE_CIPHER_SPEC || type > CONTENT.APPLICATION_DATA || this.header[1] !== 3 || length === 0 || length > MAX_RECORD_BODY) {
          this.loseFraming();
          return;
        }
        if (end - pos >= length) {
          // The whole record is in this segment: no copy.
          this.handler.onRecord(type, this.header, buf, pos, pos + length, ts);
          // A view kept past this call would keep the capture's whole buffer alive.
          this.header = EMPTY;
          pos += length;
          continue;
        }
        // The segment's view is only valid during this call: keep a copy for the record's end.
        if (this.header !== this.spanningHeader) {
          this.spanningHeader ??= Buffer.allocUnsafeSlow(RECORD_HEADER);
          this.header.copy(this.spanningHeader);
          this.header = this.spanningHeader;
        }
        this.remaining = length;
        this.skipping = !this.budget.take(length);
        this.budgetSkipped = this.skipping;
        if (!this.skipping) {
          this.body = Buffer.allocUnsafeSlow(length);
          this.bodyLength = 0;
        }
        continue;
      }
      const take = Math.min(this.remaining, end - pos);
      if (!this.skipping) buf.copy(this.body!, this.bodyLength, pos, pos + take);
      this.bodyLength += take;
      this.remaining -= take;
      pos += take;
      if (this.remaining === 0) this.completeSpanningRecord(ts);
    }
  }

  /**
   * `missing` bytes were lost (-1: unknown). Inside a record of known size the framing survives
   * (that record is lost); otherwise the direction cannot be framed any more.
   */
  gap(missing: number): void {
    if (missing < 0 || this.headerLength > 0 || this.remaining === 0 || missing > this.remaining) {
      this.loseFraming();
      return;
    }
    this.remaining -= missing;
    this.releaseBody();
    this.skipping = true;
    this.budgetSkipped = false;
    if (this.remaining === 0) this.skipping = false;
  }

  private completeSpanningRecord(ts: number): void {
    const body = this.body;
    const length = this.bodyLength;
    const skipped = this.skipping;
    this.releaseBody();
    this.skipping = false;
    if (!skipped && body !== null) this.handler.onRecord(this.header[0], this.header, body, 0, length, ts);
    else if (skipped && this.budgetSkipped) this.handler.onRecordSkipped?.(this.header[0]);
    this.budgetSkipped = false;
  }

  private releaseBody(): void {
    if (this.body !== null) this.budget.give(this.body.length);
    this.body = null;
    this.bodyLength = 0;
  }

  /** Stops framing (and lets go of the buffer). */
  loseFraming(): void {
    this.lost = true;
    this.header = EMPTY;
    this.releaseBody();
    this.remaining = 0;
    this.headerLength = 0;
  }
}

/**
 * Gathers the handshake data of one direction up to its first whole handshake message.
 * `add` returns that message once whole, null while more is needed, false once it will not
 * come (too large, or no budget).
 */
export class HandshakeAssembler {
  private data: Buffer | null = null;
  private length = 0;
  private done = false;

  constructor(private readonly budget: ByteBudget) {}

  add(body: Buffer, start: number, end: number): { type: number; body: Buffer } | null | false {
    if (this.done) return false;
    // The usual case, a hello in one record: no copy.
    if (this.length === 0 && end - start >= 4) {
      const length = body.readUIntBE(start + 1, 3);
      if (length > MAX_HELLO) return this.fail();
      if (end - start >= 4 + length) {
        this.done = true;
        return { type: body[start], body: body.subarray(start + 4, start + 4 + length) };
      }
    }
    const needed = this.length + (end - start);
    if (needed > MAX_HELLO + 4) return this.fail();
    if (this.data === null || this.data.length < needed) {
      const size = Math.min(MAX_HELLO + 4, Math.max(needed, 2 * (this.data?.length ?? 1024)));
      if (!this.budget.take(size - (this.data?.length ?? 0))) return this.fail();
      const grown = Buffer.allocUnsafeSlow(size);
      if (this.data !== null) this.data.copy(grown, 0, 0, this.length);
      this.data = grown;
    }
    body.copy(this.data, this.length, start, end);
    this.length = needed;
    if (this.length < 4) return null;
    const messageLength = this.data.readUIntBE(1, 3);
    if (messageLength > MAX_HELLO) return this.fail();
    if (this.length < 4 + messageLength) return null;
    const message = { type: this.data[0], body: Buffer.from(this.data.subarray(4, 4 + messageLength)) };
    this.release();
    this.done = true;
    return message;
  }

  private fail(): false {
    this.release();
    this.done = true;
    return false;
  }

  /** Lets go of the buffer (the connection ended). */
  release(): void {
    if (this.data !== null) this.budget.give(this.data.length);
    this.data = null;
    this.length = 0;
  }
}
