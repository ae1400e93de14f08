/**
 * The alert state machine, pure: `transition(state, input, config)` → `{state, effects}`,
 * evaluated once per second of data time. LEARNING counts requests for the learning period and
 * sets the baseline (requests per window); a zero baseline restarts learning. NORMAL compares
 * the requests of the sliding window with the limit; one request over it raises ALERT, which
 * stays while over. Falling back to or under the limit gives RECOVERED, shown for one refresh
 * period, then NORMAL. With a fixed `thresholdRps` there is no learning.
 */

export type AlertStateName = 'LEARNING' | 'NORMAL' | 'ALERT' | 'RECOVERED';

/** The settings the machine needs (from the config). */
export interface AlertConfig {
  /** average_bucket_size: seconds in the sliding window. */
  windowSeconds: number;
  /** average_threshold: percent above the baseline that alerts. */
  thresholdPercent: number;
  /** average_learning_duration: seconds of learning. */
  learningSeconds: number;
  /** threshold_rps: a fixed rate instead of a learned baseline. */
  thresholdRps: number | null;
  /** Seconds RECOVERED is shown before NORMAL (the dashboard refresh period). */
  recoveredSeconds: number;
}

/** LEARNING: counting requests to set the baseline. */
export interface LearningState {
  name: 'LEARNING';
  /** First second of the current learning period (null until the first second is seen). */
  learningStart: number | null;
  /** Requests counted so far. */
  learningCount: number;
}

/** NORMAL: the window's requests are at or under the limit. */
export interface NormalState {
  name: 'NORMAL';
  /** Requests per window considered normal (null in fixed-threshold mode). */
  baseline: number | null;
}

/** ALERT: over the limit since `alertStart` (epoch seconds), with the highest window count seen. */
export interface AlertingState {
  name: 'ALERT';
  baseline: number | null;
  alertStart: number;
  peak: number;
}

/** RECOVERED: back under the limit at `recoveredAt`; shown for a while, then NORMAL. */
export interface RecoveredState {
  name: 'RECOVERED';
  baseline: number | null;
  alertStart: number;
  peak: number;
  recoveredAt: number;
}

/** Where the machine is. */
export type AlertState = LearningState | NormalState | AlertingState | RecoveredState;

/** The learned baseline (requests per window), or null while learning or in fixed mode. */
export function baselineOf(state: AlertState): number | null {
  return state.name === 'LEARNING' ? null : state.baseline;
}

/** One second's observation. */
export interface AlertInput {
  /** The second that just closed. */
  second: number;
  /** Requests in the window ending with that second. */
  hits: number;
  /** Requests in that second alone. */
  secondHits: number;
}

/** What happened, for the monitor to record and announce. */
export type AlertEffect =
  | { type: 'learned'; at: number; baseline: number; limit: number }
  | { type: 'learning-restarted'; at: number }
  | { type: 'alert'; at: number; hits: number; limit: number }
  | { type: 'recovered'; at: number; hits: number; limit: number; startedAt: number; durationSeconds: number; peak: number };

/** The machine's first state. */
export function initialState(config: AlertConfig): AlertState {
  return config.thresholdRps === null ? { name: 'LEARNING', learningStart: null, learningCount: 0 } : { name: 'NORMAL', baseline: null };
}

/** The request count above which the window alerts (null while learning). */
export function limitOf(state: AlertState, config: AlertConfig): number | null {
  if (config.thresholdRps !== null) return config.thresholdRps * config.windowSeconds;
  const baseline = baselineOf(state);
  if (baseline === null) return null;
  return baseline + (baseline * config.thresholdPercent) / 100;
}

/** Advances the machine by one closed second. */
export function transition(state: AlertState, input: AlertInput, config: AlertConfig): { state: AlertState; effects: AlertEffect[] } {
  const at = input.second + 1; // the second is over: this is when the window was evaluated
  if (state.name === 'LEARNING') return learn(state, input, config, at);
  const limit = limitOf(state, config);
  // Out of learning there is always a limit (a baseline, or the fixed rate).
  if (limit === null) return { state, effects: [] };
  const over = input.hits > limit;
  switch (state.name) {
    case 'NORMAL':
    case 'RECOVERED':
      if (over) {
        return { state: { name: 'ALERT', baseline: state.baseline, alertStart: at, peak: input.hits }, effects: [{ type: 'alert', at, hits: input.hits, limit }] };
      }
      if (state.name === 'RECOVERED' && at - state.recoveredAt >= config.recoveredSeconds) {
        return { state: { name: 'NORMAL', baseline: state.baseline }, effects: [] };
      }
      return { state, effects: [] };
    case 'ALERT': {
      if (over) return { state: input.hits > state.peak ? { ...state, peak: input.hits } : state, effects: [] };
      const startedAt = state.alertStart;
      return {
        state: { name: 'RECOVERED', baseline: state.baseline, alertStart: startedAt, peak: state.peak, recoveredAt: at },
        effects: [{ type: 'recovered', at, hits: input.hits, limit, startedAt, durationSeconds: at - startedAt, peak: state.peak }],
      };
    }
  }
}

function learn(state: LearningState, input: AlertInput, config: AlertConfig, at: number): { state: AlertState; effects: AlertEffect[] } {
  const learningStart = state.learningStart ?? input.second;
  const learningCount = state.learningCount + input.secondHits;
  if (input.second - learningStart + 1 < config.learningSeconds) {
    return { state: { name: 'LEARNING', learningStart, learningCount }, effects: [] };
  }
  const baseline = (learningCount / config.learningSeconds) * config.windowSeconds;
  if (baseline === 0) {
    return { state: { name: 'LEARNING', learningStart: null, learningCount: 0 }, effects: [{ type: 'learning-restarted', at }] };
  }
  const learned: NormalState = { name: 'NORMAL', baseline };
  return { state: learned, effects: [{ type: 'learned', at, baseline, limit: limitOf(learned, config) ?? baseline }] };
}
