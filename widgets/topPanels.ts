/** Top sections (drill-down: a section's URIs) and top domains (drill-down: a domain's sections). */
import { bytes, compactNumber, milliseconds as ms, share } from '../src/format';
import { KEY_SEPARATOR } from '../src/stats/modules';
import type { HeavyHitter } from '../src/stats/spaceSaving';
import { sectionOf } from '../src/http/uri';
import { windowLabel } from '../src/stats/windows';
import { table, type Column } from './text';
import type { Drill, PanelContent, Size, ViewContext } from './view';

function approxMark(e: HeavyHitter): string {
  return e.overcount > 0 ? '~' : '';
}

const SECTION_COLUMNS: Column[] = [
  { header: 'Section', width: 0, priority: 9 },
  { header: 'Hits', width: 7, alignRight: true, priority: 8 },
  { header: 'Share', width: 6, alignRight: true, priority: 5 },
  { header: 'Bytes', width: 6, alignRight: true, priority: 3 },
  { header: 'p95ms', width: 6, alignRight: true, priority: 4 },
  { header: 'Err%', width: 6, alignRight: true, priority: 6 },
];

function sectionRow(e: HeavyHitter, key: string, total: number): string[] {
  return [key, approxMark(e) + compactNumber(e.count), share(e.count, total), bytes(e.bytes, 'compact'), ms(e.latency?.quantile(0.95)), share(e.errors, e.count)];
}

/** The window as the panel titles say it. */
function windowText(ctx: ViewContext): string {
  return windowLabel(ctx.window, ctx.session.config.dashboard_bucket_size);
}

/** The top sections panel, or the URIs of one section when drilled. */
export function presentSections(ctx: ViewContext, size: Size, drill: Drill | null): PanelContent {
  const b = ctx.store.builtins;
  const limit = ctx.session.config.max_top_hits;
  if (drill !== null) {
    const view = b.uris.view(ctx.window, ctx.now);
    const entries = b.uris.top(ctx.window, ctx.now, limit, (uri) => sectionOf(uri) === drill.key);
    const total = b.sections.view(ctx.window, ctx.now).entries.find((e) => e.key === drill.key)?.count ?? 0;
    const { header, lines } = table([{ ...SECTION_COLUMNS[0], header: 'URI' }, ...SECTION_COLUMNS.slice(1)], entries.map((e) => sectionRow(e, e.key, total)), size.width);
    return { title: `URIs of ${drill.key} (${windowText(ctx)})${view.approximate ? ' ~approx' : ''} — Esc back`, header, lines, keys: entries.map((e) => e.key) };
  }
  const view = b.sections.view(ctx.window, ctx.now);
  const entries = view.entries.slice(0, limit);
  const { header, lines } = table(SECTION_COLUMNS, entries.map((e) => sectionRow(e, e.key, view.total)), size.width);
  return { title: `Top sections (${windowText(ctx)})${view.approximate ? ' ~approx' : ''}`, header, lines, keys: entries.map((e) => e.key) };
}

const DOMAIN_COLUMNS: Column[] = [
  { header: 'Domain', width: 0, priority: 9 },
  { header: 'Hits', width: 7, alignRight: true, priority: 8 },
  { header: 'Bytes', width: 6, alignRight: true, priority: 5 },
  { header: 'p50ms', width: 6, alignRight: true, priority: 3 },
  { header: 'p95ms', width: 6, alignRight: true, priority: 6 },
  { header: 'p99ms', width: 6, alignRight: true, priority: 2 },
];

/** The top domains panel, or the sections of one domain when drilled. */
export function presentDomains(ctx: ViewContext, size: Size, drill: Drill | null): PanelContent {
  const b = ctx.store.builtins;
  const limit = ctx.session.config.max_top_hits;
  if (drill !== null) {
    const prefix = `${drill.key}${KEY_SEPARATOR}`;
    const entries = b.domainSections.top(ctx.window, ctx.now, limit, (k) => k.startsWith(prefix));
    const total = b.domains.view(ctx.window, ctx.now).entries.find((e) => e.key === drill.key)?.count ?? 0;
    const rows = entries.map((e) => sectionRow(e, e.key.slice(prefix.length), total));
    const { header, lines } = table(SECTION_COLUMNS, rows, size.width);
    return { title: `Sections of ${drill.key} (${windowText(ctx)}) — Esc back`, header, lines, keys: entries.map((e) => e.key.slice(prefix.length)) };
  }
  const view = b.domains.view(ctx.window, ctx.now);
  const entries = view.entries.slice(0, limit);
  const rows = entries.map((e) => [e.key, approxMark(e) + compactNumber(e.count), bytes(e.bytes, 'compact'), ms(e.latency?.quantile(0.5)), ms(e.latency?.quantile(0.95)), ms(e.latency?.quantile(0.99))]);
  // Host names are what the panel is for: keep them readable, drop latency columns first.
  const { header, lines } = table(DOMAIN_COLUMNS, rows, size.width, 20);
  return { title: `Top domains (${windowText(ctx)})${view.approximate ? ' ~approx' : ''}`, header, lines, keys: entries.map((e) => e.key) };
}

const AGENT_COLUMNS: Column[] = [
  { header: 'User agent', width: 0, priority: 9 },
  { header: 'Hits', width: 7, alignRight: true, priority: 8 },
  { header: 'Share', width: 6, alignRight: true, priority: 5 },
];

/** The user agents panel. */
export function presentUserAgents(ctx: ViewContext, size: Size): PanelContent {
  const view = ctx.store.builtins.userAgents.view(ctx.window, ctx.now);
  const entries = view.entries.slice(0, ctx.session.config.max_top_hits);
  // User agents are long: give them room before the share column.
  const { header, lines } = table(AGENT_COLUMNS, entries.map((e) => [e.key, approxMark(e) + compactNumber(e.count), share(e.count, view.total)]), size.width, 20);
  return { title: `User agents${view.approximate ? ' ~approx' : ''}`, header, lines };
}

const CODE_COLUMNS: Column[] = [
  { header: 'Status', width: 0, priority: 9 },
  { header: 'Hits', width: 5, alignRight: true, priority: 8 },
  { header: 'Share', width: 6, alignRight: true, priority: 5 },
];
/** Status codes and methods are short: their column can be narrow. */
const CODE_MIN_WIDTH = 4;

/** Status codes (with the error rate) and methods, in one panel. */
export function presentStatuses(ctx: ViewContext, size: Size): PanelContent {
  const b = ctx.store.builtins;
  const statuses = b.statuses.view(ctx.window, ctx.now);
  const methods = b.methods.view(ctx.window, ctx.now);
  const limit = ctx.session.config.max_top_hits;
  const errors = statuses.entries.filter((e) => e.key === 'none' || e.key.startsWith('5')).reduce((s, e) => s + e.count, 0);
  const codeRows = statuses.entries.slice(0, limit).map((e) => [e.key, compactNumber(e.count), share(e.count, statuses.total)]);
  const methodRows = methods.entries.slice(0, limit).map((e) => [e.key, compactNumber(e.count), share(e.count, methods.total)]);
  const codes = table(CODE_COLUMNS, codeRows, size.width, CODE_MIN_WIDTH);
  const methodTable = table([{ ...CODE_COLUMNS[0], header: 'Method' }, ...CODE_COLUMNS.slice(1)], methodRows, size.width, CODE_MIN_WIDTH);
  const tones = [...codeRows.map((r) => (r[0] === 'none' || r[0].startsWith('5') ? 'alert' as const : r[0].startsWith('4') ? 'warning' as const : null)), null, ...methodRows.map(() => null)];
  return {
    title: `Status ${share(errors, statuses.total)} err`,
    header: codes.header,
    lines: [...codes.lines, methodTable.header, ...methodTable.lines],
    tones,
  };
}
