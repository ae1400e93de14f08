/**
 * Tables whose columns follow the width: the flexible column gets its room first from columns
 * that can shrink, then low-priority columns are dropped.
 */
import { displayWidth, fit } from '../src/format';
import type { PanelColumn } from '../src/stats/statModule';

/** The flexible column keeps at least this many cells before others are dropped (by default). */
const MIN_FLEX = 12;
/** A column sized from its content is at most this wide. */
const MAX_FITTED = 18;

/** A column with its layout settled. */
interface LaidColumn {
  header: string;
  width: number;
  alignRight: boolean;
  priority: number;
  minWidth: number;
}

/** Looks like a number, a share, a size or a duration: aligned right. */
const NUMERIC = /^[~<>±+-]?[\d.,]+\s?[%a-zA-Z]{0,3}$|^-$/;

/**
 * Settles every column: the first is flexible unless it says otherwise; a plain name (a
 * plug-in's) is sized from its cells, right-aligned when they are all numbers, and columns
 * further right are dropped first.
 */
export function layColumns(columns: ReadonlyArray<string | PanelColumn>, rows: readonly string[][]): LaidColumn[] {
  return columns.map((column, index) => {
    const spec: PanelColumn = typeof column === 'string' ? { header: column } : column;
    const cells = rows.map((row) => row[index] ?? '');
    const flexible = spec.width === 0 || (spec.width === undefined && index === 0);
    const fitted = Math.min(MAX_FITTED, Math.max(displayWidth(spec.header), ...cells.map(displayWidth)));
    return {
      header: spec.header,
      width: flexible ? 0 : spec.width ?? fitted,
      alignRight: spec.alignRight ?? (typeof column === 'string' && !flexible && cells.length > 0 && cells.every((cell) => NUMERIC.test(cell))),
      priority: spec.priority ?? columns.length - index,
      // A fixed column shrinks to its minWidth (by default it does not shrink).
      minWidth: flexible ? spec.minWidth ?? MIN_FLEX : Math.min(spec.width ?? fitted, spec.minWidth ?? spec.width ?? fitted),
    };
  });
}

/**
 * Lays out a table in `width` cells: the flexible column is given its minWidth, first by
 * dropping low-priority columns until it could have it with every kept column at its
 * minimum, then by shrinking the kept columns (lowest priority first) only as far as needed.
 * Returns the header line and one line per row (cells joined by a space).
 */
export function table(columns: ReadonlyArray<string | PanelColumn>, rows: readonly string[][], width: number): { header: string; lines: string[]; numeric: number[] } {
  const laid = layColumns(columns, rows);
  const minFlex = laid.find((c) => c.width === 0)?.minWidth ?? MIN_FLEX;
  let kept = laid.map((c, i) => ({ ...c, index: i }));
  const fixedWidth = (size: (c: LaidColumn) => number) => kept.reduce((sum, c) => sum + (c.width === 0 ? 0 : size(c) + 1), 0);
  while (kept.length > 1 && width - fixedWidth((c) => c.minWidth) < minFlex) {
    const drop = kept.filter((c) => c.width !== 0).reduce((a, b) => (b.priority < a.priority ? b : a));
    kept = kept.filter((c) => c !== drop);
  }
  let missing = minFlex - (width - fixedWidth((c) => c.width));
  for (const column of [...kept].filter((c) => c.width !== 0).sort((a, b) => a.priority - b.priority)) {
    if (missing <= 0) break;
    const give = Math.min(column.width - column.minWidth, missing);
    column.width -= give;
    missing -= give;
  }
  const flex = Math.max(1, width - fixedWidth((c) => c.width));
  const line = (cells: string[]) => kept.map((c) => fit(cells[c.index] ?? '', c.width === 0 ? flex : c.width, c.alignRight)).join(' ');
  return { header: line(laid.map((c) => c.header)), lines: rows.map(line), numeric: kept.filter((c) => c.alignRight).map((c) => c.index) };
}

/** The number a cell shows (`1.2K`, `12.5%`, `36K`, `~7`, `4.0`), or null (`-`, text). */
export function cellNumber(cell: string): number | null {
  const match = /^[~<>]?(-?\d+(?:\.\d+)?)\s?([kKMGT]?)(?:i?B|%|ms|s)?$/.exec(cell.trim());
  if (match === null) return null;
  const scale = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 }[match[2]] ?? 1;
  return Number(match[1]) * scale;
}

/**
 * The order of `rows` sorted by column `column` (numbers; cells that are no number last),
 * ties kept in their order (the default order: by hits).
 */
export function sortedOrder(rows: readonly string[][], column: number, descending: boolean): number[] {
  const values = rows.map((row) => cellNumber(row[column] ?? ''));
  return rows.map((_, i) => i).sort((a, b) => {
    const x = values[a];
    const y = values[b];
    if (x === null || y === null) return x === y ? a - b : x === null ? 1 : -1;
    return x === y ? a - b : descending ? y - x : x - y;
  });
}
