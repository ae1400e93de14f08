/** What panels are drawn from: a read-only view of the run at one moment. */
import type { RunView, StatsView } from '../src/run/runState';
import type { RowTone } from '../src/stats/statModule';
import type { WindowName } from '../src/stats/windows';

/** A panel drilled into one of its rows: a section's endpoints, or a domain's sections. */
export interface Drill {
  key: string;
}

/** A table panel sorted by one of its numeric columns (`s`, `S`). */
export interface Sort {
  /** The column's index among the panel's columns. */
  column: number;
  descending: boolean;
}

/** One panel's own view state. */
export interface PanelView {
  drill: Drill | null;
  sort: Sort | null;
}

/** The moment a frame is drawn for. */
export interface ViewContext {
  run: RunView;
  /** The statistics panels read: the filtered ones while a filter is on. */
  stats: StatsView;
  /** The dashboard's filter text, or null. */
  filter: string | null;
  window: WindowName;
  /** The last closed second of data time. */
  now: number;
  /** Colours are allowed (NO_COLOR unset, a colour terminal). */
  color: boolean;
}

/** What a panel shows: a title, an optional fixed header line, and scrollable lines. */
export interface PanelContent {
  title: string;
  header?: string;
  lines: string[];
  /** The row key of each line, for panels whose rows can be selected and drilled into. */
  keys?: string[];
  /** How each line is coloured (alert lines red, recoveries green). */
  tones?: Array<RowTone | null>;
  /** A chart: drawn as is, never scrolled or selected. */
  fixed?: boolean;
  /** The numeric columns shown, by index: what `s` can sort by. */
  sortable?: number[];
}

/** Inner size of a panel (inside its border). */
export interface Size {
  width: number;
  height: number;
}
