/**
 * Turns bytes from the wire into display-safe strings: bounded to a byte budget, decoded
 * (ASCII fast path, UTF-8 otherwise) and with every terminal control character escaped, so
 * that a User-Agent carrying an escape sequence can never reach a terminal.
 */

/** True when `buf[start, end)` holds only printable ASCII (0x20–0x7e). */
function isPrintableAscii(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Sets of a TextCache (a power of two), of two values each. */
const CACHE_SETS = 2048;
/** Values longer than this are not cached: hashing them costs more than it saves. */
const CACHE_MAX_LENGTH = 256;
/** Values up to this long are hashed whole; of a longer one, its first and last bytes and some between. */
const HASHED_WHOLE = 32;
const HASHED_ENDS = 12;
const HASHED_BETWEEN = 8;

/**
 * Header values that repeat from request to request (Host, User-Agent), kept so that the same
 * bytes give back the same string: no new string per request for them (less garbage), and one
 * hash for every later lookup of it. A value is looked for in the set of two places its hash
 * names; one not there takes an empty place, else the first.
 *
 * A lookup reads a value's bytes once: the hash takes a few dozen of them (a long value's ends,
 * where user agents tend to differ, and a sample between), and comparing with a kept value's
 * bytes checks them all, which also proves them printable (the kept value is). Each kept value's
 * bytes are beside it in one buffer (1 MiB), compared byte for byte: hashing every byte and then
 * comparing every byte with a string's characters made this the capture's costliest step (a
 * user agent is a hundred bytes, in every request). Two values that differ only where the hash
 * does not look share a set, and both stay.
 */
export class TextCache {
  private readonly slots: Array<string | undefined>;
  /** The bytes of each place's value, CACHE_MAX_LENGTH apart. */
  private readonly bytes: Buffer;
  /** Sets less one: a hash's set is `hash & mask`. */
  private readonly mask: number;

  /** `sets`: a power of two; each set holds two values of up to CACHE_MAX_LENGTH bytes. */
  constructor(sets = CACHE_SETS) {
    if (!Number.isInteger(sets) || sets < 1 || (sets & (sets - 1)) !== 0) throw new RangeError(`TextCache: sets must be a power of two, not ${sets}`);
    this.mask = sets - 1;
    this.slots = new Array<string | undefined>(2 * sets);
    this.bytes = Buffer.alloc(2 * sets * CACHE_MAX_LENGTH);
  }

  /** The text of `buf[start, end)` when it is printable ASCII, else null. */
  ascii(buf: Buffer, start: number, end: number): string | null {
    const length = end - start;
    if (length > CACHE_MAX_LENGTH) return isPrintableAscii(buf, start, end) ? buf.latin1Slice(start, end) : null;
    const slot = 2 * (sampledHash(buf, start, end) & this.mask);
    const first = this.slots[slot];
    if (first !== undefined && first.length === length && sameBytes(this.bytes, slot * CACHE_MAX_LENGTH, buf, start, end)) return first;
    const second = this.slots[slot + 1];
    if (second !== undefined && second.length === length && sameBytes(this.bytes, (slot + 1) * CACHE_MAX_LENGTH, buf, start, end)) return second;
    if (!isPrintableAscii(buf, start, end)) return null;
    const text = buf.latin1Slice(start, end);
    const at = first !== undefined && second === undefined ? slot + 1 : slot;
    this.slots[at] = text;
    buf.copy(this.bytes, at * CACHE_MAX_LENGTH, start, end);
    return text;
  }
}

/** Are the kept bytes at `kept[at...]` those of `buf[start, end)`? */
function sameBytes(kept: Buffer, at: number, buf: Buffer, start: number, end: number): boolean {
  for (let i = start, j = at; i < end; i++, j++) if (kept[j] !== buf[i]) return false;
  return true;
}

/** FNV-1a of a value's length and of its bytes, or of a sample of them when it is long (see HASHED_WHOLE). */
function sampledHash(buf: Buffer, start: number, end: number): number {
  const length = end - start;
  let hash = Math.imul(0x811c9dc5 ^ length, 0x01000193);
  if (length <= HASHED_WHOLE) {
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i], 0x01000193);
  } else {
    for (let i = start; i < start + HASHED_ENDS; i++) hash = Math.imul(hash ^ buf[i], 0x01000193);
    for (let i = end - HASHED_ENDS; i < end; i++) hash = Math.imul(hash ^ buf[i], 0x01000193);
    const step = Math.floor((length - 2 * HASHED_ENDS) / (HASHED_BETWEEN + 1));
    for (let k = 1, i = start + HASHED_ENDS + step; k <= HASHED_BETWEEN; k++, i += step) hash = Math.imul(hash ^ buf[i], 0x01000193);
  }
  return hash ^ (hash >>> 16);
}

/**
 * Decodes at most `maxBytes` of `buf[start, end)` into a sanitised string (through `cache` when
 * given) of at most `maxBytes` characters: escaping turns a control byte into four characters,
 * so the bound applies again after escaping (1 KB of control bytes must not become 4 KB).
 */
export function boundedText(buf: Buffer, start: number, end: number, maxBytes: number, cache?: TextCache): string {
  if (end - start > maxBytes) end = start + maxBytes;
  const ascii = cache !== undefined && end - start <= CACHE_MAX_LENGTH ? cache.ascii(buf, start, end)
    : isPrintableAscii(buf, start, end) ? buf.latin1Slice(start, end) : null;
  return ascii ?? escapeControls(buf.toString('utf8', start, end), maxBytes);
}

/** C0 controls, DEL, C1 controls, and the bidirectional overrides that can reorder a line. */
function isControl(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}

const HEX = '0123456789abcdef';

/**
 * Escapes control characters as `\xHH` / `\uHHHH`, so they show instead of acting, keeping at
 * most `maxLength` characters (an escape that does not fit whole is left out, and so is half a
 * surrogate pair). The result is a new flat string: a cut of a longer one would be a V8 sliced
 * string that keeps the whole original alive (a kept 1 KB URI pinning 8 KB).
 */
export function escapeControls(text: string, maxLength = Infinity): string {
  const out: number[] = [];
  for (let i = 0; i < text.length && out.length < maxLength; i++) {
    const code = text.charCodeAt(i);
    if (!isControl(code)) {
      out.push(code);
      continue;
    }
    const digits = code <= 0xff ? 2 : 4;
    if (out.length + 2 + digits > maxLength) break;
    out.push(0x5c, digits === 2 ? 0x78 : 0x75);
    for (let shift = (digits - 1) * 4; shift >= 0; shift -= 4) out.push(HEX.charCodeAt((code >> shift) & 0xf));
  }
  const last = out.length > 0 ? out[out.length - 1] : 0;
  if (last >= 0xd800 && last <= 0xdbff) out.pop();
  let result = '';
  // String.fromCharCode takes arguments: in slices, well under any engine's argument limit.
  for (let at = 0; at < out.length; at += 4096) result += String.fromCharCode(...out.slice(at, at + 4096));
  return result;
}

/** True when `text` holds only printable ASCII. */
function isPrintableAsciiText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/**
 * `boundedText` for octets already held in a string, one character a byte (an HPACK string):
 * at most `maxBytes` of them, decoded as UTF-8 and escaped. Printable ASCII within the bound is
 * given back as it is, so a value the HPACK table holds is shared, not copied.
 */
export function boundedOctets(octets: string, maxBytes: number): string {
  if (octets.length <= maxBytes && isPrintableAsciiText(octets)) return octets;
  const cut = octets.length > maxBytes ? octets.slice(0, maxBytes) : octets;
  if (isPrintableAsciiText(cut)) return escapeControls(cut, maxBytes);
  return escapeControls(Buffer.from(cut, 'latin1').toString('utf8'), maxBytes);
}

/**
 * A copy of `text` that shares no storage with the string it was cut from: a string kept for
 * long must not pin a larger one (V8 slices share memory with their parent).
 */
export function ownCopy(text: string): string {
  return (' ' + text).slice(1);
}

/** V8 makes a cut of this many characters or more a slice that shares its parent's storage; a shorter one is a copy. */
const SLICE_MIN_LENGTH = 13;

/** `text`, copied when it may be a slice of a longer string (of unknown origin), so that keeping it keeps no more than itself. */
export function ownText(text: string): string {
  return text.length >= SLICE_MIN_LENGTH ? ownCopy(text) : text;
}

/** `cut`, a piece of `whole` (or `whole` itself): copied when it may share `whole`'s storage. */
export function ownCut(cut: string, whole: string): string {
  return cut.length < whole.length ? ownText(cut) : cut;
}
