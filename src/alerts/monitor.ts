/**
 * Watches the request rate like any other subscriber of the store: after each closed second
 * it feeds the state machine, keeps the alert history for the retention, and tells its own
 * listeners about alerts and recoveries with the message lines users see. The configured
 * rules (error rate, latency: src/alerts/rules.ts) run beside it on the same seconds, into the
 * same history and the same notices.
 */
import type { Config } from '../config';
import { alertRulesOf } from './ruleConfig';
import type { HttpEvent } from '../types';
import { inScope, initialRuleState, ruleLimit, ruleTransition, RuleSeries, type AlertRule, type RuleEffect, type RuleState } from './rules';
import { describeLossShare, type Loss } from '../stats/loss';
import type { StatsStore } from '../stats/store';
import { dateTime, duration, grouped } from '../format';
import { baselineOf, initialState, limitOf, transition, type AlertConfig, type AlertEffect, type AlertState, type AlertStateName } from './machine';
export type { AlertEffect } from './machine';

/** The name of the request-rate rule in records and notices. */
export const RATE_RULE = 'High traffic';

/** One alert, over or still running. */
export interface AlertRecord {
  /** The rule that raised it: `High traffic` (the request rate), or a configured rule's name. */
  rule: string;
  /** What `peak`, `hits` and `limit` count: hits in the window, a percent of failed requests, or ms. */
  unit: 'hits' | '%' | 'ms';
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
  /** A configured rule's lines, as they were announced (the rate rule's are made from the fields). */
  messages?: { alert: string; recovery: string | null };
}

/** What the capture lost in the span of data time (`from`, `to`]. */
export type LossProvider = (from: number, to: number) => Loss;

/** Something to announce: the effect and its message line. */
export interface AlertNotice {
  effect: AlertEffect;
  message: string;
  /** The rule it comes from (RATE_RULE for the request rate). */
  rule: string;
  /** What its numbers count: hits in the window (the rate rule), a percent of failed requests, or ms. */
  unit: 'hits' | '%' | 'ms';
  /** For a configured rule: its effect, with the value in its unit. */
  ruleEffect?: RuleEffect;
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
  const notices: AlertNotice[] = [{ effect: alert, message: record.messages?.alert ?? messageOf(alert, record.incomplete), rule: record.rule, unit: record.unit }];
  if (record.end !== null) {
    const recovered: AlertEffect = {
      type: 'recovered', at: record.end, hits: record.endHits ?? 0, limit: record.limit, startedAt: record.start,
      durationSeconds: record.durationSeconds ?? record.end - record.start, peak: record.peak,
    };
    notices.push({ effect: recovered, message: record.messages?.recovery ?? messageOf(recovered, record.endIncomplete), rule: record.rule, unit: record.unit });
  }
  return notices;
}

/** A configured rule's value as its lines write it: `7.9%`, `812 ms`. */
function ruleValue(rule: AlertRule, value: number): string {
  return rule.kind === 'error_rate' ? `${value.toFixed(1)}%` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

/** What the rule watches, in its lines. */
function ruleSubject(rule: AlertRule): string {
  const q = `p${Math.round(rule.quantile * 100)}`;
  const scope = [...Object.entries(rule.scope).map(([key, value]) => `${key} ${value}`), ...(rule.where !== null ? [rule.where.text] : [])].join(', ');
  return `${rule.kind === 'error_rate' ? 'error rate' : `${q} latency`}${scope === '' ? '' : ` of ${scope}`}`;
}

/** The line of a configured rule's effect. */
export function ruleMessageOf(rule: AlertRule, effect: RuleEffect, incomplete: string | null = null): string {
  const note = incomplete === null ? '' : ` [counts incomplete: the capture lost ${incomplete} in this window]`;
  const requests = (n: number) => `${grouped(n)} request${n === 1 ? '' : 's'}`;
  const measure = (value: number | null, n: number) => (rule.kind === 'error_rate'
    ? `${value === null ? 'no' : ruleValue(rule, value)} of ${requests(n)} failed`
    : `${`p${Math.round(rule.quantile * 100)}`} = ${value === null ? '-' : ruleValue(rule, value)} over ${requests(n)}`);
  switch (effect.type) {
    case 'alert':
      return `${rule.name} generated an alert - ${measure(effect.value, effect.requests)} (limit ${ruleValue(rule, effect.limit)}), triggered at ${formatTime(effect.at)}${note}`;
    case 'recovered':
      return `${rule.name} recovered - ${measure(effect.value, effect.requests)}, recovered at ${formatTime(effect.at)}, after an alert of ${formatDuration(effect.durationSeconds)} (peak ${ruleValue(rule, effect.peak)})${note}`;
    case 'learned':
      return `${rule.name}: learned the normal ${ruleSubject(rule)}: ${ruleValue(rule, effect.baseline)}, alerting above ${ruleValue(rule, effect.limit)} (at ${formatTime(effect.at)})`;
  }
}

/** The monitor's state as a restart takes it back (see savedState). */
export interface MonitorState {
  machine: AlertState;
  history: AlertRecord[];
  lastSecond: number;
  lastHits: number;
  rules: Array<{ name: string; state: RuleState; series: RuleSeries }>;
}

/** A configured rule as it runs. */
interface RunningRule {
  rule: AlertRule;
  state: RuleState;
  series: RuleSeries;
}

/** What a view shows of a configured rule. */
export interface RuleStatus {
  name: string;
  state: RuleState['name'];
  /** The limit now, in the rule's unit (null while learning). */
  limit: number | null;
  unit: '%' | 'ms';
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
  private readonly rules: RunningRule[];

  constructor(private readonly store: StatsStore, config: Config, private readonly lossIn: LossProvider | null = null) {
    this.config = alertConfigOf(config);
    this.machine = initialState(this.config);
    this.rules = alertRulesOf(config).map((rule) => ({ rule, state: initialRuleState(rule), series: new RuleSeries(rule) }));
  }

  /** What a restart needs to carry on (src/persist): the machine, the history, each rule's state and seconds. */
  savedState(): MonitorState {
    return {
      machine: this.machine, history: this.history, lastSecond: this.lastSecond, lastHits: this.lastHits,
      rules: this.rules.map(({ rule, state, series }) => ({ name: rule.name, state, series })),
    };
  }

  /** Carries on from a saved state (its rules in this run's order, as savedState gave them). */
  restoreState(saved: MonitorState): void {
    this.machine = saved.machine;
    this.history.length = 0;
    for (const record of saved.history) this.history.push(record);
    this.lastSecond = saved.lastSecond;
    this.lastHits = saved.lastHits;
    saved.rules.forEach((rule, i) => {
      const running = this.rules[i];
      if (running === undefined || running.rule.name !== rule.name) return;
      running.state = rule.state;
      running.series = rule.series;
    });
  }

  /** Transactions for the configured rules (the rate rule reads the store). */
  ingest(events: readonly HttpEvent[]): void {
    if (this.rules.length === 0) return;
    for (const event of events) {
      for (const running of this.rules) if (inScope(running.rule, event)) running.series.add(event);
    }
  }

  /** Seconds the longest window of any rule looks back. */
  get longestWindowSeconds(): number {
    return Math.max(this.config.windowSeconds, ...this.rules.map(({ rule }) => rule.windowSeconds));
  }

  /** The configured rules' states, in config order. */
  ruleStatuses(): RuleStatus[] {
    return this.rules.map(({ rule, state }) => ({ name: rule.name, state: state.name, limit: ruleLimit(state, rule), unit: rule.kind === 'error_rate' ? '%' : 'ms' }));
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
      const notice: AlertNotice = { effect, message: messageOf(effect, incomplete), rule: RATE_RULE, unit: 'hits' };
      for (const listener of this.listeners) listener(notice);
    }
    // The running alert's record follows its peak as it rises.
    const open = this.openRecord(RATE_RULE);
    if (open !== null && state.name === 'ALERT' && state.peak > open.peak) open.peak = state.peak;
    for (const running of this.rules) this.evaluateRule(running, second);
    this.prune(second);
  }

  private evaluateRule(running: RunningRule, second: number): void {
    const { rule } = running;
    const { state, effects } = ruleTransition(running.state, running.series.input(second), rule);
    running.state = state;
    for (const effect of effects) {
      const incomplete = effect.type === 'learned' ? null : this.lossNoteOver(rule.windowSeconds, second);
      const message = ruleMessageOf(rule, effect, incomplete);
      const unit = rule.kind === 'error_rate' ? '%' as const : 'ms' as const;
      if (effect.type === 'alert') {
        this.history.push({
          rule: rule.name, unit, start: effect.at, end: null, peak: effect.value, hits: effect.value, limit: effect.limit, endHits: null,
          durationSeconds: null, incomplete, endIncomplete: null, messages: { alert: message, recovery: null },
        });
      } else if (effect.type === 'recovered') {
        const record = this.openRecord(rule.name);
        if (record !== null) {
          Object.assign(record, { end: effect.at, endHits: effect.value, peak: effect.peak, durationSeconds: effect.durationSeconds, endIncomplete: incomplete });
          record.messages = { alert: record.messages?.alert ?? '', recovery: message };
        }
      }
      const legacy: AlertEffect = effect.type === 'alert' ? { type: 'alert', at: effect.at, hits: effect.value, limit: effect.limit }
        : effect.type === 'recovered' ? { type: 'recovered', at: effect.at, hits: effect.value ?? 0, limit: effect.limit, startedAt: effect.startedAt, durationSeconds: effect.durationSeconds, peak: effect.peak }
          : { type: 'learned', at: effect.at, baseline: effect.baseline, limit: effect.limit };
      const notice: AlertNotice = { effect: legacy, message, rule: rule.name, unit, ruleEffect: effect };
      for (const listener of this.listeners) listener(notice);
    }
    if (state.name === 'ALERT') {
      const record = this.openRecord(rule.name);
      if (record !== null && state.peak > record.peak) record.peak = state.peak;
    }
  }

  /** What the capture lost in the `seconds` ending with `second`; null if nothing. */
  private lossNoteOver(seconds: number, second: number): string | null {
    if (this.lossIn === null) return null;
    const lost = describeLossShare(this.lossIn(second + 1 - seconds, second + 1));
    return lost === '' ? null : lost;
  }

  /** What the capture lost in the window that ended with `second`, for alerts and recoveries; null if nothing. */
  private lossNote(effect: AlertEffect, second: number): string | null {
    if (effect.type !== 'alert' && effect.type !== 'recovered') return null;
    return this.lossNoteOver(this.config.windowSeconds, second);
  }

  private record(effect: AlertEffect, incomplete: string | null): void {
    if (effect.type === 'alert') {
      this.history.push({
        rule: RATE_RULE, unit: 'hits', start: effect.at, end: null, peak: effect.hits, hits: effect.hits, limit: effect.limit, endHits: null, durationSeconds: null,
        incomplete, endIncomplete: null,
      });
    } else if (effect.type === 'recovered') {
      const current = this.openRecord(RATE_RULE);
      if (current !== null) {
        current.end = effect.at;
        current.endHits = effect.hits;
        current.peak = effect.peak;
        current.durationSeconds = effect.durationSeconds;
        current.endIncomplete = incomplete;
      }
    }
  }

  /** The request-rate rule's running alert, or null. */
  current(): AlertRecord | null {
    return this.openRecord(RATE_RULE);
  }

  /** A rule's running alert, or null. */
  private openRecord(rule: string): AlertRecord | null {
    for (let i = this.history.length - 1; i >= 0; i--) {
      const record = this.history[i];
      if (record.rule === rule) return record.end === null ? record : null;
    }
    return null;
  }

  /** Forgets alerts that ended before the retention. */
  private prune(second: number): void {
    const cutoff = second - this.storeRetention();
    // Ended alerts older than the retention go; a running one stays (whatever is before it too).
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
