/**
 * The state of one run: the statistics, the alert monitor and the capture health, fed by the
 * main loop and read by the outputs. Outputs get a `RunView`: they read and subscribe, they
 * cannot feed it.
 *
 * Every closed second of data time is handled in a fixed order: the modules close it, the
 * alert monitor evaluates it, and only then are the output's listeners told. So a listener
 * always sees the alert state of the second it is told about, whatever order it subscribed in.
 */
import { AlertMonitor, type AlertNotice } from '../alerts/monitor';
import type { Notifier } from '../alerts/notify';
import type { Config } from '../config';
import type { StatModule } from '../stats/statModule';
import { StatsStore } from '../stats/store';
import { NOW_SECONDS } from '../stats/windows';
import type { CaptureStats, HttpEvent, TlsConnection } from '../types';
import { CaptureHealth } from './captureHealth';
import type { WorkerLoad } from '../capture/shardMerger';
import { SecondCounter } from './secondCounter';
import type { AttributionStats } from './processes';

/** Seconds of data time over which "the capture is losing" is judged for the live views. */
export const LOSS_RECENT_SECONDS = 10;

/** The statistics as outputs read them. */
export type StatsView = Pick<StatsStore, 'builtins' | 'tls' | 'modules' | 'plugins' | 'module' | 'config' | 'failures' | 'failureOf' | 'keys'> & {
  readonly lastClosed: number;
  readonly latestEventTs: number;
  readonly earliestEventTs: number;
};

/** The alert monitor as outputs read it. */
export type AlertView = Pick<AlertMonitor, 'config' | 'state' | 'stateName' | 'baseline' | 'limit' | 'lastHits' | 'learningLeft' | 'current' | 'summary' | 'history' | 'ruleStatuses'>;

/** Capture health as outputs read it. */
export type HealthView = Pick<CaptureHealth, 'latest' | 'now' | 'started' | 'packetsPerSecond' | 'eventsPerSecond' | 'total' | 'between' | 'recent' | 'workers' | 'workerSkew'>;

/** A run as its outputs see it. */
export interface RunView {
  readonly config: Readonly<Config>;
  /** Where the traffic comes from: an interface, a file, `stdin`, `demo`. */
  readonly source: string;
  readonly stats: StatsView;
  readonly alerts: AlertView;
  readonly health: HealthView;
  /** Packets captured, read per second of data time (for rates over the same seconds as the requests'). */
  readonly packets: Pick<SecondCounter, 'growth'>;
  /** The input is over (end of file, or the capture stopped). */
  readonly ended: boolean;
  /** What notifications did (null when none are set up). */
  readonly notifications: Pick<Notifier, 'stats' | 'failures' | 'onFailure'> | null;
  /** The servers whose streams are merged (`-r a -r b` of --ndjson), or null for one capture. */
  readonly nodes: readonly string[] | null;
  /** `--processes` on a live capture: how naming the programs goes; null otherwise. */
  readonly processes: { readonly stats: AttributionStats } | null;
  /** What is wrong with a merged source, by node: `ended`, `failed: …`, `clock off by …`. */
  readonly nodeNotes: ReadonlyMap<string, string>;
  /** What each merged node's capture dropped (packets and transactions), from its health lines. */
  readonly nodeDrops: ReadonlyMap<string, number>;
  /** Calls `listener` after each closed second of data time, once the alert monitor has evaluated it. */
  onSecond(listener: (second: number) => void): () => void;
  /** Calls `listener` on every alert, recovery and learning notice. */
  onNotice(listener: (notice: AlertNotice) => void): () => void;
}

/** The run's state, fed by the main loop. */
export class RunState implements RunView {
  readonly stats: StatsStore;
  readonly alerts: AlertMonitor;
  readonly health: CaptureHealth;
  readonly packets = new SecondCounter(NOW_SECONDS + 2);
  private readonly listeners = new Set<(second: number) => void>();
  private isEnded = false;
  /** What sends alerts out (--on-alert, --webhook, --log), once the run has one. */
  notifications: Notifier | null = null;
  /** What names the programs of the connections (--processes, live), once the run has it. */
  processes: { readonly stats: AttributionStats } | null = null;

  constructor(readonly config: Config, private sourceName: string, plugins: StatModule[] = []) {
    this.stats = new StatsStore(config, plugins);
    // The monitor asks for losses only once seconds close, after the health below exists.
    this.alerts = new AlertMonitor(this.stats, config, (from, to) => this.health.between(from, to));
    // Losses are kept as long as the longest alert window looks back.
    this.health = new CaptureHealth(Math.max(this.alerts.longestWindowSeconds, LOSS_RECENT_SECONDS) + 2);
    this.stats.subscribe((second) => {
      this.alerts.evaluate(second);
      for (const listener of this.listeners) listener(second);
    });
  }

  nodes: readonly string[] | null = null;
  readonly nodeNotes = new Map<string, string>();
  readonly nodeDrops = new Map<string, number>();

  /** The run merges the streams of these servers. */
  setNodes(nodes: readonly string[]): void {
    this.nodes = nodes;
  }

  /** Notifications go through `notifier` (its counts and failures are shown with the capture health). */
  setNotifier(notifier: Notifier): void {
    this.notifications = notifier.active ? notifier : null;
  }

  get source(): string {
    return this.sourceName;
  }

  /** The capture names its source once open: the interface a live capture without -i chose. */
  setSource(name: string): void {
    this.sourceName = name;
  }

  get ended(): boolean {
    return this.isEnded;
  }

  /** Takes a batch of transactions. */
  ingest(events: readonly HttpEvent[]): void {
    this.stats.ingest(events);
    this.alerts.ingest(events);
  }

  /** Takes TLS connections (counted apart from the requests: the alerts do not see them). */
  ingestTls(connections: readonly TlsConnection[]): void {
    this.stats.ingestTls(connections);
  }

  /** Data time moves on to `time`: every second before it is closed (see StatsStore.advanceTo). */
  advanceTo(time: number): void {
    this.stats.advanceTo(time);
  }

  /** New capture-health counters at data time `now`. */
  updateCapture(stats: CaptureStats, now: number, workers?: readonly WorkerLoad[]): void {
    stats.keysShortened = this.stats.keys.shortened;
    this.health.update(stats, now, workers);
    this.packets.record(stats.packets, now);
  }

  /** The input is over: its last second is closed too. */
  end(): void {
    const last = Math.max(this.health.now, this.stats.latestEventTs);
    if (last > -Infinity) this.advanceTo(Math.floor(last) + 1);
    // Keys shortened since the capture's last counters (the last seconds closed just now).
    if (this.health.latest !== null) this.health.latest.keysShortened = this.stats.keys.shortened;
    this.isEnded = true;
  }

  onSecond(listener: (second: number) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  onNotice(listener: (notice: AlertNotice) => void): () => void {
    return this.alerts.onNotice(listener);
  }
}
