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
