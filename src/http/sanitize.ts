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

/** Slots of a TextCache (a power of two). */
const CACHE_SLOTS = 4096;
/** Values longer than this are not cached: hashing them costs more than it saves. */
const CACHE_MAX_LENGTH = 256;

/**
 * Header values that repeat from request to request (Host, User-Agent), kept so that the same
 * bytes give back the same string: no new string per request for them (less garbage), and one
 * hash for every later lookup of it. Direct-mapped: a value that collides replaces the slot.
 */
export class TextCache {
  private readonly slots: Array<string | undefined> = new Array<string | undefined>(CACHE_SLOTS);

  /** The text of `buf[start, end)` when it is printable ASCII, else null. */
  ascii(buf: Buffer, start: number, end: number): string | null {
    const length = end - start;
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) {
      const c = buf[i];
      if (c < 0x20 || c > 0x7e) return null;
      hash = Math.imul(hash ^ c, 0x01000193);
    }
    const slot = (hash ^ (hash >>> 16)) & (CACHE_SLOTS - 1);
    const cached = this.slots[slot];
    if (cached !== undefined && cached.length === length && sameText(cached, buf, start)) return cached;
    const text = buf.latin1Slice(start, end);
    this.slots[slot] = text;
    return text;
  }
}

/** Does `text` hold the bytes at `buf[start, start + text.length)`? */
function sameText(text: string, buf: Buffer, start: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== buf[start + i]) return false;
  return true;
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
  return ascii ?? cutToLength(escapeControls(buf.toString('utf8', start, end)), maxBytes);
}

/**
 * `text` cut to `length` UTF-16 units, never between the halves of a surrogate pair. (A cut
 * inside an escape leaves `\x1` and the like: printable, so still safe.)
 */
function cutToLength(text: string, length: number): string {
  if (text.length <= length) return text;
  const last = text.charCodeAt(length - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length);
}

// C0 controls, DEL, C1 controls, and the bidirectional overrides that can reorder a line.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Escapes control characters as `\xHH` / `\uHHHH`, so they show instead of acting. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
