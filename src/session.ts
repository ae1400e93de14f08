/** What the outputs share during a run: the settings, the statistics, the alerts, capture health. */
import type { AlertMonitor } from './alerts/monitor';
import type { Config } from './config';
import type { StatsStore } from './stats/store';
import type { CaptureStats } from './types';

/** One run of wiretop, as its outputs see it. */
export interface Session {
  config: Config;
  /** `demo`, a file name, or an interface. */
  source: string;
  store: StatsStore;
  monitor: AlertMonitor;
  /** The latest capture-health counters (null before the first). */
  captureStats: CaptureStats | null;
}
