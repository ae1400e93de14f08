/**
 * How wiretop writes numbers, bytes, durations, shares, times and cut text, in one place: every
 * output (dashboard, --text, --report, stderr lines) uses these, so the same quantity reads the
 * same everywhere. Widths are terminal cells: a CJK character or an emoji takes two, a
 * combining mark none, so cut and padded text lines up on screen.
 */

/** `12.3%` of `part` in `whole`; `-` when there is no whole. */
export function share(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`;
}

/**
 * A small share (0..1) as a loss is told: whole percents from 10%, one decimal below, `<0.1%`
 * for a trace (so a loss is never shown as 0%).
 */
export function lossPercent(fraction: number): string {
  const value = 100 * fraction;
  // From 9.95 it rounds to whole percents: one decimal would print `10.0%`.
  return value >= 9.95 || value === 0 ? `${Math.round(value)}%` : value >= 0.1 ? `${value.toFixed(1)}%` : '<0.1%';
}

/** Milliseconds as panels show them: one decimal under 10, whole above; `-` when unknown. */
export function milliseconds(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : value < 10 ? value.toFixed(1) : String(Math.round(value));
}

/**
 * An integer with its thousands grouped by commas, `1,234,567`: what toLocaleString('en-US')
 * gives, without reading ICU's locale data (~5 MB of Node's binary, paged in on first use).
 */
export function grouped(value: number): string {
  const digits = String(Math.abs(Math.round(value)));
  let out = digits.slice(0, digits.length % 3 || 3);
  for (let i = out.length; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return value <= -0.5 ? `-${out}` : out;
}

/** A count for a narrow column: `9999`, `12.3K`, `456K`, `7.8M`. */
export function compactNumber(value: number): string {
  if (value < 10_000) return String(Math.round(value));
  if (value < 1_000_000) return `${(value / 1000).toFixed(value < 100_000 ? 1 : 0)}K`;
  return `${(value / 1_000_000).toFixed(value < 100_000_000 ? 1 : 0)}M`;
}

/** A rate (per second) in at most five cells: `0.4`, `37`, `1.2k`. */
export function compactRate(value: number | null): string {
  if (value === null) return '-';
  return value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value >= 10 ? value.toFixed(0) : value.toFixed(1);
}

/** A count, or `-` when not known yet. */
export function countOrDash(value: number | undefined | null): string {
  return value === undefined || value === null ? '-' : String(value);
}

const BYTE_UNITS = ['B', 'K', 'M', 'G', 'T'];

/**
 * Bytes in binary units. `compact` (panels): at most five cells, `512B`, `1.2K`, `34M`; else
 * (reports): `512 B`, `1.2 KB`, `3.4 MB`.
 */
export function bytes(count: number, style: 'compact' | 'long' = 'long'): string {
  // The compact form moves up a unit from 1000 so that it never needs five digits.
  const step = style === 'compact' ? 1000 : 1024;
  let value = count;
  let unit = 0;
  while (value >= step && unit < BYTE_UNITS.length - 1) { value /= 1024; unit++; }
  if (style === 'compact') return unit === 0 ? `${Math.round(value)}B` : `${value < 10 ? value.toFixed(1) : Math.round(value)}${BYTE_UNITS[unit]}`;
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${BYTE_UNITS[unit]}B`;
}

/** `2023-11-14 22:13:20 UTC` for epoch seconds. */
export function dateTime(epochSeconds: number): string {
  return new Date(Math.round(epochSeconds) * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** `22:13:20` (UTC) for epoch seconds: a time of day on a screen that already shows the date. */
export function clockTime(epochSeconds: number): string {
  return dateTime(epochSeconds).slice(11, 19);
}

/** ISO 8601 with milliseconds, or `-`. */
export function isoTime(epochSeconds: number | null): string {
  return epochSeconds === null ? '-' : new Date(epochSeconds * 1000).toISOString();
}

/** `1h 02m 03s`, `2m 05s`, `7s`. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m ${String(rest).padStart(2, '0')}s`;
  if (m > 0) return `${m}m ${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}

/** A span for a chart title: `90s`, `5m`, `1h`, `1.5h`. */
export function shortSpan(seconds: number): string {
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(seconds % 3600 === 0 ? 0 : 1)}h`;
  return seconds >= 120 ? `${Math.round(seconds / 60)}m` : `${seconds}s`;
}

/** Code-point ranges drawn two cells wide (East Asian Wide/Fullwidth, emoji). */
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f], [0x231a, 0x231b], [0x2329, 0x232a], [0x23e9, 0x23ec], [0x23f0, 0x23f0], [0x23f3, 0x23f3],
  [0x25fd, 0x25fe], [0x2614, 0x2615], [0x2648, 0x2653], [0x267f, 0x267f], [0x2693, 0x2693], [0x26a1, 0x26a1],
  [0x26aa, 0x26ab], [0x26bd, 0x26be], [0x26c4, 0x26c5], [0x26ce, 0x26ce], [0x26d4, 0x26d4], [0x26ea, 0x26ea],
  [0x26f2, 0x26f3], [0x26f5, 0x26f5], [0x26fa, 0x26fa], [0x26fd, 0x26fd], [0x2705, 0x2705], [0x270a, 0x270b],
  [0x2728, 0x2728], [0x274c, 0x274c], [0x274e, 0x274e], [0x2753, 0x2755], [0x2757, 0x2757], [0x2795, 0x2797],
  [0x27b0, 0x27b0], [0x27bf, 0x27bf], [0x2b1b, 0x2b1c], [0x2b50, 0x2b50], [0x2b55, 0x2b55], [0x2e80, 0x303e],
  [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xa000, 0xa4cf], [0xa960, 0xa97f], [0xac00, 0xd7a3],
  [0xf900, 0xfaff], [0xfe10, 0xfe19], [0xfe30, 0xfe6f], [0xff00, 0xff60], [0xffe0, 0xffe6], [0x1f004, 0x1f004],
  [0x1f0cf, 0x1f0cf], [0x1f18e, 0x1f18e], [0x1f191, 0x1f19a], [0x1f200, 0x1f251], [0x1f300, 0x1f64f],
  [0x1f680, 0x1f6ff], [0x1f7e0, 0x1f7eb], [0x1f90c, 0x1f9ff], [0x1fa70, 0x1faff], [0x20000, 0x3fffd],
];

/** Code points drawn in no cell of their own (combining marks, joiners, variation selectors). */
function isZeroWidth(code: number): boolean {
  return (code >= 0x0300 && code <= 0x036f) || (code >= 0x1ab0 && code <= 0x1aff) || (code >= 0x1dc0 && code <= 0x1dff)
    || (code >= 0x20d0 && code <= 0x20ff) || (code >= 0xfe20 && code <= 0xfe2f) || (code >= 0xfe00 && code <= 0xfe0f)
    || code === 0x200b || code === 0x200c || code === 0x200d || code === 0x2060 || code === 0xfeff;
}

/** Cells one code point takes. */
export function codePointWidth(code: number): 0 | 1 | 2 {
  if (code < 0x300) return 1;
  if (isZeroWidth(code)) return 0;
  if (code < 0x1100) return 1;
  let low = 0;
  let high = WIDE.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const [from, to] = WIDE[middle];
    if (code < from) high = middle - 1;
    else if (code > to) low = middle + 1;
    else return 2;
  }
  return 1;
}

/** Cells `text` takes on a terminal. */
export function displayWidth(text: string): number {
  let width = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // ASCII, the common case, without building code points.
    if (code < 0x300) { width++; continue; }
    const point = text.codePointAt(i)!;
    if (point > 0xffff) i++;
    width += codePointWidth(point);
  }
  return width;
}

/** The longest start of `text` that fits in `width` cells (never half a wide character). */
function prefixWithin(text: string, width: number): string {
  let used = 0;
  let end = 0;
  for (const char of text) {
    const cells = codePointWidth(char.codePointAt(0)!);
    if (used + cells > width) break;
    used += cells;
    end += char.length;
  }
  return text.slice(0, end);
}

/** `text` cut to at most `width` cells, ending in `…` when cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (displayWidth(text) <= width) return text;
  return `${prefixWithin(text, width - 1)}…`;
}

/** `text` padded with spaces to `width` cells (on the left when `alignRight`). */
export function pad(text: string, width: number, alignRight = false): string {
  const room = width - displayWidth(text);
  if (room <= 0) return text;
  return alignRight ? ' '.repeat(room) + text : text + ' '.repeat(room);
}

/** `text` cut or padded to exactly `width` cells. */
export function fit(text: string, width: number, alignRight = false): string {
  return pad(truncate(text, width), width, alignRight);
}

/** `text` broken at spaces into lines of at most `width` cells (continuations indented). */
export function wrap(text: string, width: number): string[] {
  if (width < 8 || displayWidth(text) <= width) return [text];
  const lines: string[] = [];
  let rest = text;
  let indent = '';
  while (displayWidth(rest) > width - indent.length) {
    const fitting = prefixWithin(rest, width - indent.length);
    // Break at the last space that keeps the line within the width (or mid-word if none).
    let cut = rest[fitting.length] === ' ' ? fitting.length : fitting.lastIndexOf(' ');
    if (cut <= 0) cut = Math.max(1, fitting.length);
    lines.push(indent + rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
    indent = '  ';
  }
  if (rest !== '') lines.push(indent + rest);
  return lines;
}
