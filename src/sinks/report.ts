/**
 * `--report` and `--report json`: statistics over the whole input, printed at its end —
 * totals, requests by method, status, section, host and user agent, top URIs, bytes, latency,
 * the alert history, and capture health.
 */
import type { AlertRecord } from '../alerts/monitor';
import { bytes as formatBytes, dateTime, displayWidth, duration, fit, isoTime } from '../format';
import { statusClasses, type TopModule } from '../stats/modules';
import type { Session } from '../session';
import type { CaptureStats } from '../types';
import { describeLossCounts, LOSS_ADVICE, packetLossShare, transactionLossShare, type Loss } from '../run/captureHealth';
import type { Sink } from './sink';

/** A breakdown row as reported. */
export interface ReportRow {
  key: string;
  hits: number;
  bytes: number;
  errors: number;
  /** Present when the count may be over by up to this much. */
  error?: number;
  latencyMs?: { p50: number | null; p95: number | null; p99: number | null };
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
  bytes: number;
  statusClasses: Record<string, number>;
  errorRate: number | null;
  methods: ReportRow[];
  statuses: ReportRow[];
  sections: ReportRow[];
  hosts: ReportRow[];
  userAgents: ReportRow[];
  uris: ReportRow[];
  /** True when some breakdown counts are approximate (more distinct keys than tracked). */
  approximate: boolean;
  alerts: { history: AlertRecord[]; maxDurationSeconds: number | null; averageDurationSeconds: number | null };
  /** Reports of plug-in modules, by name. */
  plugins: Record<string, unknown>;
  capture: CaptureStats | null;
  /** What the capture lost over the whole run: packets (kernel, interface) and transactions (wiretop behind). */
  loss: { packets: number; packetsLost: number; packetLossShare: number; transactions: number; transactionsLost: number; transactionLossShare: number };
}

function rowsOf(module: TopModule, now: number, limit: number): { rows: ReportRow[]; approximate: boolean } {
  const report = module.report(now, limit) as { approximate: boolean; top: ReportRow[] };
  return { rows: report.top, approximate: report.approximate };
}

/** Builds the report from a session. */
export function buildReport(session: Session): Report {
  const { store, monitor, config } = session;
  const b = store.builtins;
  const now = store.lastClosed;
  const limit = config.max_top_hits;
  const requests = b.requests.report() as { requests: number; firstTs: number | null; lastTs: number | null; durationSeconds: number; requestsPerSecond: number; bytes: number };
  const breakdowns = {
    methods: rowsOf(b.methods, now, limit),
    statuses: rowsOf(b.statuses, now, 1000),
    sections: rowsOf(b.sections, now, limit),
    hosts: rowsOf(b.domains, now, limit),
    userAgents: rowsOf(b.userAgents, now, limit),
    uris: rowsOf(b.uris, now, limit),
  };
  const { classes, errorRate } = statusClasses(b.statuses.view('all', now).entries);
  const builtins = new Set<unknown>(Object.values(b));
  const plugins: Record<string, unknown> = {};
  for (const module of store.modules) if (!builtins.has(module)) plugins[module.name] = module.report(now, limit);
  return {
    source: session.source,
    firstTs: requests.firstTs,
    lastTs: requests.lastTs,
    durationSeconds: requests.durationSeconds,
    requests: requests.requests,
    requestsPerSecond: requests.requestsPerSecond,
    answered: requests.requests - classes.none,
    bytes: requests.bytes,
    statusClasses: classes,
    errorRate: errorRate === null ? null : Math.round(errorRate * 10000) / 10000,
    methods: breakdowns.methods.rows,
    statuses: breakdowns.statuses.rows.slice(0, limit),
    sections: breakdowns.sections.rows,
    hosts: breakdowns.hosts.rows,
    userAgents: breakdowns.userAgents.rows,
    uris: breakdowns.uris.rows,
    approximate: Object.values(breakdowns).some((x) => x.approximate),
    alerts: (() => { const s = monitor.summary(); return { history: s.alerts, maxDurationSeconds: s.maxDurationSeconds, averageDurationSeconds: s.averageDurationSeconds }; })(),
    plugins,
    capture: session.captureStats,
    loss: lossReport(session.health.total()),
  };
}

function lossReport(loss: Loss): Report['loss'] {
  const round = (share: number) => Math.round(share * 1e6) / 1e6;
  return { ...loss, packetLossShare: round(packetLossShare(loss)), transactionLossShare: round(transactionLossShare(loss)) };
}

/** The text form of a report. */
export function renderReportText(report: Report): string {
  const lines: string[] = [];
  lines.push(`wiretop report: ${report.source}`);
  lines.push(`  time        ${isoTime(report.firstTs)} .. ${isoTime(report.lastTs)} (${report.durationSeconds} s)`);
  lines.push(`  requests    ${report.requests} (${report.requestsPerSecond} req/s), ${report.answered} answered`);
  lines.push(`  bytes       ${formatBytes(report.bytes)} in request and response bodies`);
  const classes = Object.entries(report.statusClasses).map(([k, v]) => `${k} ${v}`).join('  ');
  lines.push(`  status      ${classes}${report.errorRate !== null ? `  (errors ${(100 * report.errorRate).toFixed(2)}%)` : ''}`);
  const table = (title: string, rows: ReportRow[], latency: boolean) => {
    lines.push('');
    lines.push(`${title}:`);
    if (rows.length === 0) lines.push('  (none)');
    const width = Math.min(60, Math.max(8, ...rows.map((r) => displayWidth(r.key))));
    for (const r of rows) {
      const key = fit(r.key, width);
      const approx = r.error !== undefined ? ` (±${r.error})` : '';
      const lat = latency && r.latencyMs ? `  p50 ${r.latencyMs.p50 ?? '-'} ms  p95 ${r.latencyMs.p95 ?? '-'} ms` : '';
      lines.push(`  ${key}  ${String(r.hits).padStart(9)}${approx}  ${formatBytes(r.bytes).padStart(10)}${lat}`);
    }
  };
  table('Methods', report.methods, false);
  table('Status codes', report.statuses, false);
  table('Top sections', report.sections, true);
  table('Top hosts', report.hosts, true);
  table('Top user agents', report.userAgents, false);
  table('Top URIs', report.uris, true);
  if (report.approximate) lines.push('', '(±N: more distinct keys than tracked; a count may be over by up to N)');
  lines.push('');
  const alerts = report.alerts;
  lines.push(`Alerts: ${alerts.history.length}${alerts.maxDurationSeconds !== null ? `, longest ${duration(alerts.maxDurationSeconds)}, average ${duration(alerts.averageDurationSeconds!)}` : ''}`);
  for (const a of alerts.history) {
    lines.push(`  ${dateTime(a.start)} .. ${a.end === null ? 'still on' : dateTime(a.end)}  peak ${a.peak} hits (limit ${Math.round(a.limit)})${a.durationSeconds !== null ? `  ${duration(a.durationSeconds)}` : ''}`);
  }
  for (const [name, value] of Object.entries(report.plugins)) {
    lines.push('', `Plug-in ${name}:`, `  ${JSON.stringify(value)}`);
  }
  const c = report.capture;
  if (c !== null) {
    lines.push('');
    lines.push('Capture:');
    const lost = describeLossCounts(report.loss);
    if (lost !== '') lines.push(`  WARNING: the capture lost ${lost}: the counts above are incomplete (${LOSS_ADVICE})`);
    lines.push(`  packets ${c.packets} (${formatBytes(c.bytes)}), decode errors ${c.decodeErrors}, not TCP ${c.nonTcp}, IP fragments ${c.fragments}`);
    lines.push(`  drops: kernel ${c.kernelDrops}, interface ${c.ifDrops}, reassembly ${c.reassemblyDrops}, flow table ${c.flowsDropped}, transactions ${c.eventsDropped}`);
    lines.push(`  connections ${c.flowsTotal} (expired idle ${c.flowsExpired}), not HTTP ${c.nonHttpFlows}`);
    lines.push(`  gaps ${c.gaps} (${formatBytes(c.gapBytes)}), duplicate bytes ${c.duplicateBytes}, past the snapshot length ${formatBytes(c.uncapturedBytes)}, parse errors ${c.parseErrors}`);
    lines.push(`  unanswered requests ${c.unanswered}, responses without request ${c.orphanResponses}`);
  }
  return lines.join('\n') + '\n';
}

/** `--report`: prints once, at the end. */
export class ReportSink implements Sink {
  constructor(private readonly session: Session, private readonly format: 'text' | 'json', private readonly write: (text: string) => void) {}

  onEvents(): void {}

  finish(): void {
    const report = buildReport(this.session);
    this.write(this.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderReportText(report));
  }
}
