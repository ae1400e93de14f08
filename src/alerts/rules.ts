/**
 * Alert rules beside the request-rate one: the error rate (5xx and unanswered) or a latency
 * quantile over a sliding window, optionally scoped to a host, section or route, against a
 * fixed limit or a learned baseline. Each rule runs the same states as the rate alert
 * (LEARNING → NORMAL → ALERT → RECOVERED): pure transitions here, evaluated once per closed
 * second of data time; the per-second data of its scope is kept by RuleSeries.
 *
 * Two guards against paging anyone for nothing: a window with fewer than `minRequests`
 * requests is never over the limit (3 errors out of 5 requests at night), and the condition
 * must hold `minDurationSeconds` in a row before the alert is raised (no flapping).
 */
import type { TransactionFilter } from '../filter/filter';
import { isErrorEvent } from '../stats/classify';
import { LogHistogram } from '../stats/logHistogram';
import type { HttpEvent } from '../types';
import type { AlertStateName } from './machine';

/** What a rule watches. */
export type RuleKind = 'error_rate' | 'latency';

/** A rule as the config gives it, checked and with its defaults. */
export interface AlertRule {
  name: string;
  kind: RuleKind;
  /** Seconds in the sliding window. */
  windowSeconds: number;
  /** A fixed limit: percent of failed requests, or milliseconds. Null: learned. */
  limit: number | null;
  /** Learned: seconds of learning, and how far above the baseline alerts (percentage points for errors, a factor for latency). */
  learnSeconds: number;
  above: number;
  /** The latency quantile watched (0.5, 0.95, 0.99). */
  quantile: number;
  minRequests: number;
  minDurationSeconds: number;
  /** Only transactions of this host / section / route count. */
  scope: { host?: string; section?: string; route?: string };
  /** The transactions watched, as a filter expression (with the scope: both must match), or null for all. */
  where: TransactionFilter | null;
  /** Seconds RECOVERED is shown before NORMAL. */
  recoveredSeconds: number;
}

/** A window's observation. */
export interface RuleInput {
  second: number;
  requests: number;
  /** The value watched: error percent, or the quantile in ms (null: no latency seen). */
  value: number | null;
}

/** Where a rule is. */
export type RuleState =
  | { name: 'LEARNING'; start: number | null; sum: number; samples: number }
  | { name: 'NORMAL'; baseline: number | null; overSince: number | null }
  | { name: 'ALERT'; baseline: number | null; start: number; peak: number; startValue: number; startRequests: number }
  | { name: 'RECOVERED'; baseline: number | null; start: number; peak: number; recoveredAt: number; overSince: number | null };

/** What happened. */
export type RuleEffect =
  | { type: 'learned'; at: number; baseline: number; limit: number }
  | { type: 'alert'; at: number; value: number; requests: number; limit: number }
  | { type: 'recovered'; at: number; value: number | null; requests: number; limit: number; startedAt: number; durationSeconds: number; peak: number };

export function initialRuleState(rule: AlertRule): RuleState {
  return rule.limit === null ? { name: 'LEARNING', start: null, sum: 0, samples: 0 } : { name: 'NORMAL', baseline: null, overSince: null };
}

/** The limit now (null while learning). */
export function ruleLimit(state: RuleState, rule: AlertRule): number | null {
  if (rule.limit !== null) return rule.limit;
  if (state.name === 'LEARNING' || state.baseline === null) return null;
  return rule.kind === 'error_rate' ? state.baseline + rule.above : state.baseline * rule.above;
}

export function ruleStateName(state: RuleState): AlertStateName {
  return state.name;
}

/** Advances a rule by one closed second. */
export function ruleTransition(state: RuleState, input: RuleInput, rule: AlertRule): { state: RuleState; effects: RuleEffect[] } {
  const at = input.second + 1;
  if (state.name === 'LEARNING') return learn(state, input, rule, at);
  const limit = ruleLimit(state, rule);
  if (limit === null) return { state, effects: [] };
  const over = input.value !== null && input.requests >= rule.minRequests && input.value > limit;
  switch (state.name) {
    case 'NORMAL':
    case 'RECOVERED': {
      const overSince = over ? state.overSince ?? at : null;
      if (over && at - overSince! + 1 >= Math.max(1, rule.minDurationSeconds)) {
        return {
          state: { name: 'ALERT', baseline: state.baseline, start: at, peak: input.value!, startValue: input.value!, startRequests: input.requests },
          effects: [{ type: 'alert', at, value: input.value!, requests: input.requests, limit }],
        };
      }
      if (state.name === 'RECOVERED') {
        if (!over && at - state.recoveredAt >= rule.recoveredSeconds) return { state: { name: 'NORMAL', baseline: state.baseline, overSince: null }, effects: [] };
        return { state: { ...state, overSince }, effects: [] };
      }
      return { state: { ...state, overSince }, effects: [] };
    }
    case 'ALERT': {
      if (over) return { state: input.value! > state.peak ? { ...state, peak: input.value! } : state, effects: [] };
      return {
        state: { name: 'RECOVERED', baseline: state.baseline, start: state.start, peak: state.peak, recoveredAt: at, overSince: null },
        effects: [{ type: 'recovered', at, value: input.value, requests: input.requests, limit, startedAt: state.start, durationSeconds: at - state.start, peak: state.peak }],
      };
    }
  }
}

/** Learning: the baseline is the average of the window's value over the learning seconds that had traffic. */
function learn(state: RuleState & { name: 'LEARNING' }, input: RuleInput, rule: AlertRule, at: number): { state: RuleState; effects: RuleEffect[] } {
  const start = state.start ?? input.second;
  const counts = input.value !== null && input.requests > 0;
  const sum = state.sum + (counts ? input.value! : 0);
  const samples = state.samples + (counts ? 1 : 0);
  if (input.second - start + 1 < rule.learnSeconds || samples === 0) {
    return { state: { name: 'LEARNING', start: input.second - start + 1 >= rule.learnSeconds ? null : start, sum: samples === 0 ? 0 : sum, samples }, effects: [] };
  }
  const baseline = sum / samples;
  const learned: RuleState = { name: 'NORMAL', baseline, overSince: null };
  return { state: learned, effects: [{ type: 'learned', at, baseline, limit: ruleLimit(learned, rule) ?? baseline }] };
}

/** Does an event fall in a rule's scope? */
export function inScope(rule: AlertRule, event: HttpEvent): boolean {
  const { host, section, route } = rule.scope;
  return (host === undefined || event.host === host) && (section === undefined || event.section === section) && (route === undefined || event.route === route)
    && (rule.where === null || rule.where.matches(event));
}

/** One second of a rule's scope. */
interface SecondData {
  second: number;
  requests: number;
  errors: number;
  latency: LogHistogram | null;
}

/** The per-second data of a rule's scope over its window (a ring of `windowSeconds` seconds). */
export class RuleSeries {
  private readonly ring: SecondData[];

  constructor(private readonly rule: AlertRule) {
    this.ring = Array.from({ length: rule.windowSeconds }, () => ({ second: -1, requests: 0, errors: 0, latency: null }));
  }

  /** Counts an event (already in scope). */
  add(event: HttpEvent): void {
    const second = Math.floor(event.ts);
    const slot = this.ring[((second % this.ring.length) + this.ring.length) % this.ring.length];
    if (slot.second !== second) {
      if (slot.second > second) return; // older than the window
      slot.second = second;
      slot.requests = 0;
      slot.errors = 0;
      slot.latency = null;
    }
    slot.requests++;
    if (isErrorEvent(event)) slot.errors++;
    if (this.rule.kind === 'latency' && event.latencyMs !== null) (slot.latency ??= new LogHistogram()).add(event.latencyMs);
  }

  /** The window that ends with `second`. */
  input(second: number): RuleInput {
    let requests = 0;
    let errors = 0;
    const latency = this.rule.kind === 'latency' ? new LogHistogram() : null;
    for (const slot of this.ring) {
      if (slot.second > second || slot.second <= second - this.ring.length) continue;
      requests += slot.requests;
      errors += slot.errors;
      if (latency !== null && slot.latency !== null) latency.merge(slot.latency);
    }
    if (this.rule.kind === 'error_rate') return { second, requests, value: requests === 0 ? null : (100 * errors) / requests };
    const value = latency !== null && latency.total > 0 ? latency.quantile(this.rule.quantile) : null;
    return { second, requests, value };
  }
}
