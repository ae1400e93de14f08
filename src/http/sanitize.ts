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

/** Decodes at most `maxBytes` of `buf[start, end)` into a sanitised string. */
export function boundedText(buf: Buffer, start: number, end: number, maxBytes: number): string {
  if (end - start > maxBytes) end = start + maxBytes;
  if (isPrintableAscii(buf, start, end)) return buf.latin1Slice(start, end);
  return escapeControls(buf.toString('utf8', start, end));
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
