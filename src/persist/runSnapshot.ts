/**
 * What of a run is kept across a restart: the built-in statistics (every module's summaries,
 * histograms and rings, so a restart continues the same 24 hours), the alert monitor (the
 * learned baseline, the state, the history, each rule's seconds) and the store's clock. Not
 * kept: the capture health (it describes this run's capture), plug-ins (their state is theirs
 * to keep), filtered dashboard views (made again from the store).
 */
import type { AlertMonitor, MonitorState } from '../alerts/monitor';
import { RuleSeries } from '../alerts/rules';
import type { Config } from '../config';
import { LogHistogram } from '../stats/logHistogram';
import { RateSeries } from '../stats/rateSeries';
import { RequestsModule } from '../stats/requestsModule';
import { SlowestList, SlowestModule } from '../stats/slowest';
import { SpaceSaving } from '../stats/spaceSaving';
import type { StatsStore } from '../stats/store';
import { TlsModule } from '../stats/tls';
import { TopModule } from '../stats/topModule';
import { HyperLogLog, UniqueVisitorsModule } from '../stats/uniqueVisitors';
import { WindowedTopK } from '../stats/windowedTopK';
import { StateCodec, StateFormatError, type Encoded } from './stateCodec';

/**
 * Every class of the saved graph. Transient fields are settings, code and caches: the new run's
 * own stay (a changed setting that shapes the state makes the snapshot another run's: see
 * settingsOf).
 */
export const STATE_CODEC = new StateCodec([
  { name: 'TopModule', type: TopModule, transient: ['name', 'keyOf', 'columns', 'config'] },
  // The open second's map is found again through `pending`; the view cache is made again.
  { name: 'WindowedTopK', type: WindowedTopK, transient: ['layout', 'capacity', 'keepsLatency', 'keys', 'cache', 'openSecond', 'openCounts', 'lastKey', 'lastEntry'] },
  { name: 'SpaceSaving', type: SpaceSaving },
  { name: 'LogHistogram', type: LogHistogram },
  { name: 'RequestsModule', type: RequestsModule, transient: ['name', 'config'] },
  { name: 'RateSeries', type: RateSeries },
  { name: 'SlowestModule', type: SlowestModule, transient: ['name', 'config'] },
  { name: 'SlowestList', type: SlowestList },
  { name: 'UniqueVisitorsModule', type: UniqueVisitorsModule, transient: ['name', 'keep', 'clientHash', 'uaHash'] },
  { name: 'HyperLogLog', type: HyperLogLog },
  { name: 'TlsModule', type: TlsModule },
  { name: 'RuleSeries', type: RuleSeries, transient: ['rule'] },
]);

/**
 * The saved run is a sequence of parts, each encoded (and later serialised) on its own, so that
 * no more than one module's encoded copy exists at a time: the store's clock, each built-in
 * module by name, the TLS statistics, the alert monitor.
 */
export type SavedPart =
  | { part: 'clock'; lastClosed: number; latestEventTs: number; earliestEventTs: number; keysUsed: number }
  | { part: 'module'; name: string; state: Encoded }
  | { part: 'tls'; state: Encoded }
  | { part: 'alerts'; state: Encoded };

/**
 * The settings that shape what is kept: a snapshot made under others would mix two kinds of
 * numbers (another retention, window or rule), so it is not taken back. A readable line each,
 * so that the message can say which one changed. `filtered`: `where` filters what is counted.
 */
export function settingsOf(config: Config, filtered: boolean): Record<string, string> {
  return {
    max_retention_length: String(config.max_retention_length),
    dashboard_bucket_size: String(config.dashboard_bucket_size),
    average_bucket_size: String(config.average_bucket_size),
    average_threshold: String(config.average_threshold),
    average_learning_duration: String(config.average_learning_duration),
    threshold_rps: String(config.threshold_rps),
    max_str_length: String(config.max_str_length),
    alerts: JSON.stringify(config.alerts),
    // The dashboard takes --where as its `/` filter: its statistics are of everything.
    where: String(filtered ? config.where : null),
    // Transactions named by program or not: one kind of statistics, not both mixed.
    processes: String(config.processes),
  };
}

/** The store's and the monitor's state, part by part. Throws when a module holds something that cannot be saved (a bug). */
export function* saveRun(store: StatsStore, monitor: AlertMonitor): Generator<SavedPart> {
  const externals = new Map<object, string>([[store.config, 'config'], [store.keys, 'keys']]);
  yield { part: 'clock', lastClosed: store.lastClosed, latestEventTs: store.latestEventTs, earliestEventTs: store.earliestEventTs, keysUsed: store.keys.used };
  for (const module of store.modules) {
    if (!store.plugins.includes(module)) yield { part: 'module', name: module.name, state: STATE_CODEC.encode(module, externals) };
  }
  yield { part: 'tls', state: STATE_CODEC.encode(store.tls, externals) };
  yield { part: 'alerts', state: STATE_CODEC.encode(monitor.savedState(), externals) };
}

/**
 * Puts a saved run into a new run's store and monitor (built from the same settings, with no
 * data yet). Throws StateFormatError when it does not fit; the store may then be half filled, so
 * the caller starts over with a new one.
 */
export function restoreRun(parts: Iterable<unknown>, store: StatsStore, monitor: AlertMonitor): void {
  const externals = new Map<string, object>([['config', store.config], ['keys', store.keys]]);
  const seen = new Set<string>();
  for (const value of parts) {
    const part = value as SavedPart;
    if (part === null || typeof part !== 'object' || typeof part.part !== 'string') throw new StateFormatError('a part that is none');
    seen.add(part.part);
    switch (part.part) {
      case 'clock': {
        const { lastClosed, latestEventTs, earliestEventTs, keysUsed } = part;
        if (![lastClosed, latestEventTs, earliestEventTs, keysUsed].every((n) => typeof n === 'number')) throw new StateFormatError('a clock that is no number');
        store.lastClosed = lastClosed;
        store.latestEventTs = latestEventTs;
        store.earliestEventTs = earliestEventTs;
        store.keys.used = keysUsed;
        break;
      }
      case 'module': {
        const module = typeof part.name === 'string' ? store.module(part.name) : undefined;
        if (module === undefined || store.plugins.includes(module)) throw new StateFormatError(`a module this run has not: ${String(part.name)}`);
        if (STATE_CODEC.decode(part.state, module, externals) !== module) throw new StateFormatError(`module ${part.name} of another kind`);
        break;
      }
      case 'tls':
        if (STATE_CODEC.decode(part.state, store.tls, externals) !== store.tls) throw new StateFormatError('TLS statistics of another kind');
        break;
      case 'alerts': {
        const alerts = STATE_CODEC.decode(part.state, monitor.savedState(), externals) as MonitorState;
        if (alerts === null || typeof alerts !== 'object' || !Array.isArray(alerts.history) || !Array.isArray(alerts.rules)) throw new StateFormatError('no alert state in it');
        monitor.restoreState(alerts);
        break;
      }
      default:
        throw new StateFormatError(`an unknown part ${String((part as { part: unknown }).part)}`);
    }
  }
  if (!seen.has('clock') || !seen.has('alerts')) throw new StateFormatError('parts are missing');
}
