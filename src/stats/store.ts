/**
 * The single source of truth of the statistics. `ingest` adds transactions silently; data
 * time moves on through `advanceTo`, which closes each elapsed second in every module and then
 * tells subscribers, once per second. Readers query the modules' views; nothing is computed
 * per event for display.
 */
import type { Config } from '../config';
import type { HttpEvent, TlsConnection } from '../types';
import { endTime, TlsModule } from './tls';
import { budgetShare } from '../memoryBudget';
import { createBuiltinModules, type BuiltinModules } from './builtins';
import { KeyBudget } from './keyBudget';
import type { StatModule } from './statModule';
import { EventFacts, TopModule } from './topModule';

/** Told after each closed second of data time. */
export type TickListener = (second: number) => void;

/** A plug-in that threw: it is disabled, and this says where and why. */
export interface PluginFailure {
  name: string;
  /** `ingest`, `tick`, `rows` or `report`. */
  method: string;
  message: string;
}

/** All statistics of a run. */
export class StatsStore {
  readonly builtins: BuiltinModules;
  /** TLS connections (apart from the modules, which see HTTP transactions). */
  readonly tls: TlsModule;
  /** Built-ins first, then plug-ins, in load order. */
  readonly modules: StatModule[];
  private readonly listeners = new Set<TickListener>();
  private readonly builtinList: StatModule[];
  /** The built-in top-N breakdowns in use, which share one EventFacts per transaction, and the other built-ins. */
  private readonly breakdowns: TopModule[];
  private readonly otherBuiltins: StatModule[];
  private readonly facts = new EventFacts();
  /** The plug-ins loaded, in load order. */
  readonly plugins: readonly StatModule[];
  /** Plug-ins still enabled (one that throws is dropped from here). */
  private enabledPlugins: StatModule[];
  /** Plug-ins disabled after they threw, in order. */
  readonly failures: PluginFailure[] = [];
  private readonly failureListeners = new Set<(failure: PluginFailure) => void>();
  /** The last closed second of data time (-Infinity before the first). */
  lastClosed = -Infinity;
  /** The latest and earliest event times seen. */
  latestEventTs = -Infinity;
  earliestEventTs = Infinity;

  /** What the statistics' keys may hold beyond their first characters (memory_budget_mb's share). */
  readonly keys: KeyBudget;

  /** `keys`: a key budget shared with another store (a filtered view's), else one of its own. */
  constructor(readonly config: Config, plugins: StatModule[] = [], keys?: KeyBudget) {
    this.keys = keys ?? new KeyBudget(budgetShare(config.memory_budget_mb, 'statistics'));
    this.builtins = createBuiltinModules(config, this.keys);
    this.tls = new TlsModule(config, this.keys);
    this.builtinList = Object.values(this.builtins);
    this.breakdowns = this.builtinList.filter((m): m is TopModule => m instanceof TopModule && m.inUse);
    this.otherBuiltins = this.builtinList.filter((m) => !(m instanceof TopModule));
    this.plugins = plugins;
    this.enabledPlugins = [...plugins];
    this.modules = [...this.builtinList, ...plugins];
  }

  /** Calls `listener` when a plug-in throws and is disabled; returns the unsubscribe. */
  onPluginFailure(listener: (failure: PluginFailure) => void): () => void {
    this.failureListeners.add(listener);
    return () => { this.failureListeners.delete(listener); };
  }

  /** The failure that disabled a plug-in, or undefined while it runs. */
  failureOf(name: string): PluginFailure | undefined {
    return this.failures.find((f) => f.name === name);
  }

  /**
   * Calls `call` on a plug-in; if it throws, the plug-in is disabled (its state is no longer
   * trusted) and the failure told, instead of taking the run down. Returns undefined then.
   */
  guard<T>(module: StatModule, method: string, call: () => T): T | undefined {
    if (this.failureOf(module.name) !== undefined) return undefined;
    try {
      return call();
    } catch (error) {
      const failure = { name: module.name, method, message: error instanceof Error ? error.message : String(error) };
      this.failures.push(failure);
      this.enabledPlugins = this.enabledPlugins.filter((p) => p !== module);
      for (const listener of this.failureListeners) listener(failure);
      return undefined;
    }
  }

  /** Adds a batch of transactions. Notifies nobody. */
  ingest(events: readonly HttpEvent[]): void {
    const breakdowns = this.breakdowns;
    const others = this.otherBuiltins;
    const facts = this.facts;
    for (const event of events) {
      if (event.ts > this.latestEventTs) this.latestEventTs = event.ts;
      if (event.ts < this.earliestEventTs) this.earliestEventTs = event.ts;
      facts.of(event);
      for (let m = 0; m < breakdowns.length; m++) breakdowns[m].count(event, facts);
      for (let m = 0; m < others.length; m++) others[m].ingest(event);
    }
    for (const plugin of this.enabledPlugins) {
      this.guard(plugin, 'ingest', () => { for (const event of events) plugin.ingest(event); });
    }
  }

  /**
   * Gives back what its keys are charged to a budget it shares (a filtered view's store, replaced
   * or dropped: its charges would otherwise stay spent for the rest of the run). Not used after.
   */
  release(): void {
    // Only the breakdowns in use count, and so charge.
    for (const breakdown of this.breakdowns) breakdown.counter.release();
    this.tls.release();
  }

  /** Adds TLS connections. Notifies nobody. */
  ingestTls(connections: readonly TlsConnection[]): void {
    for (const connection of connections) {
      const ended = endTime(connection);
      if (ended > this.latestEventTs) this.latestEventTs = ended;
      if (ended < this.earliestEventTs) this.earliestEventTs = ended;
      this.tls.ingest(connection);
    }
  }

  /**
   * Data time is now `time` (epoch seconds): closes every second that has fully elapsed and
   * notifies subscribers after each. A jump longer than the retention skips the seconds that
   * would be purged anyway.
   */
  advanceTo(time: number): void {
    const last = Math.floor(time) - 1;
    if (last <= this.lastClosed) return;
    // The first second of data time is the first event's (or, with no events yet, this one).
    // While that second is still open nothing closes: an empty second before the data would
    // count as traffic seen (learning would take it in, and learn a lower baseline).
    let second = this.lastClosed !== -Infinity ? this.lastClosed + 1
      : this.earliestEventTs !== Infinity ? Math.floor(this.earliestEventTs) : last;
    if (second > last) return;
    const retention = Math.ceil(this.config.max_retention_length);
    if (last - second > retention) second = last - retention;
    for (; second <= last; second++) {
      for (const module of this.builtinList) module.tick(second);
      this.tls.tick(second);
      for (const plugin of this.enabledPlugins) this.guard(plugin, 'tick', () => plugin.tick(second));
      this.lastClosed = second;
      for (const listener of this.listeners) listener(second);
    }
  }

  /** Calls `listener` after each closed second; returns the unsubscribe function. */
  subscribe(listener: TickListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** A module by name (built-in or plug-in). */
  module(name: string): StatModule | undefined {
    return this.modules.find((m) => m.name === name);
  }
}
