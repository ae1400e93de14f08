/**
 * The plug-in interface every statistic implements, built-ins included. A module sees every
 * HttpEvent, keeps its own bounded state, closes each second of data time, forgets what is
 * older than the retention, and shows itself as rows for a panel and as JSON for reports.
 */
import type { Config } from '../config';
import type { HttpEvent } from '../types';
import type { WindowName } from './windows';

/** A column of a panel, and how it gives way on a narrow screen. */
export interface PanelColumn {
  header: string;
  /** Cells; 0 (the default for the first column) takes the rest of the width. */
  width?: number;
  alignRight?: boolean;
  /** Columns of lower priority are dropped first when the panel is narrow (default: right to left). */
  priority?: number;
  /**
   * The flexible column keeps at least this many cells before other columns are dropped; a
   * fixed column may shrink to this many to make that room (by default it keeps its width).
   */
  minWidth?: number;
}

/** How a row is coloured: failures red, warnings yellow, recoveries green. */
export type RowTone = 'alert' | 'recovery' | 'warning';

/**
 * A panel's content: a title, columns, and rows of cells (already text). This is how every
 * statistic becomes rows on a screen: the dashboard's panels, the `--text` blocks and the
 * `--report` tables of plug-ins are all drawn from it.
 */
export interface PanelRows {
  title: string;
  /** Column names, or columns with their layout. */
  columns: Array<string | PanelColumn>;
  rows: string[][];
  /** Some counts may be over-estimated (a heavy-hitter summary is full). */
  approximate?: boolean;
  /** The key of each row, for panels whose rows can be drilled into. */
  keys?: string[];
  /** The colour of each row. */
  tones?: Array<RowTone | null>;
}

/** What a module is given when it is created. */
export interface StatContext {
  config: Config;
}

/** A statistic; `Report` is the shape of its `--report json` section. */
export interface StatModule<Report = unknown> {
  /** Unique name (used in `--report json` and by panels). */
  readonly name: string;
  /** Takes one transaction; must be cheap and must not notify anyone. */
  ingest(event: HttpEvent): void;
  /** Second `second` of data time is over: close it and expire data older than the retention. */
  tick(second: number): void;
  /** Rows for a panel over `window`, as of second `now`, at most `limit` rows. */
  rows(window: WindowName, now: number, limit: number): PanelRows;
  /** A JSON-serialisable summary over everything kept, for `--report json`. */
  report(now: number, limit: number): Report;
}

/**
 * A module's rows, or the Error that says why there are none: its `rows()` threw, or returned
 * something that is not `{ title, columns, rows }`. Every output that shows a plug-in calls
 * `rows()` through this, so a faulty plug-in is shown as such instead of taking the output down.
 */
export function moduleRows(module: StatModule, window: WindowName, now: number, limit: number): PanelRows | Error {
  let rows: PanelRows;
  try {
    rows = module.rows(window, now, limit);
  } catch (error) {
    return new Error(`failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (rows === null || typeof rows !== 'object' || !Array.isArray(rows.rows) || !Array.isArray(rows.columns)) {
    return new Error('rows() must return { title, columns, rows }');
  }
  return rows;
}

/** The shape of a plug-in file: a function that makes the module. */
export type StatModuleFactory = (context: StatContext) => StatModule;
