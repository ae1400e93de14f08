/**
 * The status bar as a pure presenter: (the run, the view state, the width) → its line. The
 * line is made of parts, fitted to the width by giving up the least needed first: the key
 * hints shorten, the source and the window go, the hints go; the alert state, the alarms, the
 * filter and a message stay, and only then is the line cut. No blessed: the dashboard escapes
 * the line and colours its alarms.
 */
import { clockTime, displayWidth, truncate } from '../src/format';
import { LOSS_RECENT_SECONDS, type RunView } from '../src/run/runState';
import { describeLossShare } from '../src/stats/loss';
import { windowLabel } from '../src/stats/windows';
import type { DashboardState } from './dashboardState';
import { keyHints } from './keymap';

/** The status bar's word for a live interface that is down. */
export const INTERFACE_DOWN = 'INTERFACE DOWN';

/** One part of the status bar: its text, then shorter forms ('' leaves it out), in order. */
export interface StatusPart {
  /** Names the part in `degrade` steps. */
  id: string;
  forms: string[];
}

/** `parts` joined by ` | `, within `width`: each `degrade` step moves one part to its next, shorter form while too long. */
export function fitStatus(parts: readonly StatusPart[], degrade: readonly string[], width: number): string {
  const chosen = new Map(parts.map((part) => [part.id, 0]));
  const line = () => parts.map((part) => part.forms[chosen.get(part.id)!]).filter((text) => text !== '').join(' | ');
  for (const id of degrade) {
    if (displayWidth(line()) <= width) break;
    const part = parts.find((p) => p.id === id);
    const form = chosen.get(id);
    if (part !== undefined && form !== undefined && form < part.forms.length - 1) chosen.set(id, form + 1);
  }
  return truncate(line(), width);
}

/** `LOSING 12% of packets` while the capture drops packets or transactions, else null. */
export function lossText(run: RunView): string | null {
  const lost = describeLossShare(run.health.recent(LOSS_RECENT_SECONDS));
  return lost === '' ? null : `LOSING ${lost}`;
}

/** What the status bar shows of the view. */
export type StatusView = Pick<DashboardState, 'message' | 'filter' | 'paused' | 'window'>;

/** The status bar's line for `run` and `view`, within `width` (see fitStatus for what gives way first). */
export function statusText(run: RunView, view: StatusView, width: number): string {
  const alerts = run.alerts;
  let state: string = alerts.stateName;
  if (state === 'LEARNING') state = `LEARNING ${alerts.learningLeft()}s left`;
  else if (state === 'ALERT') {
    const current = alerts.current();
    if (current !== null) state = `ALERT since ${clockTime(current.start)}`;
  }
  const source = run.source.includes('/') ? run.source.slice(run.source.lastIndexOf('/') + 1) : run.source;
  const ended = run.ended ? ' (ended)' : '';
  const parts: StatusPart[] = [{ id: 'source', forms: [`wiretop ${source}${ended}`, `wiretop${ended}`, ''] }, { id: 'state', forms: [state] }];
  const add = (id: string, ...forms: string[]) => parts.push({ id, forms });
  // Configured rules are named while they alert.
  for (const rule of alerts.ruleStatuses()) if (rule.state === 'ALERT') add('rule', `ALERT: ${rule.name}`);
  const losing = lossText(run);
  if (losing !== null) add('losing', losing);
  if (run.health.latest?.interfaceDown === 1) add('interface', INTERFACE_DOWN);
  if (view.message !== null) add('message', view.message);
  for (const failure of run.stats.failures) add(`plugin:${failure.name}`, `plug-in ${failure.name} disabled`, '');
  if (view.filter.text !== null) add('filter', view.filter.view !== undefined ? `view ${view.filter.view}: ${view.filter.text}` : `filter: ${view.filter.text}`);
  if (view.filter.errorsOnly) add('errors', 'ERRORS ONLY');
  if (view.paused) add('paused', 'PAUSED');
  const window = windowLabel(view.window, run.config.dashboard_bucket_size, run.stats.lastClosed);
  add('window', `window: ${window}`, window, '');
  add('hints', keyHints(), '? keys  q quit', '? keys', '');
  return fitStatus(parts, ['hints', 'source', 'window', 'hints', 'source', 'window', 'hints', ...run.stats.failures.map((f) => `plugin:${f.name}`), 'hints'], width);
}
