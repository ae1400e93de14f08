/**
 * Watches the request rate like any other subscriber of the store: after each closed second
 * it feeds the state machine, keeps the alert history for the retention, and tells its own
 * listeners about alerts and recoveries with the message lines users see.
 */
import type { Config } from '../config';
import { describeLossShare, type Loss } from '../run/captureHealth';
import type { StatsStore } from '../stats/store';
import { dateTime, duration } from '../format';
import { baselineOf, initialState, limitOf, transition, type AlertConfig, type AlertEffect, type AlertState, type AlertStateName } from './machine';
export type { AlertEffect } from './machine';

/** One alert, over or still running. */
export interface AlertRecord {
  /** Epoch seconds. */
  start: number;
  end: number | null;
  peak: number;
  /** Requests in the window when it triggered, and the limit it went over. */
  hits: number;
  limit: number;
  /** Requests in the window when it recovered. */
  endHits: number | null;
  durationSeconds: number | null;
  /** Set when the capture lost packets or transactions in the window that raised the alert: what it lost. */
  incomplete: string | null;
  /** The same for the window of the recovery. */
  endIncomplete: string | null;
}

/** What the capture lost in the span of data time (`from`, `to`]. */
export type LossProvider = (from: number, to: number) => Loss;

/** Something to announce: the effect and its message line. */
export interface AlertNotice {
  effect: AlertEffect;
  message: string;
}

/** `2023-11-14 22:13:20 UTC` for epoch seconds (the format module's, named as alert lines use it). */
export const formatTime = dateTime;

/** `1h 02m 03s`, `2m 05s`, `7s`. */
export const formatDuration = duration;

/**
 * The line shown for an effect; `incomplete` (what the capture lost in the window) says that
 * the hits it counts may be short.
 */
export function messageOf(effect: AlertEffect, incomplete: string | null = null): string {
  const note = incomplete === null ? '' : ` [counts incomplete: the capture lost ${incomplete} in this window]`;
  switch (effect.type) {
    case 'alert':
      return `High traffic generated an alert - hits = ${effect.hits}, triggered at ${formatTime(effect.at)}${note}`;
    case 'recovered':
      return `Traffic recovered - hits = ${effect.hits}, recovered at ${formatTime(effect.at)}, after an alert of ${formatDuration(effect.durationSeconds)} (peak ${effect.peak} hits)${note}`;
    case 'learned':
      return `Learned the normal traffic: ${effect.baseline.toFixed(1)} hits per window, alerting above ${effect.limit.toFixed(1)} (at ${formatTime(effect.at)})`;
    case 'learning-restarted':
      return `No traffic while learning: learning again from ${formatTime(effect.at)}`;
  }
}

/** The alert and (when it ended) recovery notices of a recorded alert, newest last. */
export function noticesOf(record: AlertRecord): AlertNotice[] {
  const alert: AlertEffect = { type: 'alert', at: record.start, hits: record.hits, limit: record.limit };
  const notices: AlertNotice[] = [{ effect: alert, message: messageOf(alert, record.incomplete) }];
  if (record.end !== null) {
    const recovered: AlertEffect = {
      type: 'recovered', at: record.end, hits: record.endHits ?? 0, limit: record.limit, startedAt: record.start,
      durationSeconds: record.durationSeconds ?? record.end - record.start, peak: record.peak,
    };
    notices.push({ effect: recovered, message: messageOf(recovered, record.endIncomplete) });
  }
  return notices;
}

/**
 * The alert monitor. Its owner calls `evaluate` after each closed second of data time (after
 * the statistics closed it, before outputs are told), so every reader sees the state of the
 * second it is told about.
 */
export class AlertMonitor {
  readonly config: AlertConfig;
  private machine: AlertState;
  readonly history: AlertRecord[] = [];
  private readonly listeners = new Set<(notice: AlertNotice) => void>();
  /** The last second evaluated. */
  lastSecond = -Infinity;
  /** Requests in the window at the last evaluation. */
  lastHits = 0;

  constructor(private readonly store: StatsStore, config: Config, private readonly lossIn: LossProvider | null = null) {
    this.config = alertConfigOf(config);
    this.machine = initialState(this.config);
  }

  /** Calls `listener` on every alert, recovery and learning notice; returns the unsubscribe. */
  onNotice(listener: (notice: AlertNotice) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** Where the state machine is. */
  get state(): AlertState {
    return this.machine;
  }

  get stateName(): AlertStateName {
    return this.machine.name;
  }

  /** The learned baseline in requests per window (null while learning, or with a fixed threshold). */
  get baseline(): number | null {
    return baselineOf(this.machine);
  }

  /** The alert limit in requests per window (null while learning). */
  get limit(): number | null {
    return limitOf(this.machine, this.config);
  }

  /** Seconds of learning left (0 when not learning). */
  learningLeft(): number {
    if (this.machine.name !== 'LEARNING') return 0;
    if (this.lastSecond === -Infinity) return this.config.learningSeconds;
    const start = this.machine.learningStart ?? this.lastSecond;
    return Math.max(0, this.config.learningSeconds - (this.lastSecond - start + 1));
  }

  /** Second `second` of data time is closed: feed the machine, record and announce what happened. */
  evaluate(second: number): void {
    const requests = this.store.builtins.requests;
    const hits = requests.requestsInLast(this.config.windowSeconds, second);
    const secondHits = requests.requestsInLast(1, second);
    const { state, effects } = transition(this.machine, { second, hits, secondHits }, this.config);
    this.machine = state;
    this.lastSecond = second;
    this.lastHits = hits;
    for (const effect of effects) {
      const incomplete = this.lossNote(effect, second);
      this.record(effect, incomplete);
      const notice = { effect, message: messageOf(effect, incomplete) };
      for (const listener of this.listeners) listener(notice);
    }
    // The running alert's record follows its peak as it rises.
    const open = this.current();
    if (open !== null && state.name === 'ALERT' && state.peak > open.peak) open.peak = state.peak;
    this.prune(second);
  }

  /** What the capture lost in the window that ended with `second`, for alerts and recoveries; null if nothing. */
  private lossNote(effect: AlertEffect, second: number): string | null {
    if (this.lossIn === null || (effect.type !== 'alert' && effect.type !== 'recovered')) return null;
    const lost = describeLossShare(this.lossIn(second + 1 - this.config.windowSeconds, second + 1));
    return lost === '' ? null : lost;
  }

  private record(effect: AlertEffect, incomplete: string | null): void {
    if (effect.type === 'alert') {
      this.history.push({
        start: effect.at, end: null, peak: effect.hits, hits: effect.hits, limit: effect.limit, endHits: null, durationSeconds: null,
        incomplete, endIncomplete: null,
      });
    } else if (effect.type === 'recovered') {
      const current = this.history[this.history.length - 1];
      if (current !== undefined && current.end === null) {
        current.end = effect.at;
        current.endHits = effect.hits;
        current.peak = effect.peak;
        current.durationSeconds = effect.durationSeconds;
        current.endIncomplete = incomplete;
      }
    }
  }

  /** The running alert, or null. */
  current(): AlertRecord | null {
    const last = this.history[this.history.length - 1];
    return last === undefined || last.end !== null ? null : last;
  }

  /** Forgets alerts that ended before the retention. */
  private prune(second: number): void {
    const cutoff = second - this.storeRetention();
    while (this.history.length > 0 && this.history[0].end !== null && this.history[0].end < cutoff) this.history.shift();
  }

  private storeRetention(): number {
    return this.store.config.max_retention_length;
  }

  /** The history with its max and average alert duration (over ended alerts). */
  summary(): { alerts: AlertRecord[]; maxDurationSeconds: number | null; averageDurationSeconds: number | null } {
    const durations = this.history.map((a) => a.durationSeconds).filter((d): d is number => d !== null);
    return {
      alerts: this.history.map((a) => ({ ...a })),
      maxDurationSeconds: durations.length > 0 ? Math.max(...durations) : null,
      averageDurationSeconds: durations.length > 0 ? Math.round((durations.reduce((s, d) => s + d, 0) / durations.length) * 10) / 10 : null,
    };
  }
}

/** The machine's settings from the config. */
export function alertConfigOf(config: Config): AlertConfig {
  return {
    windowSeconds: config.average_bucket_size,
    thresholdPercent: config.average_threshold,
    learningSeconds: config.average_learning_duration,
    thresholdRps: config.threshold_rps,
    recoveredSeconds: config.dashboard_bucket_size,
  };
}
