/**
 * The panels drawn from statistics: every one is a module's rows (`StatModule.rows`) laid out
 * as a table, built-ins and plug-ins alike. Built-ins add drill-downs (a section into its
 * URIs, a domain into its sections) and the window in their titles.
 */
import { bytes, compactNumber, share } from '../src/format';
import { placesOf, visitorsOf, type VisitorRow } from '../src/stats/visitors';
import { sectionOf } from '../src/http/uri';
import { isErrorKey, KEY_SEPARATOR } from '../src/stats/classify';
import { statusTone } from '../src/stats/panelColumns';
import { moduleRows, type PanelColumn, type PanelRows, type StatModule } from '../src/stats/statModule';
import type { TopModule } from '../src/stats/topModule';
import { windowLabel } from '../src/stats/windows';
import { sortedOrder, table } from './text';
import { METHOD_KEY, PROTOCOL_KEY } from './transactions';
import type { PanelContent, PanelView, Size, Sort, ViewContext } from './view';

/** Rows a sorted panel lists (the top entries by hits, then sorted): more than a page, so a sort finds what hits alone would not show. */
export const SORTED_ROWS = 100;

/** How many rows a panel asks its module for. */
export function rowLimit(ctx: ViewContext, view: PanelView): number {
  return view.sort !== null ? Math.max(SORTED_ROWS, ctx.run.config.max_top_hits) : ctx.run.config.max_top_hits;
}

/**
 * A panel's content from a module's rows; `selectable`: rows can be picked (to drill into);
 * `sort`: the rows in the order of one numeric column, marked in the header.
 */
export function rowsContent(rows: PanelRows, size: Size, title: string, selectable = false, sort: Sort | null = null): PanelContent {
  let { columns, rows: cells, keys, tones } = rows;
  if (sort !== null && sort.column < columns.length) {
    const order = sortedOrder(cells, sort.column, sort.descending);
    cells = order.map((i) => cells[i]);
    if (keys !== undefined) keys = order.map((i) => keys![i]);
    if (tones !== undefined) tones = order.map((i) => tones![i]);
    columns = columns.map((column, i) => {
      if (i !== sort.column) return column;
      const mark = sort.descending ? '▼' : '▲';
      return typeof column === 'string' ? `${column}${mark}` : { ...column, header: `${column.header}${mark}` };
    });
  }
  const { header, lines, numeric } = table(columns, cells, size.width);
  return { title, header, lines, sortable: numeric, ...(selectable ? { keys } : {}), ...(tones !== undefined ? { tones } : {}) };
}

/** The window as the panel titles say it. */
function windowText(ctx: ViewContext): string {
  return windowLabel(ctx.window, ctx.run.config.dashboard_bucket_size, ctx.now);
}

function approx(rows: PanelRows): string {
  return rows.approximate ? ' ~approx' : '';
}

/** Seconds of data the window covers, for rates. */
function coveredSeconds(ctx: ViewContext): number {
  return ctx.stats.builtins.requests.coveredSeconds(ctx.window, ctx.now);
}

/** Does endpoint `METHOD /route` lie in section `/section`? */
export function endpointInSection(endpoint: string, section: string): boolean {
  const route = endpoint.slice(endpoint.indexOf(' ') + 1);
  return sectionOf(route) === section;
}

/** The top sections panel, or the endpoints of one section when drilled. */
export function presentSections(ctx: ViewContext, size: Size, view: PanelView): PanelContent {
  const b = ctx.stats.builtins;
  const limit = rowLimit(ctx, view);
  const drill = view.drill;
  if (drill !== null) {
    const rows = b.endpoints.rows(ctx.window, ctx.now, limit, { filter: (endpoint) => endpointInSection(endpoint, drill.key), seconds: coveredSeconds(ctx) });
    return rowsContent(rows, size, `Endpoints of ${drill.key} (${windowText(ctx)})${approx(rows)} — Esc back`, true, view.sort);
  }
  const rows = b.sections.rows(ctx.window, ctx.now, limit);
  return rowsContent(rows, size, `${rows.title} (${windowText(ctx)})${approx(rows)}`, true, view.sort);
}

/** Endpoints (`METHOD /route`) with rate, errors and latency quantiles. */
export function presentEndpoints(ctx: ViewContext, size: Size, view: PanelView): PanelContent {
  const rows = ctx.stats.builtins.endpoints.rows(ctx.window, ctx.now, rowLimit(ctx, view), { seconds: coveredSeconds(ctx) });
  return rowsContent(rows, size, `${rows.title} (${windowText(ctx)})${approx(rows)}`, true, view.sort);
}

/** Top clients (the TCP peer, or who a trusted proxy forwarded for). */
export function presentClients(ctx: ViewContext, size: Size, view: PanelView): PanelContent {
  const rows = ctx.stats.builtins.clients.rows(ctx.window, ctx.now, rowLimit(ctx, view));
  return rowsContent(rows, size, `${rows.title} (${windowText(ctx)})${approx(rows)}`, true, view.sort);
}

/**
 * A breakdown's panel that Enter drills into: the rows of `top`, or when drilled the rows of
 * `inner` (keyed `outer key + separator + inner key`) under the chosen row, titled by `drilledTitle`.
 */
function drillablePanel(ctx: ViewContext, size: Size, view: PanelView, top: TopModule, inner: TopModule, drilledTitle: (key: string) => string, topTitle = (title: string) => title): PanelContent {
  const limit = rowLimit(ctx, view);
  const drill = view.drill;
  if (drill !== null) {
    const prefix = `${drill.key}${KEY_SEPARATOR}`;
    const total = top.view(ctx.window, ctx.now).entries.find((e) => e.key === drill.key)?.count ?? 0;
    const rows = inner.rows(ctx.window, ctx.now, limit, { filter: (k) => k.startsWith(prefix), total, stripPrefix: prefix });
    return rowsContent(rows, size, `${drilledTitle(drill.key)} (${windowText(ctx)}) — Esc back`, true, view.sort);
  }
  const rows = top.rows(ctx.window, ctx.now, limit);
  return rowsContent(rows, size, `${topTitle(rows.title)} (${windowText(ctx)})${approx(rows)}`, true, view.sort);
}

/** The top domains panel, or the sections of one domain when drilled. */
export function presentDomains(ctx: ViewContext, size: Size, view: PanelView): PanelContent {
  const b = ctx.stats.builtins;
  return drillablePanel(ctx, size, view, b.domains, b.domainSections, (key) => `Sections of ${key}`);
}

/** The programs on this host that the connections belong to (--processes), or one program's endpoints when drilled (Enter). */
export function presentProcesses(ctx: ViewContext, size: Size, view: PanelView): PanelContent {
  const b = ctx.stats.builtins;
  const failure = ctx.run.processes?.stats.failure ?? null;
  return drillablePanel(ctx, size, view, b.processes, b.processEndpoints, (key) => `Endpoints of ${key === '' ? 'traffic no scan named' : key}`,
    (title) => `${title} on this host${failure === null ? '' : ` — not naming: ${failure}`}`);
}

/**
 * TLS connections by server name (connections, bytes, version and ALPN most used, handshake
 * p50), or one name's clients and versions when drilled. Counted apart from HTTP requests.
 */
export function presentTls(ctx: ViewContext, size: Size, view: PanelView): PanelContent {
  const tls = ctx.stats.tls;
  const limit = rowLimit(ctx, view);
  const drill = view.drill;
  if (drill !== null) {
    const { clients, versions } = tls.nameRows(drill.key, ctx.window, ctx.now, limit);
    const clientTable = table(clients.columns, clients.rows, size.width);
    const versionTable = table(versions.columns, versions.rows, size.width);
    return {
      title: `TLS clients of ${drill.key} (${windowText(ctx)}) — Esc back`,
      header: clientTable.header,
      lines: [...clientTable.lines, versionTable.header, ...versionTable.lines],
      keys: [...(clients.keys ?? []), '', ...(versions.keys ?? []).map(() => '')],
    };
  }
  const rows = tls.rows(ctx.window, ctx.now, limit);
  const decrypted = tls.decrypted > 0 ? `, ${tls.decrypted} decrypted` : '';
  return rowsContent(rows, size, `${rows.title} (${windowText(ctx)})${approx(rows)}${decrypted}`, true, view.sort);
}

/** The user agents panel. */
export function presentUserAgents(ctx: ViewContext, size: Size, view: PanelView): PanelContent {
  const rows = ctx.stats.builtins.userAgents.rows(ctx.window, ctx.now, rowLimit(ctx, view));
  return rowsContent(rows, size, `${rows.title}${approx(rows)}`, true, view.sort);
}

/** The columns of a group's table in the visitors and networks panels: the group, hits, share, bytes. */
function groupColumns(first: string): PanelColumn[] {
  return [{ header: first, priority: 9, minWidth: 10 }, { header: 'Hits', width: 7, alignRight: true, priority: 8, minWidth: 5 },
    { header: 'Share', width: 6, alignRight: true, priority: 5 }, { header: 'Bytes', width: 6, alignRight: true, priority: 3 }];
}

function groupCells(row: VisitorRow, total: number, label = row.key): string[] {
  return [label, `${row.approximate ? '~' : ''}${compactNumber(row.count)}`, share(row.count, total), bytes(row.bytes, 'compact')];
}

/** The key prefix of a visitors panel row: which part of the agent it stands for (`visitor:name:GPTBot`). */
export const VISITOR_KEY = 'visitor:';

/**
 * Who is asking: requests and bytes by category (human, crawler, AI crawler, tool, unknown),
 * then the named bots and tools, the browsers and the operating systems, in one panel. Rows open
 * their transactions (t).
 */
export function presentVisitors(ctx: ViewContext, size: Size): PanelContent {
  const view = ctx.stats.builtins.agents.view(ctx.window, ctx.now);
  const visitors = visitorsOf(view.entries, view.total, ctx.stats.builtins.agentCategories.view(ctx.window, ctx.now).entries);
  const limit = ctx.run.config.max_top_hits;
  const cells = (row: VisitorRow, label = row.key) => groupCells(row, visitors.total, label);
  const parts: Array<{ title: string; part: string; rows: Array<{ cells: string[]; key: string }> }> = [
    { title: 'Visitors', part: 'category', rows: visitors.categories.map((row) => ({ cells: cells(row, CATEGORY_LABELS[row.key] ?? row.key), key: row.key })) },
    { title: 'Bots and tools', part: 'name', rows: visitors.bots.slice(0, limit).map((row) => ({ cells: cells(row, `${row.key}${row.category === 'ai-crawler' ? ' (AI)' : row.category === 'tool' ? ' (tool)' : ''}`), key: row.key })) },
    { title: 'Browsers', part: 'browser', rows: visitors.browsers.slice(0, limit).map((row) => ({ cells: cells(row), key: row.key })) },
    { title: 'OS', part: 'os', rows: visitors.systems.slice(0, limit).map((row) => ({ cells: cells(row), key: row.key })) },
  ];
  const lines: string[] = [];
  const keys: string[] = [];
  let header = '';
  for (const [i, part] of parts.entries()) {
    const drawn = table(groupColumns(part.title), part.rows.map((row) => row.cells), size.width);
    if (i === 0) header = drawn.header;
    else {
      lines.push(drawn.header);
      keys.push('');
    }
    lines.push(...drawn.lines);
    keys.push(...part.rows.map((row) => `${VISITOR_KEY}${part.part}:${row.key}`));
  }
  const bots = visitors.categories.filter((row) => row.key !== 'human' && row.key !== 'unknown').reduce((sum, row) => sum + row.count, 0);
  const unique = ctx.stats.builtins.uniqueVisitors.today(ctx.now);
  return { title: `Visitors: ${compactNumber(unique)} unique today, ${share(bots, visitors.total)} bots`, header, lines, keys };
}

/**
 * Where the clients are (with a --geoip database): requests, share and bytes by country, then by
 * network (autonomous system). Rows open their transactions (t).
 */
export function presentNetworks(ctx: ViewContext, size: Size): PanelContent {
  const view = ctx.stats.builtins.networks.view(ctx.window, ctx.now);
  const places = placesOf(view.entries, view.total);
  const limit = ctx.run.config.max_top_hits;
  const cells = (row: VisitorRow) => groupCells(row, places.total);
  const countries = places.countries.slice(0, limit);
  const networks = places.networks.slice(0, limit);
  const first = table(groupColumns('Country'), countries.map(cells), size.width);
  const second = table(groupColumns('Network'), networks.map(cells), size.width);
  return {
    // Countries are ISO codes: `unknown` and the ranges (private, loopback…) are rows, not countries.
    title: `${places.countries.filter((row) => /^[A-Z]{2}$/.test(row.key)).length} countries, ${places.networks.filter((row) => row.key.startsWith('AS')).length} networks`,
    header: first.header,
    lines: [...first.lines, second.header, ...second.lines],
    keys: [...countries.map((row) => `${PLACE_KEY}country:${row.key}`), '', ...networks.map((row) => `${PLACE_KEY}asn:${row.key.split(' ')[0]}`)],
  };
}

/** The key prefix of a networks panel row (`place:country:US`, `place:asn:AS15169`). */
export const PLACE_KEY = 'place:';

/** How the panel names the categories. */
const CATEGORY_LABELS: Record<string, string> = { human: 'humans', crawler: 'crawlers', 'ai-crawler': 'AI crawlers', tool: 'tools', unknown: 'unknown' };

/** Status codes (5xx and unanswered red, 4xx yellow, with the error rate) and methods, in one panel. */
export function presentStatuses(ctx: ViewContext, size: Size): PanelContent {
  const b = ctx.stats.builtins;
  const limit = ctx.run.config.max_top_hits;
  const statuses = b.statuses.view(ctx.window, ctx.now);
  const errors = statuses.entries.filter((e) => isErrorKey(e.key)).reduce((s, e) => s + e.count, 0);
  const codes = b.statuses.rows(ctx.window, ctx.now, limit);
  const methods = b.methods.rows(ctx.window, ctx.now, limit);
  const protocols = b.protocols.rows(ctx.window, ctx.now, limit);
  const codeTable = table(codes.columns, codes.rows, size.width);
  const methodTable = table(methods.columns, methods.rows, size.width);
  const protocolTable = table(protocols.columns, protocols.rows, size.width);
  return {
    title: `Status ${share(errors, statuses.total)} err`,
    header: codeTable.header,
    lines: [...codeTable.lines, methodTable.header, ...methodTable.lines, protocolTable.header, ...protocolTable.lines],
    tones: [...codes.rows.map((row) => statusTone(row[0])), null, ...methods.rows.map(() => null), null, ...protocols.rows.map(() => null)],
    // Rows open their transactions (t): a code, a method, or a protocol.
    keys: [
      ...(codes.keys ?? []), '', ...(methods.keys ?? []).map((method) => `${METHOD_KEY}${method}`),
      '', ...(protocols.keys ?? []).map((protocol) => `${PROTOCOL_KEY}${protocol}`),
    ],
  };
}

/** A plug-in's panel: its rows over the dashboard's window, as many as the top lists show. */
export function presentModule(module: StatModule): (ctx: ViewContext, size: Size, view: PanelView) => PanelContent {
  return (ctx, size, view) => {
    const failure = ctx.run.stats.failureOf(module.name);
    if (failure !== undefined) {
      return { title: `${module.name} (disabled)`, lines: [`${module.name} failed in ${failure.method}(): ${failure.message}`, 'It is disabled for the rest of the run.'], tones: ['alert', null] };
    }
    const rows = moduleRows(module, ctx.window, ctx.now, rowLimit(ctx, view));
    // A plug-in's fault is shown in its panel, not allowed to take the dashboard down.
    if (rows instanceof Error) return { title: module.name, lines: [`${module.name}: ${rows.message}`], tones: ['alert'] };
    return rowsContent(rows, size, `${rows.title || module.name}${approx(rows)}`, false, view.sort);
  };
}

/** The servers of a merged view: hits, errors, latency, and what is wrong with a source. */
export function presentNodes(ctx: ViewContext, size: Size, view: PanelView): PanelContent {
  const rows = ctx.stats.builtins.nodes.rows(ctx.window, ctx.now, rowLimit(ctx, view));
  const notes = ctx.run.nodeNotes;
  const drops = ctx.run.nodeDrops;
  const noted = {
    ...rows,
    columns: [...rows.columns, { header: 'Drops', width: 6, alignRight: true, priority: 5 }, { header: 'Source', width: 14, priority: 8 }],
    rows: rows.rows.map((row, i) => {
      const key = rows.keys?.[i] ?? '';
      return [...row, String(drops.get(key) ?? '-'), notes.get(key) ?? 'ok'];
    }),
  };
  const tones = noted.rows.map((row) => (row[row.length - 1] === 'ok' ? null : 'warning' as const));
  return rowsContent({ ...noted, tones }, size, `${rows.title} (${windowText(ctx)})`, true, view.sort);
}
