/**
 * HPACK prefix integers (RFC 7541 §5.1), read in place and bounded: a value must stay below
 * 2^31 and take at most five continuation bytes, so that an endless run of 0x80 bytes or a
 * 64-bit length cannot make the decoder loop, overflow or reserve memory for it.
 */

/** A read position in a header block: the readers advance `pos`, never past `end`. */
export interface Cursor {
  pos: number;
  end: number;
}

/** The largest integer accepted: every value fits a non-negative int32 (and bit operations). */
export const MAX_INTEGER = 0x7fffffff;

/** Continuation bytes after the prefix: five carry 35 bits, enough for any value below 2^31. */
const MAX_CONTINUATIONS = 5;

/**
 * Reads the integer whose `prefixBits`-bit prefix is in the byte at `cursor.pos` (the bits
 * above the prefix belong to the representation and are ignored) and moves the cursor past it.
 * Returns -1, the cursor where it stood or beyond, when the bytes end too early, the value
 * exceeds MAX_INTEGER or the encoding is longer than needed by more than its bound.
 */
export function readInteger(buf: Buffer, cursor: Cursor, prefixBits: number): number {
  let pos = cursor.pos;
  const end = cursor.end;
  if (pos >= end) return -1;
  const mask = (1 << prefixBits) - 1;
  let value = buf[pos++] & mask;
  if (value < mask) {
    cursor.pos = pos;
    return value;
  }
  let scale = 1;
  for (let i = 0; i < MAX_CONTINUATIONS && pos < end; i++) {
    const b = buf[pos++];
    // Multiplication, not a shift: (b & 0x7f) << 28 would overflow int32 before the bound check.
    value += (b & 0x7f) * scale;
    if (value > MAX_INTEGER) return -1;
    if (b < 0x80) {
      cursor.pos = pos;
      return value;
    }
    scale *= 128;
  }
  return -1;
}
