/**
 * The lines that end a run: the stderr line of a headless capture (as tcpdump prints one), the
 * exporter's, and the dashboard's quit line. Each says where the traffic came from, what was
 * captured, and what was lost, in the same words.
 */
import { duration } from '../format';
import { describeLossCounts, LOSS_ADVICE } from '../stats/loss';
import type { RunView } from './runState';
import { emptyCaptureStats } from '../types';

/** How a live capture's interface is named in messages: `eth0`, or `eth0 (the default interface)` when -i was not given. */
export function interfaceLabel(name: string, defaulted: boolean): string {
  return defaulted ? `${name} (the default interface)` : name;
}

/** `1600 transactions in 8000 packets from SOURCE`, with the drops of a live capture and a loss warning. */
function captureTotals(run: RunView, source: string, live: boolean): string {
  const stats = run.health.latest ?? emptyCaptureStats();
  const loss = run.health.total();
  const lost = describeLossCounts(loss);
  // Kernel and interface drops exist only live: a file has none to report.
  const drops = live ? `; dropped: ${stats.kernelDrops} packets by the kernel, ${stats.ifDrops} by the interface, ${loss.transactionsLost} transactions by wiretop` : '';
  return `${loss.transactions} transactions in ${loss.packets} packets from ${source}${drops}`
    + `${lost === '' ? '' : `. WARNING: the capture lost ${lost}: counts are incomplete (${LOSS_ADVICE})`}`;
}

/** The end line of a headless live capture: totals, drops, and a warning when counts are incomplete. */
export function liveCaptureSummary(run: RunView, source: string): string {
  return `wiretop: ${captureTotals(run, source, true)}\n`;
}

/** The end line of `--metrics` alone: the exporter stopped, and what it had captured. */
export function exporterEndLine(run: RunView, listen: { host: string; port: number }, source: string, live: boolean): string {
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return `wiretop: stopped serving metrics on http://${host}:${listen.port}/metrics; ${captureTotals(run, source, live)}\n`;
}

/**
 * The dashboard's quit line. Its span is the traffic's — first to last request, in the data's
 * time — which is not how long wiretop ran (a file replays faster, a live run may idle).
 */
export function dashboardQuitLine(run: RunView): string {
  const requests = run.stats.builtins.requests;
  const span = requests.total > 0 ? duration(requests.lastTs - requests.firstTs) : '0s';
  const alerts = run.alerts.history.length;
  const lost = describeLossCounts(run.health.total());
  return `wiretop: ${requests.total} requests from ${run.source} over ${span} of traffic, ${alerts} alert${alerts === 1 ? '' : 's'}`
    + `${lost === '' ? '' : `; the capture lost ${lost}`}\n`;
}
