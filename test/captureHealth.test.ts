/**
 * Losses, honestly: the capture-health model, and what each output says when the kernel or
 * wiretop dropped packets or transactions (dashboard status bar, --text, --report, the alert
 * lines, the quit summary).
 */
import { defaultConfig, type Config } from '../src/config';
import { CaptureHealth } from '../src/run/captureHealth';
import { describeLossCounts, describeLossShare, incompleteRequestShare, lossOf } from '../src/stats/loss';
import { dashboardQuitLine, exporterEndLine, interfaceLabel, liveCaptureSummary } from '../src/run/endLines';
import { RunState } from '../src/run/runState';
import { buildReport, renderReportText } from '../src/sinks/report';
import { TextSink } from '../src/sinks/text';
import { TuiSink } from '../src/sinks/tui';
import { emptyCaptureStats, type CaptureStats, type HttpEvent } from '../src/types';
import { Dashboard } from '../widgets/dashboard';
import { fakeScreen } from './helpers/fakeScreen';
import { manualClock } from './helpers/manualClock';

const T0 = 1_700_000_000;

function stats(fields: Partial<CaptureStats>): CaptureStats {
  return { ...emptyCaptureStats(), ...fields };
}

function event(ts: number): HttpEvent {
  return { ts, src: '10.0.0.1', sport: 1, dst: '10.0.0.2', dport: 80, method: 'GET', host: 'h', uri: '/a', section: '/a', status: 200, reqBytes: 0, respBytes: 1, ua: 'u', latencyMs: 1, version: '1.1', route: '/', client: '10.0.0.1', uriTruncated: false, requestHeaders: '', responseHeaders: '' };
}

describe('capture health', () => {
  it('tells what was lost in any recent span of data time, and in all', () => {
    const health = new CaptureHealth(60);
    for (let s = 0; s <= 30; s++) {
      // 1,000 packets a second; the kernel drops 100 a second from second 20 on.
      health.update(stats({ packets: 1000 * s, kernelDrops: s > 20 ? 100 * (s - 20) : 0, events: 200 * s }), T0 + s);
    }
    expect(health.recent(5)).toEqual(lossOf({ packets: 5000, packetsLost: 500, transactions: 1000, requestsAnswered: 1000 }));
    expect(describeLossShare(health.recent(5))).toBe('9.1% of packets (est. 0% of requests incomplete)');
    expect(health.between(T0 + 5, T0 + 15).packetsLost).toBe(0);
    expect(describeLossShare(health.between(T0 + 5, T0 + 15))).toBe('');
    expect(health.total()).toEqual(lossOf({ packets: 30_000, packetsLost: 1000, transactions: 6000, requestsAnswered: 6000 }));
    expect(describeLossCounts(lossOf({ packets: 30_000, packetsLost: 1000, transactions: 6000, transactionsLost: 60 }))).toBe('1,000 packets (3.2%) and 60 transactions (1.0%)');
  });

  it('estimates the requests a packet loss made incomplete (request and response as two samples)', () => {
    // 100 transactions; 20% of requests and 30% of responses lost, independently: 56 complete,
    // 24 without response, 14 without request, and 6 lost whole that no counter sees.
    const loss = lossOf({ packets: 1000, packetsLost: 680, transactions: 80, requestsAnswered: 56, requestsUnanswered: 24, responsesOrphaned: 14 });
    expect(incompleteRequestShare(loss)).toBeCloseTo(44 / 100, 10);
    expect(describeLossShare(loss)).toBe('40% of packets (est. 44% of requests incomplete)');
    expect(describeLossCounts(loss)).toBe('680 packets (40%; est. 44% of requests incomplete)');
    // Only responses seen: every one is incomplete. Nothing seen: no estimate, and none said.
    expect(incompleteRequestShare(lossOf({ responsesOrphaned: 5 }))).toBe(1);
    expect(incompleteRequestShare(lossOf())).toBeNull();
    expect(describeLossShare(lossOf({ packets: 10, packetsLost: 10 }))).toBe('50% of packets');
    // No packet lost: unanswered requests are the traffic's own (timeouts), not said as a loss.
    expect(describeLossShare(lossOf({ packets: 10, requestsAnswered: 5, requestsUnanswered: 5 }))).toBe('');
    expect(describeLossShare(lossOf({ packets: 100, packetsLost: 1, requestsAnswered: 9, requestsUnanswered: 1, transactions: 10, transactionsLost: 1 })))
      .toBe('1.0% of packets (est. 10% of requests incomplete) and 10% of transactions');
  });

  it('counts requests without response (given up ones too) and responses without request over a span', () => {
    const health = new CaptureHealth(60);
    health.update(stats({ packets: 100, events: 10, unanswered: 1 }), T0);
    health.update(stats({ packets: 200, kernelDrops: 50, events: 30, unanswered: 4, pipelineDrops: 2, orphanResponses: 3 }), T0 + 5);
    expect(health.between(T0, T0 + 5)).toEqual(lossOf({ packets: 100, packetsLost: 50, transactions: 20, requestsAnswered: 15, requestsUnanswered: 5, responsesOrphaned: 3 }));
  });

  it('keeps each worker\'s load; the report shows it with several workers, the skew the busiest\'s share over the average', () => {
    const run = new RunState(defaultConfig(), 'test');
    run.ingest([event(T0)]);
    run.updateCapture(stats({ packets: 100, events: 1 }), T0 + 1);
    expect(run.health.workerSkew()).toBeNull();
    expect(buildReport(run).workers).toBeUndefined();
    expect(renderReportText(buildReport(run))).not.toMatch(/workers/);
    run.updateCapture(stats({ packets: 400, events: 1 }), T0 + 2, [
      { packets: 100, transactions: 0, kernelDrops: 0 }, { packets: 100, transactions: 0, kernelDrops: 0 },
      { packets: 100, transactions: 1, kernelDrops: 0 }, { packets: 100, transactions: 0, kernelDrops: 0 },
    ]);
    expect(run.health.workerSkew()).toBe(1);
    const report = buildReport(run);
    expect(report.workers).toHaveLength(4);
    expect(renderReportText(report)).toMatch(/ {2}workers 4, packets per worker 25% \/ 25% \/ 25% \/ 25%\n/);
  });

  it('keeps samples in bounded memory (one per second, for its span)', () => {
    const health = new CaptureHealth(10);
    for (let i = 0; i < 100_000; i++) health.update(stats({ packets: i }), T0 + i / 10);
    expect((health as unknown as { samples: unknown[] }).samples.length).toBeLessThanOrEqual(13);
    expect(health.recent(5).packets).toBeGreaterThanOrEqual(49);
  });
});

describe('every output says when its counts are incomplete', () => {
  const config: Config = { ...defaultConfig(), dashboard_bucket_size: 5, average_bucket_size: 10, average_learning_duration: 10, average_threshold: 50 };

  /**
   * Steady traffic with kernel drops in seconds 40..60, and a spike in 45..60; each second of
   * drops leaves 2 requests without response and 1 response without request.
   */
  function lossyRun(session: RunState): void {
    for (let s = 0; s < 80; s++) {
      const rate = s >= 45 && s < 60 ? 60 : 20;
      session.ingest(Array.from({ length: rate }, (_, i) => event(T0 + s + i / rate)));
      const drops = s < 40 ? 0 : Math.min(s, 60) - 40;
      session.updateCapture(stats({ packets: 100 * (s + 1), kernelDrops: 50 * drops, events: 20 * (s + 1), unanswered: 2 * drops, orphanResponses: drops }), T0 + s + 1);
      session.advanceTo(T0 + s + 1);
    }
  }

  it('the alert and recovery lines say the capture lost packets in their window', () => {
    const session = new RunState(config, 'lo');
    const lines: string[] = [];
    session.alerts.onNotice((n) => lines.push(n.message));
    lossyRun(session);
    const alert = lines.find((l) => l.startsWith('High traffic'));
    expect(alert).toMatch(/\[counts incomplete: the capture lost \d+(\.\d)?% of packets \(est\. \d+(\.\d)?% of requests incomplete\) in this window\]$/);
    expect(lines.find((l) => l.startsWith('Traffic recovered'))).toMatch(/counts incomplete/);
    expect(session.alerts.history[0].incomplete).toMatch(/of packets/);
  });

  it('an alert with nothing lost has no such note', () => {
    const session = new RunState(config, 'lo');
    const lines: string[] = [];
    session.alerts.onNotice((n) => lines.push(n.message));
    for (let s = 0; s < 40; s++) {
      const rate = s >= 20 && s < 30 ? 60 : 20;
      session.ingest(Array.from({ length: rate }, (_, i) => event(T0 + s + i / rate)));
      session.updateCapture(stats({ packets: 100 * (s + 1) }), T0 + s + 1);
      session.advanceTo(T0 + s + 1);
    }
    expect(lines.find((l) => l.startsWith('High traffic'))).not.toMatch(/incomplete/);
  });

  it('--text prints a warning in the summaries of the periods that lost packets, and only those', () => {
    const session = new RunState(config, 'lo');
    let out = '';
    const sink = new TextSink(session, (text) => { out += text; });
    lossyRun(session);
    sink.finish();
    const summaries = out.split('\n').filter((l) => /^\d{4}-/.test(l)).length;
    const warnings = out.split('\n').filter((l) => l.includes('WARNING: the capture lost'));
    expect(warnings.length).toBeGreaterThanOrEqual(3);
    expect(warnings.length).toBeLessThan(summaries);
    expect(warnings[0]).toMatch(/lost [\d,]+ packets \(\d+(\.\d)?%; est\. \d+(\.\d)?% of requests incomplete\) in these 5s: counts are incomplete/);
  });

  it('--report carries the totals, in JSON and in text', () => {
    const session = new RunState(config, 'lo');
    lossyRun(session);
    const report = buildReport(session);
    expect(report.loss).toMatchObject({ packets: 8000, packetsLost: 1000, transactionsLost: 0 });
    expect(report.loss.packetLossShare).toBeCloseTo(1000 / 9000, 5);
    // 1,600 transactions, 40 of them unanswered, and 20 orphan responses: 1 − 1560² / (1600 × 1580).
    expect(report.loss).toMatchObject({ requestsAnswered: 1560, requestsUnanswered: 40, responsesOrphaned: 20 });
    expect(report.loss.requestsIncompleteShare).toBeCloseTo(1 - (1560 * 1560) / (1600 * 1580), 5);
    expect(renderReportText(report)).toContain('WARNING: the capture lost 1,000 packets (11%; est. 3.7% of requests incomplete)');
  });

  it('the headless live summary and the dashboard quit line name the losses', () => {
    const session = new RunState(config, 'lo');
    lossyRun(session);
    expect(liveCaptureSummary(session, 'lo')).toMatch(/^wiretop: 1600 transactions in 8000 packets from lo; dropped: 1000 packets by the kernel, 0 by the interface, 0 transactions by wiretop\. WARNING: the capture lost 1,000 packets/);
    const clean = new RunState(config, 'lo');
    clean.updateCapture(stats({ packets: 10, events: 2 }), T0);
    expect(liveCaptureSummary(clean, 'lo')).not.toMatch(/WARNING/);
    const screen = fakeScreen(100, 30);
    const tui = new TuiSink(session, () => undefined, { env: { TERM: 'xterm' }, clock: manualClock(), screen });
    expect(tui.close()).toMatch(/; the capture lost 1,000 packets \(11%; est\. 3\.7% of requests incomplete\)\n$/);
  });

  it('the end lines name the interface a live capture chose, and say what the quit line\'s span is', () => {
    const session = new RunState(config, 'eth0');
    session.updateCapture(stats({ packets: 10, events: 2 }), T0);
    expect(interfaceLabel('eth0', true)).toBe('eth0 (the default interface)');
    expect(interfaceLabel('eth1', false)).toBe('eth1');
    expect(liveCaptureSummary(session, interfaceLabel('eth0', true)))
      .toBe('wiretop: 2 transactions in 10 packets from eth0 (the default interface); dropped: 0 packets by the kernel, 0 by the interface, 0 transactions by wiretop\n');
    expect(exporterEndLine(session, { host: '127.0.0.1', port: 9464 }, 'x.pcap', false))
      .toBe('wiretop: stopped serving metrics on http://127.0.0.1:9464/metrics; 2 transactions in 10 packets from x.pcap\n');
    expect(exporterEndLine(session, { host: '::1', port: 9464 }, 'eth0', true)).toMatch(/^wiretop: stopped serving metrics on http:\/\/\[::1\]:9464\/metrics; 2 transactions in 10 packets from eth0; dropped: 0 packets/);
    session.ingest([event(T0), event(T0 + 10)]);
    expect(dashboardQuitLine(session)).toBe('wiretop: 2 requests from eth0 over 10s of traffic, 0 alerts\n');
  });

  it('the dashboard status bar says LOSING while drops are recent, in red, and stops after', () => {
    const session = new RunState(config, 'lo');
    const screen = fakeScreen(120, 40);
    const dashboard = new Dashboard({ run: session, screen, onQuit: () => undefined, color: true, clock: manualClock() });
    session.updateCapture(stats({ packets: 1000 }), T0);
    expect(dashboard.statusText()).not.toContain('LOSING');
    session.updateCapture(stats({ packets: 2000, kernelDrops: 250, eventsDropped: 10, events: 500 }), T0 + 2);
    expect(dashboard.statusText()).toContain('LOSING 11% of packets (est. 0% of requests incomplete) and 2.0% of transactions');
    dashboard.render();
    expect(dashboard.drawnText()[39]).toContain('LOSING 11% of packets (est. 0% of requests incomplete) and 2.0% of transactions');
    // In red: the cells of the warning have a red background (blessed packs bg into bits 0-8 of the attribute).
    const cells = (screen as unknown as { lines: Array<Array<[number, string]>> }).lines[39];
    const at = dashboard.drawnText()[39].indexOf('LOSING');
    expect(cells[at][0] & 0x1ff).toBe(1);
    // Twenty seconds with no more drops: the warning goes.
    session.updateCapture(stats({ packets: 4000, kernelDrops: 250, eventsDropped: 10, events: 900 }), T0 + 22);
    expect(dashboard.statusText()).not.toContain('LOSING');
    // A live interface that went down: said until it is back.
    session.updateCapture(stats({ packets: 4000, kernelDrops: 250, eventsDropped: 10, events: 900, interfaceDown: 1 }), T0 + 23);
    expect(dashboard.statusText()).toContain('INTERFACE DOWN');
    session.updateCapture(stats({ packets: 4000, kernelDrops: 250, eventsDropped: 10, events: 900, interfaceDown: 0 }), T0 + 24);
    expect(dashboard.statusText()).not.toContain('INTERFACE DOWN');
    dashboard.destroy();
  });
});
