/** The alert log and the capture-health panel. */
import { noticesOf } from '../src/alerts/monitor';
import { clockTime, compactRate as rate, countOrDash as count, duration as formatDuration, wrap } from '../src/format';
import { nowSpan } from '../src/stats/windows';
import type { PanelContent, Size, ViewContext } from './view';

/** The alert history, newest first: alert lines and recovery lines, with durations. */
export function presentAlertLog(ctx: ViewContext, size: Size): PanelContent {
  const monitor = ctx.run.alerts;
  const summary = monitor.summary();
  const lines: string[] = [];
  const tones: Array<'alert' | 'recovery' | 'warning' | null> = [];
  for (const record of [...summary.alerts].reverse()) {
    for (const { effect, message } of noticesOf(record).reverse()) {
      for (const line of wrap(message, size.width)) {
        lines.push(line);
        tones.push(effect.type === 'alert' ? 'alert' : 'recovery');
      }
    }
  }
  // Notifications that could not be sent (the last five, newest first), in yellow, above the alerts.
  const failureLines: string[] = [];
  for (const failure of [...(ctx.run.notifications?.failures ?? [])].reverse().slice(0, 5)) {
    failureLines.push(...wrap(`Notification failed (${failure.rule}, ${failure.time.slice(11, 19)}): ${failure.message}`, size.width));
  }
  lines.unshift(...failureLines);
  tones.unshift(...failureLines.map(() => 'warning' as const));
  if (lines.length === 0) {
    for (const line of wrap(monitor.stateName === 'LEARNING' ? `Learning the normal traffic: ${monitor.learningLeft()}s left.` : 'No alert so far.', size.width)) {
      lines.push(line);
      tones.push(null);
    }
  }
  const { maxDurationSeconds: longest, averageDurationSeconds: average } = summary;
  const durations = longest === null || average === null ? '' : ` · max ${formatDuration(longest)} avg ${formatDuration(average)}`;
  return { title: `Alerts (${summary.alerts.length})${durations}`, lines, tones };
}

/** Packets per second "now" (see nowSpan), or null before the capture has said. */
function packetsNow(ctx: ViewContext): number | null {
  if (ctx.now === -Infinity) return null;
  const { start, end } = nowSpan(ctx.now);
  const packets = ctx.run.packets.growth(start - 1, end - 1);
  return packets === null ? null : packets / (end - start);
}

/** The busiest worker's packets over the average from which the health panel warns. */
export const HOT_WORKER_SKEW = 1.5;

/** Capture health: rates, drops, errors, connections (two columns when there is room). */
export function presentHealth(ctx: ViewContext, size: Size): PanelContent {
  const health = ctx.run.health;
  const s = health.latest;
  const items: Array<[string, string, boolean]> = [
    // The same "now" as the rate chart's title: the last NOW_SECONDS closed seconds of data time.
    ['pkts/s', rate(packetsNow(ctx)), false],
    ['req/s', rate(ctx.run.stats.builtins.requests.rateNow(ctx.now)), false],
    ['kernel drops', count(s?.kernelDrops), (s?.kernelDrops ?? 0) > 0],
    ['if drops', count(s?.ifDrops), (s?.ifDrops ?? 0) > 0],
    ['decode errs', count(s?.decodeErrors), false],
    ['gaps', count(s?.gaps), false],
    ['non-HTTP', count(s?.nonHttpFlows), false],
    ['flows', count(s?.flowsActive), false],
    ['parse errs', count(s?.parseErrors), false],
    ['reasm drops', count(s?.reassemblyDrops), (s?.reassemblyDrops ?? 0) > 0],
    ['events dropped', count(s?.eventsDropped), (s?.eventsDropped ?? 0) > 0],
  ];
  // A capture split among workers: how many, and how uneven once one is hot (one connection,
  // or one client, with most of the traffic leaves the others idle).
  if (health.workers.length > 1) {
    items.push(['workers', String(health.workers.length), false]);
    const skew = health.workerSkew();
    if (skew !== null && skew >= HOT_WORKER_SKEW) items.push(['worker skew', `${skew.toFixed(1)}x avg`, true]);
  }
  // The statistics' share of the budget spent on long keys: shown once it matters.
  if ((s?.keysShortened ?? 0) > 0) items.push(['keys shortened', count(s?.keysShortened), true]);
  if ((s?.tlsFlows ?? 0) > 0) {
    items.push(['TLS conns', count(s?.tlsFlows), false]);
    if ((s?.tlsDecrypted ?? 0) + (s?.tlsNoKey ?? 0) > 0) items.push(['decrypted', count(s?.tlsDecrypted), false], ['no TLS key', count(s?.tlsNoKey), false]);
  }
  if ((s?.h2Flows ?? 0) > 0) {
    items.push(['HTTP/2 conns', count(s?.h2Flows), false], ['h2 unknown', count(s?.h2UnknownFields), false], ['h2 hdr errs', count(s?.h2HeaderErrors), false]);
  }
  // Connections switched to a protocol not read (WebSocket): shown once there are some, like TLS.
  if ((s?.upgradedFlows ?? 0) > 0) items.push(['upgraded', count(s?.upgradedFlows), false]);
  const notified = ctx.run.notifications?.stats;
  if (notified !== undefined) {
    items.push(['notified', count(notified.sent), false], ['notify fails', count(notified.failed + notified.dropped), notified.failed + notified.dropped > 0]);
  }
  const perLine = size.width >= 40 ? 2 : 1;
  const cell = Math.floor((size.width - (perLine - 1) * 2) / perLine);
  const lines: string[] = [];
  const tones: Array<'warning' | null> = [];
  for (let i = 0; i < items.length; i += perLine) {
    const group = items.slice(i, i + perLine);
    lines.push(group.map(([name, value]) => `${name} ${value.padStart(Math.max(1, cell - name.length - 1))}`).join('  '));
    tones.push(group.some(([, , warn]) => warn) ? 'warning' : null);
  }
  const at = health.now === -Infinity ? '' : ` at ${clockTime(health.now)}`;
  return { title: `Capture health${at}`, lines, tones };
}
