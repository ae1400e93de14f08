/**
 * `--metrics [HOST:]PORT`: Prometheus metrics over HTTP at /metrics, beside any output (or
 * alone, as an exporter). Built on prom-client with a registry of its own: the metrics are
 * declared in metrics/definitions.ts, their label values bounded by metrics/labels.ts, served
 * by metrics/server.ts; this sink counts each batch into them.
 */
import { Registry } from 'prom-client';
import type { RunView } from '../run/runState';
import type { Sink } from '../run/sink';
import { grpcStatusName, isErrorEvent, processKeyOf, statusClass } from '../stats/classify';
import { agentOf } from '../stats/agents';
import { networkOf, networksEnabled, SPECIAL_RANGE_NAMES } from '../stats/networks';
import type { HttpEvent, TlsConnection } from '../types';
import { registerMetrics, type RequestLabel, type TrafficMetrics } from './metrics/definitions';
import { alpnLabel, LabelLimiter, methodLabel, protocolLabel, tlsVersionLabel } from './metrics/labels';
import { MetricsServer } from './metrics/server';

export { parseListen } from './metrics/server';

/** One label set's share of a batch. */
interface Group {
  labels: Record<RequestLabel, string>;
  requests: number;
  errors: number;
  requestBytes: number;
  responseBytes: number;
  latencies: number[];
}

/** A gRPC status as a label: its name when it is one of the 17 codes, `none` when none came, else `other`. */
function grpcCodeLabel(code: number | null): string {
  if (code === null) return 'none';
  return code <= 16 ? grpcStatusName(code) : 'other';
}

/** The metrics of a run, and the server that serves them. */
export class MetricsSink implements Sink {
  readonly registry = new Registry();
  readonly hosts: LabelLimiter;
  readonly sections: LabelLimiter;
  /** Programs (--processes), admitted as hosts are. */
  readonly processes: LabelLimiter;
  private readonly metrics: TrafficMetrics;
  private server: MetricsServer | null = null;
  private readonly unsubscribe: () => void;

  constructor(private readonly run: RunView, topK: number) {
    this.hosts = new LabelLimiter(topK);
    this.sections = new LabelLimiter(topK);
    this.processes = new LabelLimiter(topK);
    this.metrics = registerMetrics(this.registry, run);
    // Admission follows the statistics: each closed second, the busiest hosts and sections.
    this.unsubscribe = run.onSecond((second) => this.admit(second));
  }

  /** Starts serving /metrics; resolves once listening, rejects with a one-line reason. */
  listen(host: string, port: number): Promise<void> {
    this.server = new MetricsServer(this.registry);
    return this.server.listen(host, port);
  }

  onEvents(events: readonly HttpEvent[]): void {
    // A batch has few distinct label sets: counts are summed per set first, then given to
    // prom-client once per set (its per-call label hashing was most of the cost per transaction).
    const groups = new Map<string, Group>();
    const categories = new Map<string, number>();
    const countries = new Map<string, number>();
    const places = networksEnabled();
    const programs = this.run.processes !== null ? new Map<string, number>() : null;
    for (const e of events) {
      if (programs !== null) {
        const key = processKeyOf(e);
        const label = key === '' ? 'none' : this.processes.label(key);
        programs.set(label, (programs.get(label) ?? 0) + 1);
      }
      const category = agentOf(e.ua).category;
      categories.set(category, (categories.get(category) ?? 0) + 1);
      if (places) {
        // An ISO code is two capital letters; anything else a database says is `unknown` (the label stays bounded).
        const country = networkOf(e.client).country;
        const label = /^[A-Z]{2}$/.test(country) || SPECIAL_RANGE_NAMES.has(country) ? country : 'unknown';
        countries.set(label, (countries.get(label) ?? 0) + 1);
      }
      const host = this.hosts.label(e.host);
      const section = this.sections.label(e.section);
      const method = methodLabel(e.method);
      const statusClassLabel = statusClass(e.status);
      const protocol = protocolLabel(e.version);
      const key = `${host}\u0000${section}\u0000${method}\u0000${statusClassLabel}\u0000${protocol}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = { labels: { host, section, method, status_class: statusClassLabel, protocol }, requests: 0, errors: 0, requestBytes: 0, responseBytes: 0, latencies: [] };
        groups.set(key, group);
      }
      group.requests++;
      if (isErrorEvent(e)) group.errors++;
      if (e.latencyMs !== null) group.latencies.push(e.latencyMs / 1000);
      group.requestBytes += e.reqBytes;
      group.responseBytes += e.respBytes;
      if (e.grpcMethod !== undefined) this.metrics.grpcCalls.inc({ code: grpcCodeLabel(e.grpcStatus ?? null) });
    }
    const m = this.metrics;
    for (const [category, count] of categories) m.agents.inc({ category }, count);
    for (const [country, count] of countries) m.countries.inc({ country }, count);
    if (programs !== null) for (const [process, count] of programs) m.processes.inc({ process }, count);
    for (const group of groups.values()) {
      const { host, section } = group.labels;
      const place = { host, section };
      m.requests.inc(group.labels, group.requests);
      if (group.errors > 0) m.errors.inc(place, group.errors);
      if (group.requestBytes > 0) m.requestBytes.inc(place, group.requestBytes);
      if (group.responseBytes > 0) m.responseBytes.inc(place, group.responseBytes);
      if (group.latencies.length > 0) {
        const observe = m.duration.labels(place);
        for (const seconds of group.latencies) observe.observe(seconds);
      }
    }
  }

  /** TLS connections that ended. Labels are bounded: known versions and protocols, else `other`. */
  onTls(connections: readonly TlsConnection[]): void {
    const m = this.metrics;
    for (const c of connections) {
      m.tlsConnections.inc({ version: tlsVersionLabel(c.version), alpn: alpnLabel(c.alpn) });
      m.tlsBytes.inc({ direction: 'to_server' }, c.bytesToServer);
      m.tlsBytes.inc({ direction: 'to_client' }, c.bytesToClient);
      if (c.handshakeMs !== null) m.tlsHandshake.observe(c.handshakeMs / 1000);
    }
  }

  private admit(second: number): void {
    // Once both are full, nothing more is admitted: no need to ask the statistics every second.
    const b = this.run.stats.builtins;
    if (this.run.processes !== null && !this.processes.full) this.processes.admit(b.processes.top('all', second, this.processes.limit * 2).filter((e) => e.key !== ''));
    if (this.hosts.full && this.sections.full) return;
    this.hosts.admit(b.domains.top('all', second, this.hosts.limit * 2).map((e) => ({ key: e.key, count: e.count })));
    this.sections.admit(b.sections.top('all', second, this.sections.limit * 2).map((e) => ({ key: e.key, count: e.count })));
  }

  finish(): void {}

  /** Stops serving. */
  stop(): void {
    this.unsubscribe();
    this.server?.close();
  }
}

/** `primary` with the metrics beside it: every batch goes to both; the rest is the primary's. */
export function withMetrics(primary: Sink, metrics: MetricsSink): Sink {
  return {
    interactive: primary.interactive,
    onEvents(events) {
      metrics.onEvents(events);
      primary.onEvents(events);
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
