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

/** Where the machine is. */
export interface AlertState {
  name: AlertStateName;
  /** LEARNING: first second of the current learning period, and requests counted so far. */
  learningStart: number | null;
  learningCount: number;
  /** Requests per window considered normal (null while learning, or in fixed mode). */
  baseline: number | null;
  /** ALERT/RECOVERED: when the current or last alert started (epoch seconds) and its peak. */
  alertStart: number | null;
  peak: number;
  /** RECOVERED: when it recovered. */
  recoveredAt: number | null;
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
  return {
    name: config.thresholdRps === null ? 'LEARNING' : 'NORMAL',
    learningStart: null, learningCount: 0, baseline: null, alertStart: null, peak: 0, recoveredAt: null,
  };
}

/** The request count above which the window alerts (null while learning). */
export function limitOf(state: AlertState, config: AlertConfig): number | null {
  if (config.thresholdRps !== null) return config.thresholdRps * config.windowSeconds;
  if (state.baseline === null) return null;
  return state.baseline + (state.baseline * config.thresholdPercent) / 100;
}

/** Advances the machine by one closed second. */
export function transition(state: AlertState, input: AlertInput, config: AlertConfig): { state: AlertState; effects: AlertEffect[] } {
  const at = input.second + 1; // the second is over: this is when the window was evaluated
  if (state.name === 'LEARNING') return learn(state, input, config, at);
  const limit = limitOf(state, config)!;
  const over = input.hits > limit;
  switch (state.name) {
    case 'NORMAL':
    case 'RECOVERED':
      if (over) {
        return { state: { ...state, name: 'ALERT', alertStart: at, peak: input.hits, recoveredAt: null }, effects: [{ type: 'alert', at, hits: input.hits, limit }] };
      }
      if (state.name === 'RECOVERED' && at - state.recoveredAt! >= config.recoveredSeconds) {
        return { state: { ...state, name: 'NORMAL' }, effects: [] };
      }
      return { state, effects: [] };
    case 'ALERT': {
      if (over) return { state: input.hits > state.peak ? { ...state, peak: input.hits } : state, effects: [] };
      const startedAt = state.alertStart!;
      return {
        state: { ...state, name: 'RECOVERED', recoveredAt: at },
        effects: [{ type: 'recovered', at, hits: input.hits, limit, startedAt, durationSeconds: at - startedAt, peak: state.peak }],
      };
    }
  }
}

function learn(state: AlertState, input: AlertInput, config: AlertConfig, at: number): { state: AlertState; effects: AlertEffect[] } {
  const learningStart = state.learningStart ?? input.second;
  const learningCount = state.learningCount + input.secondHits;
  if (input.second - learningStart + 1 < config.learningSeconds) {
    return { state: { ...state, learningStart, learningCount }, effects: [] };
  }
  const baseline = (learningCount / config.learningSeconds) * config.windowSeconds;
  if (baseline === 0) {
    return { state: { ...state, learningStart: null, learningCount: 0 }, effects: [{ type: 'learning-restarted', at }] };
  }
  const learned: AlertState = { ...state, name: 'NORMAL', learningStart, learningCount, baseline };
  return { state: learned, effects: [{ type: 'learned', at, baseline, limit: limitOf(learned, config)! }] };
}
