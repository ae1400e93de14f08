/** The bytes HTTP/1 lines are made of, and finding their ends and words in place. */

export const SP = 0x20;
export const HT = 0x09;
export const CR = 0x0d;
export const LF = 0x0a;

/** Bytes a search looks at in JavaScript before it hands the rest to Buffer#indexOf. */
const SCANNED_IN_JS = 256;

/**
 * Index of the first `byte` in `buf[from, end)`, or -1. Its first bytes are looked at here, not
 * by Buffer#indexOf: that one crosses into C++ on every call (~180 ns, more than a loop takes
 * over a whole header line), and a head is searched line by line: finding the line ends of a
 * 150-byte request head took 330 ns so, 930 ns with Buffer#indexOf alone (a loop of them), and
 * in the capture thread the head searches went from ~7.6% to ~6.4% of its profile. Past them
 * memchr is the faster, so a long line without an end (hostile bytes, a body) costs as before.
 */
export function indexOfByte(buf: Buffer, byte: number, from: number, end: number): number {
  const stop = Math.min(end, from + SCANNED_IN_JS);
  for (let i = from; i < stop; i++) if (buf[i] === byte) return i;
  if (stop >= end) return -1;
  const i = buf.indexOf(byte, stop);
  return i < 0 || i >= end ? -1 : i;
}

/** Index of the end of the line starting at `from` (the LF) before `end`, or -1. */
export function lineEnd(buf: Buffer, from: number, end: number): number {
  return indexOfByte(buf, LF, from, end);
}

/** `end` with a trailing CR (and spaces) removed. */
export function trimLineEnd(buf: Buffer, start: number, end: number): number {
  while (end > start && (buf[end - 1] === CR || buf[end - 1] === SP || buf[end - 1] === HT)) end--;
  return end;
}

/** The first index from `from` that is not a space or a tab (or `end`). */
export function skipSpaces(buf: Buffer, from: number, end: number): number {
  while (from < end && (buf[from] === SP || buf[from] === HT)) from++;
  return from;
}
