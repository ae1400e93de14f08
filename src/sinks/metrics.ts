/**
 * `--metrics [HOST:]PORT`: Prometheus metrics over HTTP at /metrics, beside any output (or
 * alone, as an exporter). Built on prom-client with a registry of its own.
 *
 * Label cardinality is bounded: only `metrics_top_k` hosts and sections keep their own label
 * values — the busiest, admitted from the statistics' top-N once they have had
 * `ADMIT_MIN_REQUESTS` requests — and the rest count as `other`. A value once admitted keeps
 * its series for the run, so series do not churn from scrape to scrape, and a flood of
 * distinct Host headers adds nothing but `other`.
 */
import * as http from 'http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunView } from '../run/runState';
import { isErrorEvent } from '../stats/classify';
import type { HttpEvent, TlsConnection } from '../types';
import type { Sink } from '../run/sink';

/** Requests a host or section needs before it may have its own label value. */
const ADMIT_MIN_REQUESTS = 10;

/** The label value of everything not admitted. */
export const OTHER = 'other';

/** Latency buckets, seconds: 1 ms to 10 s. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Label values one dimension may have, at most; admitted ones stay. */
export class LabelLimiter {
  private readonly admitted = new Set<string>();

  constructor(readonly limit: number) {}

  /** The label value for `value`: itself once admitted, else `other`. */
  label(value: string): string {
    return this.admitted.has(value) ? value : OTHER;
  }

  /** Admits the busiest candidates (largest first) while there is room. */
  admit(candidates: ReadonlyArray<{ key: string; count: number }>): void {
    for (const { key, count } of candidates) {
      if (this.admitted.size >= this.limit) return;
      if (count >= ADMIT_MIN_REQUESTS && key !== OTHER) this.admitted.add(key);
    }
  }

  get size(): number {
    return this.admitted.size;
  }
}

/** Where the exporter listens: `9464` (127.0.0.1), `0.0.0.0:9464`, `[::1]:9464`. */
export function parseListen(text: string): { host: string; port: number } | null {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(text.trim());
  if (match === null) return null;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return null;
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/** Status classes as labels: `2xx`... and `none` for unanswered requests. */
function statusClass(status: number | null): string {
  return status === null ? 'none' : `${Math.floor(status / 100)}xx`;
}

/** One label set's share of a batch. */
interface Group {
  labels: { host: string; section: string; method: string; status_class: string };
  requests: number;
  errors: number;
  requestBytes: number;
  responseBytes: number;
  latencies: number[];
}

/** The alert states as numbers, for the state gauge. */
const STATE_VALUES = { LEARNING: 0, NORMAL: 1, ALERT: 2, RECOVERED: 3 } as const;

/** The metrics of a run, and the server that serves them. */
export class MetricsSink implements Sink {
  readonly registry = new Registry();
  readonly hosts: LabelLimiter;
  readonly sections: LabelLimiter;
  private readonly requests: Counter<'host' | 'section' | 'method' | 'status_class'>;
  private readonly duration: Histogram<'host' | 'section'>;
  private readonly responseBytes: Counter<'host' | 'section'>;
  private readonly requestBytes: Counter<'host' | 'section'>;
  private readonly errors: Counter<'host' | 'section'>;
  private readonly tlsConnections: Counter<'version' | 'alpn'>;
  private readonly tlsBytes: Counter<'direction'>;
  private readonly tlsHandshake: Histogram;
  private server: http.Server | null = null;
  private readonly unsubscribe: () => void;

  constructor(private readonly run: RunView, topK: number) {
    this.hosts = new LabelLimiter(topK);
    this.sections = new LabelLimiter(topK);
    const registers = [this.registry];
    this.requests = new Counter({ name: 'wiretop_http_requests_total', help: 'HTTP requests seen on the wire.', labelNames: ['host', 'section', 'method', 'status_class'], registers });
    this.errors = new Counter({ name: 'wiretop_http_request_errors_total', help: 'HTTP requests that failed: 5xx responses and requests never answered.', labelNames: ['host', 'section'], registers });
    this.duration = new Histogram({
      name: 'wiretop_http_request_duration_seconds', help: 'Time from the request to the first byte of its response.',
      labelNames: ['host', 'section'], buckets: DURATION_BUCKETS, registers,
    });
    this.requestBytes = new Counter({ name: 'wiretop_http_request_body_bytes_total', help: 'Bytes of request bodies.', labelNames: ['host', 'section'], registers });
    this.responseBytes = new Counter({ name: 'wiretop_http_response_body_bytes_total', help: 'Bytes of response bodies.', labelNames: ['host', 'section'], registers });
    this.tlsConnections = new Counter({ name: 'wiretop_tls_connections_total', help: 'TLS connections seen (counted when they end), by version and ALPN protocol chosen.', labelNames: ['version', 'alpn'], registers });
    this.tlsBytes = new Counter({ name: 'wiretop_tls_bytes_total', help: 'Bytes of TLS connections, to the server and to the client.', labelNames: ['direction'], registers });
    this.tlsHandshake = new Histogram({ name: 'wiretop_tls_handshake_duration_seconds', help: 'Time from the ClientHello to the first byte of the server\'s answer.', buckets: DURATION_BUCKETS, registers });
    this.captureMetrics(registers);
    this.alertMetrics(registers);
    collectDefaultMetrics({ register: this.registry });
    // prom-client's gauges of active handles, requests and resources end in _total, which the
    // naming conventions keep for counters (promtool check metrics fails on them).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    // Admission follows the statistics: each closed second, the busiest hosts and sections.
    this.unsubscribe = run.onSecond((second) => this.admit(second));
  }

  /** Starts serving /metrics; resolves once listening, rejects with a one-line reason. */
  listen(host: string, port: number): Promise<void> {
    this.server = http.createServer((request, response) => {
      if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('wiretop serves /metrics\n');
        return;
      }
      this.registry.metrics().then((text) => {
        response.writeHead(200, { 'Content-Type': this.registry.contentType }).end(text);
      }, (error: Error) => {
        response.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${error.message}\n`);
      });
    });
    const server = this.server;
    return new Promise((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`--metrics ${host}:${port}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}`)));
      server.listen(port, host, () => resolve());
    });
  }

  onEvents(events: readonly HttpEvent[]): void {
    // A batch has few distinct label sets: counts are summed per set first, then given to
    // prom-client once per set (its per-call label hashing was most of the cost per transaction).
    const groups = new Map<string, Group>();
    for (const e of events) {
      const host = this.hosts.label(e.host);
      const section = this.sections.label(e.section);
      const method = methodLabel(e.method);
      const statusClassLabel = statusClass(e.status);
      const key = `${host}\u0000${section}\u0000${method}\u0000${statusClassLabel}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = { labels: { host, section, method, status_class: statusClassLabel }, requests: 0, errors: 0, requestBytes: 0, responseBytes: 0, latencies: [] };
        groups.set(key, group);
      }
      group.requests++;
      if (isErrorEvent(e)) group.errors++;
      if (e.latencyMs !== null) group.latencies.push(e.latencyMs / 1000);
      group.requestBytes += e.reqBytes;
      group.responseBytes += e.respBytes;
    }
    for (const group of groups.values()) {
      const { host, section } = group.labels;
      const place = { host, section };
      this.requests.inc(group.labels, group.requests);
      if (group.errors > 0) this.errors.inc(place, group.errors);
      if (group.requestBytes > 0) this.requestBytes.inc(place, group.requestBytes);
      if (group.responseBytes > 0) this.responseBytes.inc(place, group.responseBytes);
      if (group.latencies.length > 0) {
        const observe = this.duration.labels(place);
        for (const seconds of group.latencies) observe.observe(seconds);
      }
    }
  }

  /** TLS connections that ended. Labels are bounded: known versions and protocols, else `other`. */
  onTls(connections: readonly TlsConnection[]): void {
    for (const c of connections) {
      this.tlsConnections.inc({ version: TLS_VERSIONS.has(c.version) ? c.version : c.version === '' ? 'unknown' : OTHER, alpn: ALPN.has(c.alpn) ? c.alpn : c.alpn === '' ? 'none' : OTHER });
      this.tlsBytes.inc({ direction: 'to_server' }, c.bytesToServer);
      this.tlsBytes.inc({ direction: 'to_client' }, c.bytesToClient);
      if (c.handshakeMs !== null) this.tlsHandshake.observe(c.handshakeMs / 1000);
    }
  }

  private admit(second: number): void {
    // Once both are full, nothing more is admitted: no need to ask the statistics every second.
    if (this.hosts.size >= this.hosts.limit && this.sections.size >= this.sections.limit) return;
    const b = this.run.stats.builtins;
    this.hosts.admit(b.domains.top('all', second, this.hosts.limit * 2).map((e) => ({ key: e.key, count: e.count })));
    this.sections.admit(b.sections.top('all', second, this.sections.limit * 2).map((e) => ({ key: e.key, count: e.count })));
  }

  /** Capture health, read at scrape time. */
  private captureMetrics(registers: Registry[]): void {
    const run = this.run;
    const counter = (name: string, help: string, read: (s: NonNullable<RunView['health']['latest']>) => number) => new Counter({
      name, help, registers,
      collect() {
        const latest = run.health.latest;
        // A counter only goes up: set it to the capture's running total.
        this.reset();
        if (latest !== null) this.inc(read(latest));
      },
    });
    counter('wiretop_capture_packets_total', 'Packets captured.', (s) => s.packets);
    counter('wiretop_capture_kernel_drops_total', 'Packets dropped by the kernel (libpcap ps_drop).', (s) => s.kernelDrops);
    counter('wiretop_capture_interface_drops_total', 'Packets dropped by the interface (libpcap ps_ifdrop).', (s) => s.ifDrops);
    counter('wiretop_capture_gaps_total', 'Holes in TCP streams skipped over.', (s) => s.gaps);
    counter('wiretop_capture_parse_errors_total', 'HTTP messages that could not be parsed.', (s) => s.parseErrors);
    counter('wiretop_capture_dropped_events_total', 'Transactions dropped because wiretop was behind.', (s) => s.eventsDropped);
    counter('wiretop_capture_decode_errors_total', 'Frames that could not be decoded.', (s) => s.decodeErrors);
    counter('wiretop_tls_decrypted_connections_total', 'TLS connections decrypted with the key log.', (s) => s.tlsDecrypted);
    counter('wiretop_tls_no_key_connections_total', 'TLS connections the key log had no secrets for.', (s) => s.tlsNoKey);
    counter('wiretop_tls_decrypt_errors_total', 'TLS records that did not decrypt.', (s) => s.tlsDecryptErrors);
    new Gauge({
      name: 'wiretop_capture_active_connections', help: 'TCP connections tracked now.', registers,
      collect() { this.set(run.health.latest?.flowsActive ?? 0); },
    });
  }

  /** The alert state of every rule, and the rate rule's learned baseline and limit. */
  private alertMetrics(registers: Registry[]): void {
    const alerts = this.run.alerts;
    new Gauge({
      name: 'wiretop_alert_state', help: 'Alert state per rule: 0 learning, 1 normal, 2 alert, 3 recovered.', labelNames: ['rule'], registers,
      collect() {
        this.set({ rule: 'High traffic' }, STATE_VALUES[alerts.stateName]);
        for (const rule of alerts.ruleStatuses()) this.set({ rule: rule.name }, STATE_VALUES[rule.state]);
      },
    });
    new Gauge({
      name: 'wiretop_alert_firing', help: 'Whether a rule is alerting now (1) or not (0).', labelNames: ['rule'], registers,
      collect() {
        this.set({ rule: 'High traffic' }, alerts.stateName === 'ALERT' ? 1 : 0);
        for (const rule of alerts.ruleStatuses()) this.set({ rule: rule.name }, rule.state === 'ALERT' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'wiretop_alert_baseline_requests', help: 'The learned number of requests per alert window (NaN while learning).', registers,
      collect() { this.set(alerts.baseline ?? Number.NaN); },
    });
    new Gauge({
      name: 'wiretop_alert_limit_requests', help: 'Requests per alert window above which the request-rate alert fires (NaN while learning).', registers,
      collect() { this.set(alerts.limit ?? Number.NaN); },
    });
    new Gauge({
      name: 'wiretop_alert_window_requests', help: 'Requests in the alert window as last evaluated.', registers,
      collect() { this.set(alerts.lastHits); },
    });
    new Gauge({
      name: 'wiretop_alert_window_seconds', help: 'Seconds in the request-rate alert window.', registers,
      collect() { this.set(alerts.config.windowSeconds); },
    });
  }

  finish(): void {}

  /** Stops serving. */
  stop(): void {
    this.unsubscribe();
    this.server?.closeAllConnections();
    this.server?.close();
  }
}

const TLS_VERSIONS = new Set(['TLS 1.3', 'TLS 1.2', 'TLS 1.1', 'TLS 1.0', 'SSL 3.0']);
const ALPN = new Set(['h2', 'http/1.1', 'http/1.0', 'h3']);

/** Methods as labels: the common ones as they are, anything else `other` (a method is any token on the wire). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
function methodLabel(method: string): string {
  return METHODS.has(method) ? method : OTHER;
}

/** `primary` with the metrics beside it: every batch goes to both; the rest is the primary's. */
export function withMetrics(primary: Sink, metrics: MetricsSink): Sink {
  return {
    interactive: primary.interactive,
    onEvents(events, encoded) {
      metrics.onEvents(events);
      primary.onEvents(events, encoded);
    },
    onTls(connections) {
      metrics.onTls(connections);
      primary.onTls?.(connections);
    },
    finish: () => primary.finish(),
    ...(primary.onCaptureStats !== undefined ? { onCaptureStats: () => primary.onCaptureStats!() } : {}),
    ...(primary.close !== undefined ? { close: () => primary.close!() } : {}),
  };
}

/** `--metrics` alone: an exporter, with no other output. */
export class NoOutputSink implements Sink {
  onEvents(): void {}
  finish(): void {}
}
