/** Fitting text into cells: truncation, padding, and tables whose columns follow the width. */

/** `text` cut to `width` cells (with … when cut). */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
}

/** `text` cut or padded to exactly `width` cells. */
export function fit(text: string, width: number, alignRight = false): string {
  const cut = truncate(text, width);
  return alignRight ? cut.padStart(width) : cut.padEnd(width);
}

/** A table column: its header, width (0: takes the rest), alignment and priority. */
export interface Column {
  header: string;
  width: number;
  alignRight?: boolean;
  /** Columns of lower priority are dropped first when the table is too narrow. */
  priority: number;
}

/** The flexible (first) column keeps at least this many cells before others are dropped (by default). */
const MIN_FLEX = 12;

/**
 * Lays out a table in `width` cells: drops low-priority columns until the flexible one has
 * room, then returns the header line and one line per row (cells joined by a space).
 */
export function table(columns: Column[], rows: string[][], width: number, minFlex = MIN_FLEX): { header: string; lines: string[] } {
  let kept = columns.map((c, i) => ({ ...c, index: i }));
  const fixedWidth = () => kept.reduce((sum, c) => sum + (c.width === 0 ? 0 : c.width + 1), 0);
  while (kept.length > 1 && width - fixedWidth() < minFlex) {
    const drop = kept.filter((c) => c.width !== 0).reduce((a, b) => (b.priority < a.priority ? b : a));
    kept = kept.filter((c) => c !== drop);
  }
  const flex = Math.max(1, width - fixedWidth());
  const line = (cells: string[]) => kept.map((c) => fit(cells[c.index] ?? '', c.width === 0 ? flex : c.width, c.alignRight)).join(' ');
  return { header: line(columns.map((c) => c.header)), lines: rows.map(line) };
}

/** `1.2K`-style compact numbers for narrow columns. */
export function compactNumber(value: number): string {
  if (value < 10_000) return String(Math.round(value));
  if (value < 1_000_000) return `${(value / 1000).toFixed(value < 100_000 ? 1 : 0)}K`;
  return `${(value / 1_000_000).toFixed(value < 100_000_000 ? 1 : 0)}M`;
}
