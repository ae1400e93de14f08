/**
 * `--report` and `--report json`: statistics over the whole input, printed at its end —
 * totals, requests by method, status, section and host, bytes, and capture health.
 */
import type { CaptureStats, HttpEvent } from '../types';
import { SpaceSaving, type HeavyHitter } from '../stats/spaceSaving';
import type { Sink } from './sink';

/** Distinct keys tracked per breakdown; beyond it counts are approximate (Space-Saving). */
const TRACKED_KEYS = 2000;

/** A breakdown row as reported. */
export interface ReportRow {
  key: string;
  hits: number;
  bytes: number;
  /** Present when the count may be over by up to this much. */
  error?: number;
}

/** The `--report json` document. */
export interface Report {
  source: string;
  firstTs: number | null;
  lastTs: number | null;
  durationSeconds: number;
  requests: number;
  requestsPerSecond: number;
  answered: number;
  requestBytes: number;
  responseBytes: number;
  statusClasses: Record<string, number>;
  methods: ReportRow[];
  statuses: ReportRow[];
  sections: ReportRow[];
  hosts: ReportRow[];
  capture: CaptureStats | null;
}

/** Accumulates the report. */
export class ReportBuilder {
  private firstTs = Infinity;
  private lastTs = -Infinity;
  private requests = 0;
  private answered = 0;
  private requestBytes = 0;
  private responseBytes = 0;
  private readonly statusClasses: Record<string, number> = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 };
  private readonly methods = new SpaceSaving(TRACKED_KEYS);
  private readonly statuses = new SpaceSaving(TRACKED_KEYS);
  private readonly sections = new SpaceSaving(TRACKED_KEYS);
  private readonly hosts = new SpaceSaving(TRACKED_KEYS);
  private capture: CaptureStats | null = null;

  constructor(private readonly source: string, private readonly topN: number) {}

  add(event: HttpEvent): void {
    this.requests++;
    if (event.ts < this.firstTs) this.firstTs = event.ts;
    if (event.ts > this.lastTs) this.lastTs = event.ts;
    const bytes = event.reqBytes + event.respBytes;
    this.requestBytes += event.reqBytes;
    this.responseBytes += event.respBytes;
    this.methods.add(event.method, 1, bytes);
    if (event.status === null) {
      this.statusClasses.none++;
      this.statuses.add('none', 1, bytes);
    } else {
      this.answered++;
      const cls = `${Math.floor(event.status / 100)}xx`;
      if (cls in this.statusClasses) this.statusClasses[cls]++;
      this.statuses.add(String(event.status), 1, bytes);
    }
    this.sections.add(event.section, 1, bytes);
    this.hosts.add(event.host, 1, bytes);
  }

  setCapture(stats: CaptureStats): void {
    this.capture = stats;
  }

  build(): Report {
    const hasData = this.requests > 0;
    const duration = hasData ? this.lastTs - this.firstTs : 0;
    return {
      source: this.source,
      firstTs: hasData ? this.firstTs : null,
      lastTs: hasData ? this.lastTs : null,
      durationSeconds: round(duration, 3),
      requests: this.requests,
      requestsPerSecond: duration > 0 ? round(this.requests / duration, 2) : this.requests,
      answered: this.answered,
      requestBytes: this.requestBytes,
      responseBytes: this.responseBytes,
      statusClasses: this.statusClasses,
      methods: rows(this.methods, this.topN),
      statuses: rows(this.statuses, this.topN),
      sections: rows(this.sections, this.topN),
      hosts: rows(this.hosts, this.topN),
      capture: this.capture,
    };
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function rows(counter: SpaceSaving, n: number): ReportRow[] {
  return counter.top(n).map((h: HeavyHitter) => {
    const row: ReportRow = { key: h.key, hits: h.count, bytes: h.sum };
    if (h.error > 0) row.error = h.error;
    return row;
  });
}

/** Human-readable byte count. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function isoTime(ts: number | null): string {
  return ts === null ? '-' : new Date(ts * 1000).toISOString();
}

/** The text form of a report. */
export function renderReportText(report: Report): string {
  const lines: string[] = [];
  lines.push(`wiretop report: ${report.source}`);
  lines.push(`  time        ${isoTime(report.firstTs)} .. ${isoTime(report.lastTs)} (${report.durationSeconds} s)`);
  lines.push(`  requests    ${report.requests} (${report.requestsPerSecond} req/s), ${report.answered} answered`);
  lines.push(`  bytes       ${formatBytes(report.requestBytes)} sent in request bodies, ${formatBytes(report.responseBytes)} in response bodies`);
  const classes = Object.entries(report.statusClasses).map(([k, v]) => `${k} ${v}`).join('  ');
  lines.push(`  status      ${classes}`);
  const table = (title: string, rowsOf: ReportRow[]) => {
    lines.push('');
    lines.push(`${title}:`);
    if (rowsOf.length === 0) lines.push('  (none)');
    const width = Math.min(60, Math.max(8, ...rowsOf.map((r) => r.key.length)));
    for (const r of rowsOf) {
      const key = r.key.length > width ? `${r.key.slice(0, width - 1)}…` : r.key.padEnd(width);
      const approx = r.error !== undefined ? ` (±${r.error})` : '';
      lines.push(`  ${key}  ${String(r.hits).padStart(9)}${approx}  ${formatBytes(r.bytes).padStart(10)}`);
    }
  };
  table('Methods', report.methods);
  table('Status codes', report.statuses);
  table('Top sections', report.sections);
  table('Top hosts', report.hosts);
  const c = report.capture;
  if (c !== null) {
    lines.push('');
    lines.push('Capture:');
    lines.push(`  packets ${c.packets} (${formatBytes(c.bytes)}), decode errors ${c.decodeErrors}, not TCP ${c.nonTcp}, IP fragments ${c.fragments}`);
    lines.push(`  drops: kernel ${c.kernelDrops}, interface ${c.ifDrops}, reassembly ${c.reassemblyDrops}, flow table ${c.flowsDropped}`);
    lines.push(`  connections ${c.flowsTotal} (expired idle ${c.flowsExpired}), not HTTP ${c.nonHttpFlows}`);
    lines.push(`  gaps ${c.gaps} (${formatBytes(c.gapBytes)}), duplicate bytes ${c.duplicateBytes}, parse errors ${c.parseErrors}`);
    lines.push(`  unanswered requests ${c.unanswered}, responses without request ${c.orphanResponses}`);
  }
  return lines.join('\n') + '\n';
}

/** `--report`: collects everything, prints once at the end. */
export class ReportSink implements Sink {
  private readonly builder: ReportBuilder;

  constructor(source: string, topN: number, private readonly format: 'text' | 'json', private readonly write: (text: string) => void) {
    this.builder = new ReportBuilder(source, topN);
  }

  onEvents(events: HttpEvent[]): void {
    for (const event of events) this.builder.add(event);
  }

  onStats(stats: CaptureStats): void {
    this.builder.setCapture(stats);
  }

  finish(): void {
    const report = this.builder.build();
    this.write(this.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderReportText(report));
  }
}
