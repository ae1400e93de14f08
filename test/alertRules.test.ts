/** Alert rules beside the request-rate one: error rate and latency, on generated traffic with explicit times. */
import { defaultConfig, type Config } from '../src/config';
import { loadConfig } from '../src/settings';
import { RunState } from '../src/run/runState';
import type { AlertNotice } from '../src/alerts/monitor';
import type { HttpEvent } from '../src/types';
import { httpEvent } from './helpers/events';

const T0 = 1_700_000_000;

function event(ts: number, fields: Partial<HttpEvent> = {}): HttpEvent {
  return httpEvent(ts, { latencyMs: 10, ...fields });
}

/**
 * Runs `seconds` seconds of traffic, `perSecond(s)` giving each second's events, through a run
 * with `alerts`; returns the notices of the configured rules.
 */
function run(alerts: unknown[], seconds: number, perSecond: (s: number) => HttpEvent[], overrides: Partial<Config> = {}) {
  const state = new RunState({ ...defaultConfig(), threshold_rps: 1e9, ...overrides, alerts }, 'test');
  const notices: AlertNotice[] = [];
  state.onNotice((notice) => { if (notice.rule !== 'High traffic') notices.push(notice); });
  for (let s = 0; s < seconds; s++) {
    state.ingest(perSecond(s));
    state.advanceTo(T0 + s + 1);
  }
  return { state, notices };
}

/** 100 requests a second; `errors` of them 503s. */
function second(s: number, errors: number, fields: Partial<HttpEvent> = {}): HttpEvent[] {
  return Array.from({ length: 100 }, (_, i) => event(T0 + s + i / 100, { status: i < errors ? 503 : 200, ...fields }));
}

describe('error-rate rule', () => {
  it('an error spike with flat volume raises one alert and one recovery, when the window says', () => {
    // 1% errors, then 20% from second 120 to 179, then 1% again.
    const { notices, state } = run([{ type: 'error_rate', limit: 5, window: 30 }], 300, (s) => second(s, s >= 120 && s < 180 ? 20 : 1));
    const kinds = notices.map((n) => [n.ruleEffect?.type, n.ruleEffect?.at]);
    // Over 5% once the window holds 7 spike seconds ((23 + 7×20) / 3000 = 5.4%): second 126, told at its end.
    // Back to 5% once 24 normal seconds followed ((24 + 6×20) / 3000 = 4.8%): second 203.
    expect(kinds).toEqual([['alert', T0 + 127], ['recovered', T0 + 204]]);
    expect(notices[0].message).toMatch(/^High error rate generated an alert - 5\.4% of 3,000 requests failed \(limit 5\.0%\), triggered at 2023-11-14 22:15:27 UTC$/);
    expect(notices[1].message).toMatch(/^High error rate recovered - 4\.8% of 3,000 requests failed, recovered at .*, after an alert of 1m 17s \(peak 20\.0%\)$/);
    const record = state.alerts.history.find((r) => r.rule === 'High error rate')!;
    expect(record).toMatchObject({ unit: '%', start: T0 + 127, end: T0 + 204, peak: 20, durationSeconds: 77 });
    expect(state.alerts.ruleStatuses()).toEqual([{ name: 'High error rate', state: 'NORMAL', limit: 5, unit: '%' }]);
  });

  it('needs the minimum number of requests: 3 errors out of 5 at night page nobody', () => {
    const quiet = (s: number) => [0, 1, 2, 3, 4].map((i) => event(T0 + s + i / 5, { status: i < 3 ? 500 : 200 }));
    expect(run([{ type: 'error_rate', limit: 5, window: 10, min_requests: 100 }], 60, quiet).notices).toEqual([]);
    // The same nights with a lower minimum do alert.
    expect(run([{ type: 'error_rate', limit: 5, window: 10, min_requests: 10 }], 60, quiet).notices.length).toBeGreaterThan(0);
  });

  it('needs the condition to hold min_duration seconds: a short burst is ignored, a long one alerts that much later', () => {
    const burst = (from: number, to: number) => (s: number) => second(s, s >= from && s < to ? 50 : 0);
    expect(run([{ type: 'error_rate', limit: 5, window: 5, min_duration: 30 }], 100, burst(50, 55)).notices).toEqual([]);
    const { notices } = run([{ type: 'error_rate', limit: 5, window: 5, min_duration: 30 }], 200, burst(50, 150));
    // Over from second 50 (one burst second is 10% of the window): held 30 seconds at second 79.
    expect(notices[0].ruleEffect).toMatchObject({ type: 'alert', at: T0 + 80 });
  });

  it('learns a baseline and alerts above it by the given points; a scope keeps other hosts out', () => {
    const traffic = (s: number) => [...second(s, s >= 200 && s < 260 ? 12 : 2), ...second(s, 60, { host: 'b.example' })];
    const { notices } = run([{ type: 'error_rate', learn: 100, above: 5, window: 10, scope: { host: 'a.example' } }], 300, traffic);
    expect(notices.map((n) => n.ruleEffect?.type)).toEqual(['learned', 'alert', 'recovered']);
    expect(notices[0].message).toMatch(/learned the normal error rate of host a\.example: 2\.0%, alerting above 7\.0%/);
  });
});

describe('a rule with a where filter', () => {
  it('watches only what its filter matches: the error rate of path ~ ^/api alerts on API errors, not on errors elsewhere', () => {
    const traffic = (s: number) => [
      ...second(s, s >= 100 && s < 160 ? 20 : 1, { uri: '/api/orders', section: '/api', route: '/api/orders' }),
      // Static files fail all the time: an unfiltered rule would alert from the start.
      ...second(s, 50, { uri: '/static/x.js', section: '/static', route: '/static/x.js' }),
    ];
    const { notices } = run([{ type: 'error_rate', limit: 5, window: 10, where: 'path ~ ^/api' }], 200, traffic);
    // Over 5% once 3 of the 10 window seconds are bursts ((3 × 20 + 7) / 1000), under again with 2 left ((2 × 20 + 8) / 1000).
    expect(notices.map((n) => [n.ruleEffect?.type, n.ruleEffect?.at])).toEqual([['alert', T0 + 103], ['recovered', T0 + 168]]);
    // 1,000 requests in the window: the API's alone (all traffic would be 2,000).
    expect(notices[0].message).toMatch(/^High error rate generated an alert - 6\.7% of 1,000 requests failed \(limit 5\.0%\)/);
  });

  it('combines with a scope (both must match)', () => {
    const traffic = (s: number) => [...second(s, 0, { latencyMs: 900, method: 'GET' }), ...second(s, 0, { latencyMs: s > 30 ? 900 : 50, method: 'POST' })];
    const { notices } = run([{ type: 'latency', limit: 500, window: 5, where: 'method = POST', scope: { host: 'a.example' } }], 60, traffic);
    expect(notices.map((n) => [n.ruleEffect?.type, n.ruleEffect?.at])).toEqual([['alert', T0 + 32]]);
  });
});

describe('latency rule', () => {
  it('a latency step raises one alert and one recovery, against a learned baseline × factor', () => {
    const traffic = (s: number) => second(s, 0, { latencyMs: s >= 120 && s < 180 ? 100 : 10 });
    const { notices } = run([{ type: 'latency', quantile: 'p95', learn: 60, above: 3, window: 10 }], 240, traffic);
    expect(notices.map((n) => [n.ruleEffect?.type, n.ruleEffect?.at])).toEqual([['learned', T0 + 60], ['alert', T0 + 121], ['recovered', T0 + 190]]);
    expect(notices[1].message).toMatch(/^High p95 latency generated an alert - p95 = \d+ ms over 1,000 requests \(limit \d+(\.\d)? ms\)/);
  });

  it('a fixed limit in ms, scoped to a route', () => {
    const traffic = (s: number) => [...second(s, 0, { latencyMs: 50 }), ...second(s, 0, { route: '/slow', latencyMs: s > 30 ? 900 : 50 })];
    const { notices } = run([{ name: 'Slow checkout', type: 'latency', limit: 500, window: 5, scope: { route: '/slow' } }], 60, traffic);
    expect(notices.map((n) => n.ruleEffect?.type)).toEqual(['alert']);
    expect(notices[0].message).toMatch(/^Slow checkout generated an alert - p95 = \d+ ms over 500 requests \(limit 500 ms\)/);
  });
});

describe('alert rules in the config', () => {
  it.each([
    [[{ type: 'error_rate', foo: 1 }], /"alerts\[0\]\.foo" is not a rule key/],
    [[{ type: 'cpu' }], /"alerts\[0\]\.type" must be "error_rate" or "latency"/],
    [[{ type: 'error_rate', limit: 500 }], /"alerts\[0\]\.limit" must be a number in 0\.\.100, not 500/],
    [[{ type: 'latency', quantile: 'p42' }], /"alerts\[0\]\.quantile" must be "p50", "p95" or "p99"/],
    [[{ type: 'latency', limit: 100, learn: 60 }], /has both "limit" and "learn"/],
    [[{ type: 'error_rate', scope: { path: '/x' } }], /"alerts\[0\]\.scope\.path" is not a scope key/],
    [[{ type: 'error_rate', where: 'pth ~ ^/api' }], /"alerts\[0\]\.where": unknown field "pth" at column 1 \(fields: method, /],
    [[{ type: 'error_rate', where: 'status = fivehundred' }], /"alerts\[0\]\.where": "fivehundred" is not a value of status: give a status \(404\), a class \(5xx\)/],
    [[{ type: 'error_rate', where: 42 }], /"alerts\[0\]\.where" must be a filter expression/],
    [['x'], /"alerts" must be a list of objects/],
  ])('%j is refused with one line naming the key', (alerts, message) => {
    expect(() => loadConfig(undefined, { alerts } as Partial<Config>)).toThrow(message);
  });

  it('takes a valid rule with its defaults', () => {
    expect(loadConfig(undefined, { alerts: [{ type: 'latency' }] } as Partial<Config>).alerts).toHaveLength(1);
  });
});
