/** What panels are drawn from: a read-only view of the run at one moment. */
import type { RunView, StatsView } from '../src/run/runState';
import type { RowTone } from '../src/stats/statModule';
import type { WindowName } from '../src/stats/windows';

/** A panel drilled into one of its rows: a section's URIs, or a domain's sections. */
export interface Drill {
  key: string;
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
}

/** Inner size of a panel (inside its border). */
export interface Size {
  width: number;
  height: number;
}
