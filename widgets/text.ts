/** Tables whose columns follow the width: low-priority columns give way to the flexible one. */
import { fit } from '../src/format';


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
