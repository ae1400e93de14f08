/** The bytes HTTP/1 lines are made of, and finding their ends and words in place. */

export const SP = 0x20;
export const HT = 0x09;
export const CR = 0x0d;
export const LF = 0x0a;

/** Index of the end of the line starting at `from` (the LF) before `end`, or -1. */
export function lineEnd(buf: Buffer, from: number, end: number): number {
  const i = buf.indexOf(LF, from);
  return i < 0 || i >= end ? -1 : i;
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
