/** The alert state machine, table-driven with explicit timestamps, and the monitor's history. */
import { AlertMonitor, formatDuration, messageOf } from '../src/alerts/monitor';
import { baselineOf, initialState, transition, type AlertConfig, type AlertEffect, type AlertState } from '../src/alerts/machine';
import { defaultConfig, type Config } from '../src/config';
import { StatsStore } from '../src/stats/store';
import type { HttpEvent } from '../src/types';

const CONFIG: AlertConfig = { windowSeconds: 10, thresholdPercent: 10, learningSeconds: 5, thresholdRps: null, recoveredSeconds: 3 };

/** Runs the machine over per-second inputs [second, windowHits, secondHits]. */
function drive(config: AlertConfig, inputs: Array<[number, number, number]>, from: AlertState = initialState(config)) {
  let state = from;
  const effects: AlertEffect[] = [];
  const names: string[] = [];
  for (const [second, hits, secondHits] of inputs) {
    const result = transition(state, { second, hits, secondHits }, config);
    state = result.state;
    effects.push(...result.effects);
    names.push(state.name);
  }
  return { state, effects, names };
}

/** A machine that learned a baseline of 100 hits per window (limit 110). */
function learned(): AlertState {
  // 5 s of 10 req/s → 50 requests in 5 s → 100 per 10 s window.
  return drive(CONFIG, [[0, 10, 10], [1, 20, 10], [2, 30, 10], [3, 40, 10], [4, 50, 10]]).state;
}

describe('alert state machine', () => {
  it('learns for the learning period, then sets the baseline per window', () => {
    const { state, effects, names } = drive(CONFIG, [[0, 10, 10], [1, 20, 10], [2, 30, 10], [3, 40, 10], [4, 50, 10]]);
    expect(names).toEqual(['LEARNING', 'LEARNING', 'LEARNING', 'LEARNING', 'NORMAL']);
    expect(state).toEqual({ name: 'NORMAL', baseline: 100 });
    expect(effects).toEqual([{ type: 'learned', at: 5, baseline: 100, limit: 110 }]);
  });

  it('restarts learning while the baseline is zero, and raises no alert meanwhile', () => {
    const silent: Array<[number, number, number]> = [0, 1, 2, 3, 4].map((s) => [s, 0, 0]);
    const { state, effects, names } = drive(CONFIG, [...silent, [5, 500, 500], [6, 1000, 500]]);
    expect(effects[0]).toEqual({ type: 'learning-restarted', at: 5 });
    expect(names.every((n) => n === 'LEARNING')).toBe(true);
    expect(state).toEqual({ name: 'LEARNING', learningStart: 5, learningCount: 1000 });
  });

  it('does not alert at the limit, and alerts one hit over it', () => {
    const at = drive(CONFIG, [[5, 110, 11]], learned());
    expect(at.effects).toEqual([]);
    expect(at.state.name).toBe('NORMAL');
    const over = drive(CONFIG, [[5, 111, 12]], learned());
    expect(over.effects).toEqual([{ type: 'alert', at: 6, hits: 111, limit: 110 }]);
    expect(over.state.name).toBe('ALERT');
  });

  it('stays in ALERT while over, tracking the peak; recovers at or under the limit with the duration', () => {
    const { effects, names, state } = drive(CONFIG, [[5, 120, 20], [6, 150, 30], [7, 130, 0], [8, 110, 0], [9, 90, 0]], learned());
    expect(names).toEqual(['ALERT', 'ALERT', 'ALERT', 'RECOVERED', 'RECOVERED']);
    expect(effects[1]).toEqual({ type: 'recovered', at: 9, hits: 110, limit: 110, startedAt: 6, durationSeconds: 3, peak: 150 });
    expect(baselineOf(state)).toBe(100); // the baseline does not move once enforcing
  });

  it('shows RECOVERED for one refresh period, then NORMAL; a new spike alerts again', () => {
    const alerted = drive(CONFIG, [[5, 120, 20], [6, 100, 0]], learned()).state;
    expect(drive(CONFIG, [[7, 100, 0], [8, 100, 0], [9, 100, 0]], alerted).names).toEqual(['RECOVERED', 'RECOVERED', 'NORMAL']);
    expect(drive(CONFIG, [[7, 130, 30]], alerted).effects).toEqual([{ type: 'alert', at: 8, hits: 130, limit: 110 }]);
  });

  it('with a fixed threshold_rps: no learning, limit = rps × window', () => {
    const fixed = { ...CONFIG, thresholdRps: 10, windowSeconds: 120 };
    expect(initialState(fixed).name).toBe('NORMAL');
    const { effects } = drive(fixed, [[0, 1200, 10], [1, 1201, 10], [2, 1200, 0]]);
    expect(effects.map((e) => [e.type, e.at])).toEqual([['alert', 2], ['recovered', 3]]);
  });

  it('words its messages as the seed tool did', () => {
    expect(messageOf({ type: 'alert', at: 1_700_000_000, hits: 1234, limit: 1000 }))
      .toBe('High traffic generated an alert - hits = 1234, triggered at 2023-11-14 22:13:20 UTC');
    expect(messageOf({ type: 'recovered', at: 1_700_000_125, hits: 900, limit: 1000, startedAt: 1_700_000_000, durationSeconds: 125, peak: 1500 }))
      .toBe('Traffic recovered - hits = 900, recovered at 2023-11-14 22:15:25 UTC, after an alert of 2m 05s (peak 1500 hits)');
    expect(formatDuration(3723)).toBe('1h 02m 03s');
  });
});

function event(ts: number): HttpEvent {
  return { ts, src: '10.0.0.1', sport: 1, dst: '10.0.0.2', dport: 80, method: 'GET', host: 'h', uri: '/', section: '/', status: 200, reqBytes: 0, respBytes: 0, ua: '', latencyMs: 1, version: '1.1', route: '/', client: '10.0.0.1', uriTruncated: false, requestHeaders: '', responseHeaders: '' };
}

describe('alert monitor', () => {
  function setup(overrides: Partial<Config>) {
    const config = { ...defaultConfig(), average_bucket_size: 10, average_learning_duration: 10, average_threshold: 50, dashboard_bucket_size: 5, max_retention_length: 100, ...overrides };
    const store = new StatsStore(config);
    const monitor = new AlertMonitor(store, config);
    store.subscribe((second) => monitor.evaluate(second));
    const feed = (from: number, to: number, rps: number) => {
      const events: HttpEvent[] = [];
      for (let s = from; s < to; s++) for (let i = 0; i < rps; i++) events.push(event(s + i / rps));
      store.ingest(events);
      store.advanceTo(to);
    };
    return { store, monitor, feed };
  }

  it('keeps each alert with start, end, peak and duration, and the max and average duration', () => {
    const { monitor, feed } = setup({});
    feed(1000, 1020, 10); // learn: 100 per window, limit 150
    feed(1020, 1030, 30);
    feed(1030, 1060, 10);
    feed(1060, 1070, 40);
    feed(1070, 1100, 10);
    const summary = monitor.summary();
    expect(summary.alerts).toHaveLength(2);
    for (const alert of summary.alerts) {
      expect(alert.end).not.toBeNull();
      expect(alert.durationSeconds).toBe(alert.end! - alert.start);
      expect(alert.peak).toBeGreaterThan(150);
    }
    // The first spike adds 20 extra requests a second: the window is over 150 after 3 s.
    expect(summary.alerts[0].start).toBe(1023);
    expect(summary.maxDurationSeconds).toBe(Math.max(...summary.alerts.map((a) => a.durationSeconds!)));
    expect(summary.averageDurationSeconds).toBeCloseTo((summary.alerts[0].durationSeconds! + summary.alerts[1].durationSeconds!) / 2, 1);
  });

  it('forgets alerts that ended before the retention', () => {
    const { monitor, feed } = setup({});
    feed(1000, 1020, 10);
    feed(1020, 1030, 30);
    feed(1030, 1060, 10);
    expect(monitor.history).toHaveLength(1);
    feed(1060, 1200, 10); // 100 s retention: the alert ended ~1037, now 1199
    expect(monitor.history).toHaveLength(0);
  });

  it('announces alerts and recoveries to listeners', () => {
    const { monitor, feed } = setup({ threshold_rps: 12 });
    const lines: string[] = [];
    monitor.onNotice((n) => lines.push(n.message));
    feed(1000, 1020, 10);
    feed(1020, 1030, 30);
    feed(1030, 1060, 10);
    expect(lines.filter((l) => l.startsWith('High traffic generated an alert'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('Traffic recovered'))).toHaveLength(1);
  });
});
