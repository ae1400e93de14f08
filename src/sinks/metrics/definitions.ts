/**
 * The metrics wiretop exports, by name, help text and labels, in the order a scrape lists
 * them: the HTTP and TLS counters the sink adds to, capture health and the alert state read
 * at scrape time, and the process's own. Names follow the Prometheus conventions
 * (`promtool check metrics`).
 */
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { RunView } from '../../run/runState';

/** Latency buckets, seconds: 1 ms to 10 s. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The alert states as numbers, for the state gauge. */
const STATE_VALUES = { LEARNING: 0, NORMAL: 1, ALERT: 2, RECOVERED: 3 } as const;

/** The labels of a request. */
export type RequestLabel = 'host' | 'section' | 'method' | 'status_class' | 'protocol';

/** What the sink counts into: the HTTP transactions and the TLS connections seen. */
export interface TrafficMetrics {
  requests: Counter<RequestLabel>;
  /** Requests by who asked: a category (five values), never the raw User-Agent. */
  agents: Counter<'category'>;
  /** Requests by the client's country (ISO codes and a few range names: bounded), with --geoip. */
  countries: Counter<'country'>;
  /** Requests by the program on this host of their connection (--processes): the busiest metrics_top_k, the rest `other`, none named `none`. */
  processes: Counter<'process'>;
  errors: Counter<'host' | 'section'>;
  duration: Histogram<'host' | 'section'>;
  requestBytes: Counter<'host' | 'section'>;
  responseBytes: Counter<'host' | 'section'>;
  grpcCalls: Counter<'code'>;
  tlsConnections: Counter<'version' | 'alpn'>;
  tlsBytes: Counter<'direction'>;
  tlsHandshake: Histogram;
}

/** Registers every metric of a run in `registry`; returns those the sink counts into. */
export function registerMetrics(registry: Registry, run: RunView): TrafficMetrics {
  const traffic = trafficMetrics([registry]);
  captureMetrics([registry], run);
  alertMetrics([registry], run);
  collectDefaultMetrics({ register: registry });
  // prom-client's gauges of active handles, requests and resources end in _total, which the
  // naming conventions keep for counters (promtool check metrics fails on them).
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  return traffic;
}

function trafficMetrics(registers: Registry[]): TrafficMetrics {
  return {
    requests: new Counter({ name: 'wiretop_http_requests_total', help: 'HTTP requests seen on the wire.', labelNames: ['host', 'section', 'method', 'status_class', 'protocol'], registers }),
    agents: new Counter({ name: 'wiretop_http_requests_by_agent_total', help: 'HTTP requests by who sent them: human (a browser), crawler, ai-crawler, tool (a library or command-line client) or unknown.', labelNames: ['category'], registers }),
    countries: new Counter({ name: 'wiretop_http_requests_by_country_total', help: 'HTTP requests by the client\'s country (ISO 3166 code; private, loopback and other ranges by name; unknown), with a --geoip database.', labelNames: ['country'], registers }),
    processes: new Counter({ name: 'wiretop_http_requests_by_process_total', help: 'HTTP requests by the program on this host their connection belongs to (command name, and container), with --processes; none: not named.', labelNames: ['process'], registers }),
    errors: new Counter({ name: 'wiretop_http_request_errors_total', help: 'HTTP requests that failed: 5xx responses, requests never answered, gRPC calls that did not end OK.', labelNames: ['host', 'section'], registers }),
    duration: new Histogram({
      name: 'wiretop_http_request_duration_seconds', help: 'Time from the request to the first byte of its response.',
      labelNames: ['host', 'section'], buckets: DURATION_BUCKETS, registers,
    }),
    requestBytes: new Counter({ name: 'wiretop_http_request_body_bytes_total', help: 'Bytes of request bodies.', labelNames: ['host', 'section'], registers }),
    responseBytes: new Counter({ name: 'wiretop_http_response_body_bytes_total', help: 'Bytes of response bodies.', labelNames: ['host', 'section'], registers }),
    grpcCalls: new Counter({ name: 'wiretop_grpc_calls_total', help: 'gRPC calls seen, by the grpc-status they ended with (its name; none when no status came).', labelNames: ['code'], registers }),
    tlsConnections: new Counter({ name: 'wiretop_tls_connections_total', help: 'TLS connections seen (counted when they end), by version and ALPN protocol chosen.', labelNames: ['version', 'alpn'], registers }),
    tlsBytes: new Counter({ name: 'wiretop_tls_bytes_total', help: 'Bytes of TLS connections, to the server and to the client.', labelNames: ['direction'], registers }),
    tlsHandshake: new Histogram({ name: 'wiretop_tls_handshake_duration_seconds', help: 'Time from the ClientHello to the first byte of the server\'s answer.', buckets: DURATION_BUCKETS, registers }),
  };
}

/** Capture health, read at scrape time. */
function captureMetrics(registers: Registry[], run: RunView): void {
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
  counter('wiretop_http2_connections_total', 'Connections read as HTTP/2 (h2c, or h2 decrypted from TLS).', (s) => s.h2Flows);
  counter('wiretop_http2_unknown_header_fields_total', 'HTTP/2 header fields compressed against table entries from before the capture began.', (s) => s.h2UnknownFields);
  counter('wiretop_http2_header_errors_total', 'HTTP/2 header blocks that could not be read.', (s) => s.h2HeaderErrors);
  counter('wiretop_tls_decrypted_connections_total', 'TLS connections decrypted with the key log.', (s) => s.tlsDecrypted);
  counter('wiretop_tls_no_key_connections_total', 'TLS connections the key log had no secrets for.', (s) => s.tlsNoKey);
  counter('wiretop_tls_decrypt_errors_total', 'TLS records that did not decrypt.', (s) => s.tlsDecryptErrors);
  new Counter({
    name: 'wiretop_capture_worker_packets_total', help: 'Packets captured by each capture worker (a capture split among several; see --workers).', labelNames: ['worker'], registers,
    collect() {
      this.reset();
      run.health.workers.forEach((w, i) => this.inc({ worker: String(i) }, w.packets));
    },
  });
  new Gauge({
    name: 'wiretop_capture_active_connections', help: 'TCP connections tracked now.', registers,
    collect() { this.set(run.health.latest?.flowsActive ?? 0); },
  });
}

/** The alert state of every rule, and the rate rule's learned baseline and limit. */
function alertMetrics(registers: Registry[], run: RunView): void {
  const alerts = run.alerts;
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
