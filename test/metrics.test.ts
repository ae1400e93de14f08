/** Prometheus metrics: names, bounded label values, the exposition checked by promtool. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { defaultConfig } from '../src/config';
import { RunState } from '../src/run/runState';
import { MetricsSink, parseListen, withMetrics } from '../src/sinks/metrics';
import { alpnLabel, LabelLimiter, methodLabel, OTHER, tlsVersionLabel } from '../src/sinks/metrics/labels';
import { emptyCaptureStats, type HttpEvent } from '../src/types';
import { httpEvent } from './helpers/events';

const T0 = 1_700_000_000;

function event(ts: number, fields: Partial<HttpEvent> = {}): HttpEvent {
  return httpEvent(ts, fields);
}

/** A run with metrics, fed like the main loop feeds it. */
function setup(topK = 3) {
  const run = new RunState({ ...defaultConfig(), threshold_rps: 1000 }, 'test');
  const metrics = new MetricsSink(run, topK);
  const feed = (events: HttpEvent[], until: number) => {
    run.ingest(events);
    metrics.onEvents(events);
    run.advanceTo(until);
  };
  const series = async (name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values;
  return { run, metrics, feed, series };
}

describe('metrics', () => {
  it('count requests by host, section, method and status class, with durations and bytes', async () => {
    const { metrics, feed, series } = setup();
    feed(Array.from({ length: 20 }, (_, i) => event(T0 + i / 20, { status: i < 5 ? 503 : 200, respBytes: 100 })), T0 + 1);
    // Admitted at the first closed second: later requests carry their own labels.
    feed(Array.from({ length: 10 }, (_, i) => event(T0 + 1 + i / 10, { status: i < 2 ? null : 200, respBytes: 100, latencyMs: i < 2 ? null : 250 })), T0 + 2);
    const requests = await series('wiretop_http_requests_total');
    const total = requests.reduce((sum, v) => sum + v.value, 0);
    expect(total).toBe(30);
    expect(requests.find((v) => v.labels.host === 'a.example' && v.labels.status_class === 'none')?.value).toBe(2);
    expect(requests.find((v) => v.labels.host === OTHER && v.labels.status_class === '5xx')?.value).toBe(5);
    expect((await series('wiretop_http_request_errors_total')).reduce((s, v) => s + v.value, 0)).toBe(7);
    expect((await series('wiretop_http_response_body_bytes_total')).reduce((s, v) => s + v.value, 0)).toBe(3000);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^wiretop_http_request_duration_seconds_bucket\{le="0\.25",host="a\.example",section="\/api"\} 8$/m);
    expect(text).toMatch(/^wiretop_alert_state\{rule="High traffic"\} 1$/m);
    expect(text).toMatch(/^wiretop_capture_active_connections 0$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    metrics.stop();
  });

  it('count TLS connections by version and ALPN (bounded labels), their bytes and handshake times; a primary output still gets them', async () => {
    const { metrics, series } = setup();
    const tls = (version: string, alpn: string, handshakeMs: number | null) => ({
      ts: T0, src: '10.0.0.1', sport: 1, dst: '10.0.0.2', dport: 443, serverName: 'a.example', versionsOffered: [version], version, cipher: '', alpnOffered: [],
      alpn, handshakeMs, bytesToServer: 100, bytesToClient: 1000, durationMs: 5, decrypted: false, requests: 0,
    });
    const printed: number[] = [];
    const sink = withMetrics({ onEvents: () => undefined, onTls: (c) => { printed.push(c.length); }, finish: () => undefined }, metrics);
    sink.onTls!([tls('TLS 1.3', 'h2', 3), tls('TLS 1.3', 'h2', 4), tls('TLS 1.2', 'http/1.1', null), tls('0x7f1c', '\\x00evil', 2), tls('', '', null)]);
    expect(printed).toEqual([5]);
    const connections = await series('wiretop_tls_connections_total');
    const count = (version: string, alpn: string) => connections.find((v) => v.labels.version === version && v.labels.alpn === alpn)?.value;
    expect([count('TLS 1.3', 'h2'), count('TLS 1.2', 'http/1.1'), count(OTHER, OTHER), count('unknown', 'none')]).toEqual([2, 1, 1, 1]);
    expect((await series('wiretop_tls_bytes_total')).map((v) => [v.labels.direction, v.value])).toEqual([['to_server', 500], ['to_client', 5000]]);
    expect(await metrics.registry.metrics()).toMatch(/^wiretop_tls_handshake_duration_seconds_count 3$/m);
    metrics.stop();
  });

  it('keep label cardinality bounded: a flood of distinct Hosts adds only `other`, and admitted values keep their series', async () => {
    const { metrics, feed, series } = setup(3);
    // Three real hosts, then 20,000 distinct hosts of one request each.
    const real = (s: number) => ['a.example', 'b.example', 'c.example'].flatMap((host) => Array.from({ length: 20 }, (_, i) => event(T0 + s + i / 20, { host })));
    feed(real(0), T0 + 1);
    for (let s = 1; s < 21; s++) {
      const flood = Array.from({ length: 1000 }, (_, i) => event(T0 + s + i / 1000, { host: `x${s}-${i}.flood.example`, section: `/s${i}` }));
      feed([...flood, ...real(s)], T0 + s + 1);
    }
    const hosts = new Set((await series('wiretop_http_requests_total')).map((v) => v.labels.host));
    expect(hosts).toEqual(new Set(['a.example', 'b.example', 'c.example', OTHER]));
    const sections = new Set((await series('wiretop_http_requests_total')).map((v) => v.labels.section));
    expect(sections.size).toBeLessThanOrEqual(4);
    expect((await series('wiretop_http_requests_total')).length).toBeLessThanOrEqual(4 * 4);
    // The admitted hosts keep their series when they go quiet.
    feed([event(T0 + 22, { host: 'z.example' })], T0 + 23);
    expect(new Set((await series('wiretop_http_requests_total')).map((v) => v.labels.host)).has('a.example')).toBe(true);
    metrics.stop();
  });

  it('count each capture worker\'s packets when the capture is split among several, and none with one', async () => {
    const { run, series } = setup();
    run.updateCapture({ ...emptyCaptureStats(), packets: 10 }, T0);
    expect(await series('wiretop_capture_worker_packets_total')).toEqual([]);
    run.updateCapture({ ...emptyCaptureStats(), packets: 300 }, T0 + 1, [{ packets: 120, transactions: 10, kernelDrops: 0 }, { packets: 180, transactions: 20, kernelDrops: 1 }]);
    const workers = await series('wiretop_capture_worker_packets_total');
    expect(workers.map((v) => [v.labels.worker, v.value])).toEqual([['0', 120], ['1', 180]]);
  });

  it('admit the busiest with enough requests, up to the limit, once', () => {
    const limiter = new LabelLimiter(2);
    limiter.admit([{ key: 'big', count: 500 }, { key: 'tiny', count: 3 }, { key: 'mid', count: 50 }, { key: 'late', count: 40 }]);
    expect(['big', 'tiny', 'mid', 'late'].map((k) => limiter.label(k))).toEqual(['big', OTHER, 'mid', OTHER]);
    limiter.admit([{ key: 'late', count: 1e6 }]);
    expect(limiter.label('late')).toBe(OTHER);
    expect(parseListen('9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListen('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseListen('99999')).toBeNull();
    expect(parseListen('http://x')).toBeNull();
  });

  it('keep only known methods, TLS versions and ALPN protocols as label values', () => {
    expect(['GET', 'PATCH', 'BREW', 'get'].map(methodLabel)).toEqual(['GET', 'PATCH', OTHER, OTHER]);
    expect(['TLS 1.3', 'SSL 3.0', '', '0x7f1c'].map(tlsVersionLabel)).toEqual(['TLS 1.3', 'SSL 3.0', 'unknown', OTHER]);
    expect(['h2', 'http/1.1', '', 'spdy/3'].map(alpnLabel)).toEqual(['h2', 'http/1.1', 'none', OTHER]);
    const limiter = new LabelLimiter(1);
    expect(limiter.full).toBe(false);
    limiter.admit([{ key: 'a', count: 10 }]);
    expect(limiter.full).toBe(true);
  });

  const promtool = spawnSync('promtool', ['--version']).status === 0;
  (promtool ? it : it.skip)('pass `promtool check metrics` (names, units, help texts)', async () => {
    const { metrics, feed } = setup();
    feed(Array.from({ length: 50 }, (_, i) => event(T0 + i / 50)), T0 + 2);
    const text = await metrics.registry.metrics();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
    metrics.stop();
  });
});

describe('the Prometheus and Grafana examples', () => {
  const examples = path.join(__dirname, '..', 'examples');

  it('use only metrics wiretop exports', async () => {
    const { metrics } = setup();
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    metrics.stop();
    const texts = [fs.readFileSync(path.join(examples, 'prometheus', 'wiretop.rules.yml'), 'utf8'), fs.readFileSync(path.join(examples, 'grafana', 'wiretop.json'), 'utf8')];
    const dashboard = JSON.parse(texts[1]) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(8);
    // Metric names (not recording rules' `level:metric:operation` names), histograms by their base name.
    const used = new Set(texts.join('\n').match(/\bwiretop_[a-z_]+\b(?!:)/g)!.map((name) => name.replace(/_(bucket|sum|count)$/, '')));
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect([name, exported.has(name)]).toEqual([name, true]);
  });

  (spawnSync('promtool', ['--version']).status === 0 ? it : it.skip)('pass promtool check config and check rules', () => {
    const check = spawnSync('promtool', ['check', 'config', path.join(examples, 'prometheus', 'prometheus.yml')], { encoding: 'utf8' });
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(/SUCCESS: 7 rules found/);
  });
});
