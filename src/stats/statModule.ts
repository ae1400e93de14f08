/**
 * The plug-in interface every statistic implements, built-ins included. A module sees every
 * HttpEvent, keeps its own bounded state, closes each second of data time, forgets what is
 * older than the retention, and shows itself as rows for a panel and as JSON for reports.
 */
import type { Config } from '../config';
import type { HttpEvent } from '../types';
import type { WindowName } from './windows';

/** A panel's content: a title, column names, and rows of cells (already text). */
export interface PanelRows {
  title: string;
  columns: string[];
  rows: string[][];
  /** Some counts may be over-estimated (a heavy-hitter summary is full). */
  approximate?: boolean;
}

/** What a module is given when it is created. */
export interface StatContext {
  config: Config;
}

/** A statistic. */
export interface StatModule {
  /** Unique name (used in `--report json` and by panels). */
  readonly name: string;
  /** Takes one transaction; must be cheap and must not notify anyone. */
  ingest(event: HttpEvent): void;
  /** Second `second` of data time is over: close it and expire data older than the retention. */
  tick(second: number): void;
  /** Rows for a panel over `window`, as of second `now`, at most `limit` rows. */
  rows(window: WindowName, now: number, limit: number): PanelRows;
  /** A JSON-serialisable summary over everything kept, for `--report json`. */
  report(now: number, limit: number): unknown;
}

/** The shape of a plug-in file: a function that makes the module. */
export type StatModuleFactory = (context: StatContext) => StatModule;
