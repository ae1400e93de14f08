/**
 * `--report` and `--report json`: statistics over the whole input, printed at its end —
 * totals, requests by method, status, section, host and user agent, top URIs, bytes, latency,
 * the alert history, and capture health.
 */
import type { AlertRecord } from '../alerts/monitor';
import { bytes as formatBytes, dateTime, displayWidth, duration, fit, isoTime, truncate } from '../format';
import { statusClasses } from '../stats/classify';
import { placesOf, visitorsOf, type VisitorRow } from '../stats/visitors';
import { networksEnabled } from '../stats/networks';
import type { UniqueVisitorsReport } from '../stats/uniqueVisitors';
import type { HeavyHitter } from '../stats/spaceSaving';
import type { TopModule, TopReportRow } from '../stats/topModule';
import type { RunView } from '../run/runState';
import { moduleRows, type StatModule } from '../stats/statModule';
import type { PluginFailure } from '../stats/store';
import type { CaptureStats } from '../types';
import type { WorkerLoad } from '../capture/shardMerger';
import { describeLossCounts, incompleteRequestShare, LOSS_ADVICE, packetLossShare, transactionLossShare, type Loss } from '../stats/loss';
import { table } from '../../widgets/text';
import type { Sink } from '../run/sink';
import type { SlowTransaction } from '../stats/slowest';
import type { TlsReport } from '../stats/tls';

/** A breakdown row as reported. */
export type ReportRow = TopReportRow;

/** The `--report json` document. */
export interface Report {
  source: string;
  /** The filter in effect (`--where`): every count is of the transactions it matched; null for all. */
  where: string | null;
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
  /** HTTP/1.0, HTTP/1.1, HTTP/2 and gRPC, with latency quantiles. */
  protocols: ReportRow[];
  statuses: ReportRow[];
  sections: ReportRow[];
  hosts: ReportRow[];
  userAgents: ReportRow[];
  /** Who is asking: requests and bytes by category (human, crawler, ai-crawler, tool, unknown), named bots and tools, browsers, OS, devices. */
  visitors: { unique: UniqueVisitorsReport['days']; categories: ReportRow[]; bots: Array<ReportRow & { category: string }>; browsers: ReportRow[]; systems: ReportRow[]; devices: ReportRow[] };
  /** With --processes: requests by the program on this host of their connection ('' none named), and how the naming went. */
  processes?: { rows: ReportRow[]; named: number; unknown: number; scans: number; unreadableProcesses: number; failure: string | null };
  /** Countries and networks of the clients (with --geoip; else absent). */
  networks?: { countries: ReportRow[]; networks: ReportRow[] };
  uris: ReportRow[];
  /** `METHOD /route`, with latency quantiles. */
  endpoints: ReportRow[];
  clients: ReportRow[];
  /** Per server, when several wiretops' streams were merged (else absent). */
  nodes?: ReportRow[];
  /** What each merged server's capture dropped, from its health lines. */
  nodeDrops?: Record<string, number>;
  /** The slowest transactions of the run, slowest first. */
  slowest: SlowTransaction[];
  /** TLS connections: counts, versions, top server names (counted apart from the requests). */
  tls: TlsReport;
  /** True when some breakdown counts are approximate (more distinct keys than tracked). */
  approximate: boolean;
  alerts: { history: AlertRecord[]; maxDurationSeconds: number | null; averageDurationSeconds: number | null };
  /** Reports of plug-in modules, by name. */
  plugins: Record<string, unknown>;
  capture: CaptureStats | null;
  /** A capture split among several workers: each one's load (absent with one). */
  workers?: WorkerLoad[];
  /** What alert notifications did (--on-alert, --webhook), when set up. */
  notifications: { sent: number; failed: number; dropped: number; failures: Array<{ time: string; rule: string; message: string }> } | null;
  /**
   * What the capture lost over the whole run: packets (kernel, interface) and transactions
   * (wiretop behind), the halves of transactions the parser saw, and the estimated share of
   * requests incomplete (null when no request was seen; see incompleteRequestShare).
   */
  loss: Loss & { packetLossShare: number; transactionLossShare: number; requestsIncompleteShare: number | null };
}

function rowsOf(module: TopModule, now: number, limit: number): { rows: ReportRow[]; approximate: boolean } {
  const report = module.report(now, limit);
  return { rows: report.top, approximate: report.approximate };
}

/** A plug-in's report, or what disabled it (a report that throws does not lose the others). */
function pluginReport(run: RunView, module: StatModule, now: number, limit: number): unknown {
  const failure = run.stats.failureOf(module.name);
  if (failure !== undefined) return { disabled: `failed in ${failure.method}(): ${failure.message}` };
  try {
    return module.report(now, limit);
  } catch (error) {
    return { disabled: `failed in report(): ${(error as Error).message}` };
  }
}

/** The visitors over the whole run, as report rows. */
function visitorsReport(view: { entries: HeavyHitter[]; total: number }, categories: readonly HeavyHitter[], limit: number): Omit<Report['visitors'], 'unique'> {
  const visitors = visitorsOf(view.entries, view.total, categories);
  const row = (r: VisitorRow): ReportRow => ({ key: r.key, hits: r.count, bytes: r.bytes, errors: 0 });
  return {
    categories: visitors.categories.map(row),
    bots: visitors.bots.slice(0, limit).map((r) => ({ ...row(r), category: r.category })),
    browsers: visitors.browsers.slice(0, limit).map(row),
    systems: visitors.systems.slice(0, limit).map(row),
    devices: visitors.devices.slice(0, limit).map(row),
  };
}

/** Countries and networks over the whole run, as report rows. */
function networksReport(view: { entries: HeavyHitter[]; total: number }, limit: number): NonNullable<Report['networks']> {
  const places = placesOf(view.entries, view.total);
  const row = (r: VisitorRow): ReportRow => ({ key: r.key, hits: r.count, bytes: r.bytes, errors: 0 });
  return { countries: places.countries.slice(0, limit).map(row), networks: places.networks.slice(0, limit).map(row) };
}

/** Builds the report of a run. */
export function buildReport(run: RunView): Report {
  const { stats, alerts: monitor, config } = run;
  const b = stats.builtins;
  const now = stats.lastClosed;
  const limit = config.max_top_hits;
  const requests = b.requests.report();
  const breakdowns = {
    methods: rowsOf(b.methods, now, limit),
    protocols: rowsOf(b.protocols, now, limit),
    statuses: rowsOf(b.statuses, now, 1000),
    sections: rowsOf(b.sections, now, limit),
    hosts: rowsOf(b.domains, now, limit),
    userAgents: rowsOf(b.userAgents, now, limit),
    uris: rowsOf(b.uris, now, limit),
    endpoints: rowsOf(b.endpoints, now, limit),
    clients: rowsOf(b.clients, now, limit),
  };
  const { classes, errorRate } = statusClasses(b.statuses.view('all', now).entries);
  const plugins: Record<string, unknown> = {};
  for (const module of run.stats.plugins) plugins[module.name] = pluginReport(run, module, now, limit);
  return {
    source: run.source,
    where: run.config.where,
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
    protocols: breakdowns.protocols.rows,
    statuses: breakdowns.statuses.rows.slice(0, limit),
    sections: breakdowns.sections.rows,
    hosts: breakdowns.hosts.rows,
    userAgents: breakdowns.userAgents.rows,
    visitors: { unique: b.uniqueVisitors.report().days, ...visitorsReport(b.agents.view('all', now), b.agentCategories.view('all', now).entries, limit) },
    ...(networksEnabled() ? { networks: networksReport(b.networks.view('all', now), limit) } : {}),
    ...(config.processes && run.processes !== null ? {
      processes: {
        rows: rowsOf(b.processes, now, limit).rows, named: run.processes.stats.named, unknown: run.processes.stats.unknown,
        scans: run.processes.stats.scans, unreadableProcesses: run.processes.stats.unreadable, failure: run.processes.stats.failure,
      },
    } : {}),
    uris: breakdowns.uris.rows,
    endpoints: breakdowns.endpoints.rows,
    clients: breakdowns.clients.rows,
    slowest: b.slowest.report(),
    tls: stats.tls.report(now, limit),
    ...(run.nodes !== null ? { nodes: rowsOf(b.nodes, now, 1000).rows, nodeDrops: Object.fromEntries(run.nodeDrops) } : {}),
    approximate: Object.values(breakdowns).some((x) => x.approximate),
    alerts: (() => { const s = monitor.summary(); return { history: s.alerts, maxDurationSeconds: s.maxDurationSeconds, averageDurationSeconds: s.averageDurationSeconds }; })(),
    plugins,
    capture: run.health.latest,
    ...(run.health.workers.length > 1 ? { workers: [...run.health.workers] } : {}),
    notifications: run.notifications === null ? null : { ...run.notifications.stats, failures: [...run.notifications.failures] },
    loss: lossReport(run.health.total()),
  };
}

function lossReport(loss: Loss): Report['loss'] {
  const round = (share: number) => Math.round(share * 1e6) / 1e6;
  const incomplete = incompleteRequestShare(loss);
  return {
    ...loss, packetLossShare: round(packetLossShare(loss)), transactionLossShare: round(transactionLossShare(loss)),
    requestsIncompleteShare: incomplete === null ? null : round(incomplete),
  };
}

/** The text form of a report. */
export function renderReportText(report: Report, pluginSections: string[][] = []): string {
  const lines: string[] = [];
  lines.push(`wiretop report: ${report.source}`);
  if (report.where !== null) lines.push(`  where       ${report.where} (only the transactions it matches are counted)`);
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
      const lat = latency && r.latencyMs ? `  p50 ${r.latencyMs.p50 ?? '-'} ms  p95 ${r.latencyMs.p95 ?? '-'} ms  p99 ${r.latencyMs.p99 ?? '-'} ms` : '';
      lines.push(`  ${key}  ${String(r.hits).padStart(9)}${approx}  ${formatBytes(r.bytes).padStart(10)}${lat}`);
    }
  };
  table('Methods', report.methods, false);
  table('Protocols', report.protocols, true);
  table('Status codes', report.statuses, false);
  table('Top sections', report.sections, true);
  table('Top hosts', report.hosts, true);
  table('Top user agents', report.userAgents, false);
  lines.push('', 'Unique visitors (client address and User-Agent, per UTC day):');
  if (report.visitors.unique.length === 0) lines.push('  (none)');
  for (const day of report.visitors.unique) lines.push(`  ${day.day}  ${String(day.visitors).padStart(9)}`);
  table('Visitors', report.visitors.categories, false);
  table('Bots and tools', report.visitors.bots.map((r) => ({ ...r, key: `${r.key} (${r.category})` })), false);
  table('Browsers', report.visitors.browsers, false);
  table('Operating systems', report.visitors.systems, false);
  table('Devices', report.visitors.devices, false);
  if (report.networks !== undefined) {
    table('Countries', report.networks.countries, false);
    table('Networks', report.networks.networks, false);
  }
  if (report.processes !== undefined) {
    const p = report.processes;
    table(`Processes (${p.named} transactions named, ${p.unknown} of this host not seen by a scan; ${p.scans} scans)`, p.rows.map((r) => ({ ...r, key: r.key === '' ? '(none named)' : r.key })), true);
  }
  table('Top URIs', report.uris, false);
  table('Top endpoints', report.endpoints, true);
  table('Top clients', report.clients, false);
  if (report.nodes !== undefined) table('Nodes', report.nodes, true);
  lines.push('');
  lines.push(`Slowest requests:`);
  if (report.slowest.length === 0) lines.push('  (none)');
  for (const t of report.slowest) {
    lines.push(`  ${isoTime(t.ts)}  ${`${t.latencyMs} ms`.padStart(10)}  ${String(t.status ?? 'none').padEnd(4)}  ${t.client.padEnd(15)}  ${t.method} ${t.host}${truncate(t.uri, 80)}`);
  }
  const tls = report.tls;
  if (tls.connections > 0) {
    lines.push('');
    const decrypted = tls.decrypted > 0 ? `, ${tls.decrypted} decrypted (${tls.decryptedRequests} requests)` : '';
    lines.push(`TLS connections: ${tls.connections}${decrypted}, HTTP/2 ${tls.http2}, ${formatBytes(tls.bytes)}`);
    lines.push(`  versions    ${tls.versions.map((v) => `${v.version} ${v.connections}`).join('  ')}`);
    const width = Math.min(60, Math.max(11, ...tls.serverNames.map((n) => displayWidth(n.serverName))));
    for (const n of tls.serverNames) {
      const handshake = n.handshakeMs.p50 !== null ? `  handshake p50 ${n.handshakeMs.p50} ms` : '';
      lines.push(`  ${fit(n.serverName, width)}  ${String(n.connections).padStart(9)}  ${formatBytes(n.bytes).padStart(10)}  ${n.version.padEnd(7)}  ${(n.alpn || '-').padEnd(8)}${handshake}`);
    }
  }
  if (report.approximate) lines.push('', '(±N: more distinct keys than tracked; a count may be over by up to N)');
  lines.push('');
  const alerts = report.alerts;
  const { maxDurationSeconds: longest, averageDurationSeconds: average } = alerts;
  lines.push(`Alerts: ${alerts.history.length}${longest !== null && average !== null ? `, longest ${duration(longest)}, average ${duration(average)}` : ''}`);
  for (const a of alerts.history) {
    const value = (v: number) => (a.unit === 'hits' ? `${v} hits` : a.unit === '%' ? `${v.toFixed(1)}%` : `${Math.round(v)} ms`);
    const limit = a.unit === 'hits' ? `${Math.round(a.limit)}` : value(a.limit);
    lines.push(`  ${dateTime(a.start)} .. ${a.end === null ? 'still on' : dateTime(a.end)}  ${a.rule}: peak ${value(a.peak)} (limit ${limit})${a.durationSeconds !== null ? `  ${duration(a.durationSeconds)}` : ''}`);
  }
  const notified = report.notifications;
  if (notified !== null) {
    lines.push(`Notifications: ${notified.sent} sent, ${notified.failed} failed, ${notified.dropped} dropped (queue full)`);
    for (const failure of notified.failures) lines.push(`  ${failure.time}  ${failure.rule}: ${failure.message}`);
  }
  for (const section of pluginSections) lines.push('', ...section);
  const c = report.capture;
  if (c !== null) {
    lines.push('');
    lines.push('Capture:');
    const lost = describeLossCounts(report.loss);
    if (lost !== '') lines.push(`  WARNING: the capture lost ${lost}: the counts above are incomplete (${LOSS_ADVICE})`);
    lines.push(`  packets ${c.packets} (${formatBytes(c.bytes)}), decode errors ${c.decodeErrors}, bad timestamps ${c.badTimestamps}, not TCP ${c.nonTcp}, IP fragments ${c.fragments}`);
    lines.push(`  drops: kernel ${c.kernelDrops}, interface ${c.ifDrops}, reassembly ${c.reassemblyDrops}, flow table ${c.flowsDropped}, transactions ${c.eventsDropped}`);
    lines.push(`  connections ${c.flowsTotal} (expired idle ${c.flowsExpired}), TLS ${c.tlsFlows}, neither HTTP nor TLS ${c.nonHttpFlows}, upgraded to a protocol not read (WebSocket) ${c.upgradedFlows}`);
    if (c.h2Flows > 0) lines.push(`  HTTP/2: connections ${c.h2Flows}, header fields unknown (compressed before the capture began) ${c.h2UnknownFields}, header blocks unreadable ${c.h2HeaderErrors}, requests refused by GOAWAY ${c.h2Refused}`);
    if (c.tlsFlows > 0) lines.push(`  TLS: hellos unreadable ${c.tlsHelloErrors}, decrypted ${c.tlsDecrypted}, no key in the key log ${c.tlsNoKey}, records that did not decrypt ${c.tlsDecryptErrors}`);
    lines.push(`  gaps ${c.gaps} (${formatBytes(c.gapBytes)}), duplicate bytes ${c.duplicateBytes}, past the snapshot length ${formatBytes(c.uncapturedBytes)}, parse errors ${c.parseErrors}, heads over the buffer budget ${c.headBufferDrops}`);
    if (c.keysShortened > 0) lines.push(`  keys counted shortened (the statistics' share of memory_budget_mb spent on long keys) ${c.keysShortened}`);
    lines.push(`  unanswered requests ${c.unanswered}, responses without request ${c.orphanResponses}`);
    const workers = report.workers ?? [];
    if (workers.length > 1) {
      const packets = workers.reduce((sum, w) => sum + w.packets, 0);
      const shares = workers.map((w) => `${packets > 0 ? Math.round((100 * w.packets) / packets) : 0}%`).join(' / ');
      lines.push(`  workers ${workers.length}, packets per worker ${shares}`);
    }
  }
  return lines.join('\n') + '\n';
}

/**
 * A plug-in's section of the text report: its rows over everything kept, as a table (its JSON
 * report, when it has no rows to show).
 */
export function pluginSection(module: StatModule, now: number, limit: number, failure?: PluginFailure): string[] {
  if (failure !== undefined) return [`${module.name}:`, `  disabled: failed in ${failure.method}(): ${failure.message}`];
  const rows = moduleRows(module, 'all', now, limit);
  if (rows instanceof Error) return [`${module.name}:`, `  ${rows.message}`];
  const title = `${rows.title || module.name}${rows.approximate ? ' (approximate)' : ''}:`;
  if (rows.rows.length === 0) return [title, '  (none)'];
  const { header, lines } = table(rows.columns, rows.rows, REPORT_TABLE_WIDTH);
  return [title, `  ${header.trimEnd()}`, ...lines.map((line) => `  ${line.trimEnd()}`)];
}

/** Width of plug-in tables in the text report. */
const REPORT_TABLE_WIDTH = 100;

/** `--report`: prints once, at the end. */
export class ReportSink implements Sink {
  constructor(private readonly run: RunView, private readonly format: 'text' | 'json', private readonly write: (text: string) => void) {}

  onEvents(): void {}

  finish(): void {
    const report = buildReport(this.run);
    if (this.format === 'json') {
      this.write(JSON.stringify(report, null, 2) + '\n');
      return;
    }
    const { stats, config } = this.run;
    const sections = stats.plugins.map((module) => pluginSection(module, stats.lastClosed, config.max_top_hits, stats.failureOf(module.name)));
    this.write(renderReportText(report, sections));
  }
}
