/** What panels are drawn from: a read-only view of the session at one moment. */
import type { Session } from '../src/session';
import type { StatsStore } from '../src/stats/store';
import type { WindowName } from '../src/stats/windows';

/** A panel drilled into one of its rows: a section's URIs, or a domain's sections. */
export interface Drill {
  key: string;
}

/** The moment a frame is drawn for. */
export interface ViewContext {
  session: Session;
  /** The store panels read (the filtered one while a filter is on). */
  store: StatsStore;
  window: WindowName;
  /** The last closed second of data time. */
  now: number;
  /** Capture health rates over data time, from the last two stats updates. */
  packetsPerSecond: number | null;
  eventsPerSecond: number | null;
  /** Colours are allowed (NO_COLOR unset, a colour terminal). */
  color: boolean;
}

/** What a panel shows: a title, an optional fixed header line, and scrollable lines. */
export interface PanelContent {
  title: string;
  header?: string;
  lines: string[];
  /** The row key of each line, for panels whose rows can be drilled into. */
  keys?: string[];
  /** How each line is coloured (alert lines red, recoveries green). */
  tones?: Array<'alert' | 'recovery' | 'warning' | null>;
  /** A chart: drawn as is, never scrolled or selected. */
  fixed?: boolean;
}

/** Inner size of a panel (inside its border). */
export interface Size {
  width: number;
  height: number;
}
