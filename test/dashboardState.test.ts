/**
 * The dashboard's view state with no screen: a table of (state, action) → the state after it,
 * covering every key of the help screen, on the panels, over a list, and with the help open;
 * then the screen's events (resize, frames drawn, the filter prompt).
 */
import { KEYMAP, type KeyAction } from '../widgets/keymap';
import { initialState, OVERLAY, reduce, type DashboardAction, type DashboardState, type PanelRef } from '../widgets/dashboardState';
import { TOP, type RowsShape } from '../widgets/position';

/** The built-in panels (ids, places, drill-downs) as the dashboard has them. */
const PANELS: PanelRef[] = [
  { id: 'sections', slot: 'sections', drillable: true },
  { id: 'endpoints', slot: 'sections', drillable: false },
  { id: 'domains', slot: 'domains', drillable: true },
  { id: 'tls', slot: 'domains', drillable: true },
  { id: 'rate', slot: 'rate', drillable: false },
  { id: 'alerts', slot: 'alerts', drillable: false },
  { id: 'statuses', slot: 'statuses', drillable: false },
  { id: 'userAgents', slot: 'userAgents', drillable: false },
  { id: 'clients', slot: 'userAgents', drillable: false },
  { id: 'health', slot: 'health', drillable: false },
];

/** Five selectable rows, three in view, two numeric columns. */
const ROWS: RowsShape = { count: 5, keys: ['/a', '/b', '/c', '/d', '/e'], rows: 3, sortable: [1, 2] };
/** Ten lines without keys: they only scroll. */
const TEXT: RowsShape = { count: 10, rows: 4 };
/** A chart. */
const CHART: RowsShape = { count: 6, rows: 6, fixed: true };
/** A list of transactions. */
const LIST: RowsShape = { count: 4, keys: ['t0', 't1', 't2', 't3'], rows: 2 };

/** A dashboard at 120x40, focused on the sections, which show ROWS; the rate shows CHART, the health TEXT. */
function base(changes: Partial<DashboardState> = {}): DashboardState {
  const state = initialState(PANELS, 120, 40);
  return { ...state, shapes: { sections: ROWS, endpoints: ROWS, rate: CHART, health: TEXT }, ...changes };
}

const index = (id: string) => base().panels.findIndex((p) => p.id === id);
const at = (selected: number, offset = 0, key: string | undefined = ROWS.keys![selected]) => ({ offset, selected, key });
const key = (name: KeyAction): DashboardAction => ({ type: 'key', key: name });
const focusedOn = (id: string, changes: Partial<DashboardState> = {}) => base({ focus: index(id), ...changes });
/** With a list over the panels (of the sections' `/b`), showing LIST. */
const listed = (changes: Partial<DashboardState> = {}) => base({
  overlay: { list: { kind: 'rows', panel: 'sections', key: '/b', drill: null }, detail: null, listPosition: TOP },
  shapes: { ...base().shapes, [OVERLAY]: LIST }, ...changes,
});
/** A help that scrolls: 80x12 shows 9 of its 35 lines (the keys, then the filter language). */
const smallHelp = (changes: Partial<DashboardState> = {}) => ({ ...initialState(PANELS, 80, 12), help: true, ...changes });
const filter = (text: string | null, errorsOnly = false) => ({ text, errorsOnly });
const VIEWS = [{ name: 'errors', text: 'status = 5xx' }, { name: 'api', text: 'path ~ ^/api' }];
const allTop = Object.fromEntries(PANELS.map((p) => [p.id, TOP]));

/** [what, before, action, what changes]: the state after is `before` with `changes`. */
type Row = [string, DashboardState, DashboardAction, Partial<DashboardState>];

const KEYS_ON_PANELS: Row[] = [
  ['Tab focuses the next panel, which its place then shows', base(), key('focusNext'), { focus: index('endpoints'), shown: { ...base().shown, sections: 'endpoints' } }],
  ['Tab from the last panel comes round to the first', focusedOn('alerts'), key('focusNext'), { focus: 0 }],
  ['Shift-Tab focuses the previous', base(), key('focusPrevious'), { focus: index('health') }],
  ['Shift-Tab from the first goes round to the last', focusedOn('rate'), key('focusPrevious'), { focus: index('alerts') }],
  ['↓ selects the next row, by its key', base(), key('down'), { positions: { sections: at(1) } }],
  ['↑ selects the row above', base({ positions: { sections: at(2) } }), key('up'), { positions: { sections: at(1) } }],
  ['↑ on the first row stays there', base(), key('up'), { positions: { sections: at(0) } }],
  ['↓ on the last row stays there', base({ positions: { sections: at(4, 2) } }), key('down'), { positions: { sections: at(4, 2) } }],
  ['↓ in a panel without keys scrolls it', focusedOn('health'), key('down'), { positions: { health: { offset: 1, selected: 0, key: undefined } } }],
  ['↓ in a chart does nothing', focusedOn('rate'), key('down'), {}],
  ['↓ in a panel not drawn yet does nothing', focusedOn('domains'), key('down'), {}],
  ['PgDn moves a page (the rows in view)', base(), key('pageDown'), { positions: { sections: at(3) } }],
  ['PgUp moves a page up', base({ positions: { sections: at(4, 2) } }), key('pageUp'), { positions: { sections: at(1, 2) } }],
  ['PgDn in a panel without keys scrolls a page, no further than the last page', focusedOn('health', { positions: { health: { offset: 4, selected: 0, key: undefined } } }), key('pageDown'), { positions: { health: { offset: 6, selected: 0, key: undefined } } }],
  ['End selects the last row', base(), key('bottom'), { positions: { sections: at(4) } }],
  ['Home selects the first', base({ positions: { sections: at(4, 2) } }), key('top'), { positions: { sections: at(0, 2) } }],
  ['Enter drills into the selected row, from the first row', base({ positions: { sections: at(2) } }), key('drill'), { drills: { sections: { key: '/c' } }, positions: { sections: TOP } }],
  ['Enter in a panel that does not drill does nothing', focusedOn('endpoints'), key('drill'), {}],
  ['Enter in a drilled panel does nothing more', base({ drills: { sections: { key: '/c' } } }), key('drill'), {}],
  ['Enter with no row does nothing', focusedOn('domains'), key('drill'), {}],
  ['Esc goes back from a drill-down, to the first row', base({ drills: { sections: { key: '/c' } }, positions: { sections: at(1) } }), key('back'), { drills: {}, positions: { sections: TOP } }],
  ['Esc with no drill-down clears the filter text (errors only stays)', base({ filter: filter('api', true) }), key('back'), { filter: filter(null, true) }],
  ['Esc closes the help first', base({ help: true, drills: { sections: { key: '/c' } } }), key('back'), { help: false }],
  ['Esc with nothing to go back from does nothing', base(), key('back'), {}],
  ['t lists the selected row\'s transactions', base({ positions: { sections: at(1) } }), key('transactions'),
    { overlay: { list: { kind: 'rows', panel: 'sections', key: '/b', drill: null }, detail: null, listPosition: TOP }, positions: { sections: at(1), [OVERLAY]: TOP } }],
  ['t in a drilled panel lists an endpoint of the drill-down', base({ drills: { sections: { key: '/a' } } }), key('transactions'),
    { overlay: { list: { kind: 'rows', panel: 'sections', key: '/a', drill: { key: '/a' } }, detail: null, listPosition: TOP }, positions: { [OVERLAY]: TOP } }],
  ['t where rows stand for no transactions says so', focusedOn('health'), key('transactions'), { message: 'select a row of sections, endpoints, domains, status codes, user agents or clients to list its transactions' }],
  ['l lists the slowest requests', base(), key('slowest'), { overlay: { list: { kind: 'slowest' }, detail: null, listPosition: TOP }, positions: { [OVERLAY]: TOP } }],
  ['e shows errors only, every panel from its first row', base({ filter: filter('api'), positions: { sections: at(3) } }), key('errors'), { filter: filter('api', true), positions: allTop }],
  ['e again shows all', base({ filter: filter(null, true) }), key('errors'), { filter: filter(null, false), positions: allTop }],
  ['s sorts by the first numeric column, descending', base({ positions: { sections: at(2) } }), key('sort'), { sorts: { sections: { column: 1, descending: true } }, positions: { sections: TOP } }],
  ['s then sorts by the next', base({ sorts: { sections: { column: 1, descending: true } } }), key('sort'), { sorts: { sections: { column: 2, descending: true } }, positions: { sections: TOP } }],
  ['s after the last column is back to the default order', base({ sorts: { sections: { column: 2, descending: true } } }), key('sort'), { sorts: {}, positions: { sections: TOP } }],
  ['s where nothing is numeric says so', focusedOn('health'), key('sort'), { message: 'this panel has no numeric column to sort by' }],
  ['S from the default order sorts by the first column, ascending', base(), key('sortReverse'), { sorts: { sections: { column: 1, descending: false } }, positions: { sections: TOP } }],
  ['S reverses a sort', base({ sorts: { sections: { column: 2, descending: true } } }), key('sortReverse'), { sorts: { sections: { column: 2, descending: false } }, positions: { sections: TOP } }],
  ['/ opens the filter prompt', base(), key('filter'), { prompting: true }],
  ['v without saved views says where to add them', base(), key('view'), { message: 'no saved views: add "views" to the config (see README, Filters)' }],
  ['v sets the first saved view, every panel from its first row', base({ views: VIEWS, positions: { sections: at(2) } }), key('view'),
    { filter: { text: 'status = 5xx', errorsOnly: false, view: 'errors' }, positions: allTop }],
  ['v again the next', base({ views: VIEWS, filter: { text: 'status = 5xx', errorsOnly: false, view: 'errors' } }), key('view'),
    { filter: { text: 'path ~ ^/api', errorsOnly: false, view: 'api' }, positions: allTop }],
  ['v after the last: no filter (errors only stays)', base({ views: VIEWS, filter: { text: 'path ~ ^/api', errorsOnly: true, view: 'api' } }), key('view'),
    { filter: { text: null, errorsOnly: true }, positions: allTop }],
  ['x and c change nothing in the view (the dashboard writes, then says it)', base(), key('exportHar'), {}],
  ['c too', base(), key('copyCurl'), {}],
  ['w cycles the window: recent → 5 min', base(), key('window'), { window: '5m' }],
  ['w: 5 min → 1 hour', base({ window: '5m' }), key('window'), { window: '1h' }],
  ['w: 1 hour → all', base({ window: '1h' }), key('window'), { window: 'all' }],
  ['w: all → recent', base({ window: 'all' }), key('window'), { window: 'recent' }],
  ['p pauses the view', base(), key('pause'), { paused: true }],
  ['p again resumes it', base({ paused: true }), key('pause'), { paused: false }],
  ['? opens the help from its top', base({ helpOffset: 4 }), key('help'), { help: true, helpOffset: 0 }],
  ['? closes it', base({ help: true }), key('help'), { help: false, helpOffset: 0 }],
  ['q changes nothing in the view (the dashboard passes it on)', base(), key('quit'), {}],
  ['any key clears the message', base({ message: 'bad regex: missing )' }), key('pause'), { message: null, paused: true }],
  ['keys wait while the filter prompt reads a line', base({ prompting: true, message: 'kept' }), key('quit'), {}],
];

const KEYS_WITH_HELP_OPEN: Row[] = [
  ['↓ scrolls the help', smallHelp(), key('down'), { helpOffset: 1 }],
  ['↑ scrolls it back', smallHelp({ helpOffset: 3 }), key('up'), { helpOffset: 2 }],
  ['↑ at its top stays', smallHelp(), key('up'), {}],
  ['PgDn scrolls a page', smallHelp(), key('pageDown'), { helpOffset: 9 }],
  ['PgDn stops at the last page', smallHelp({ helpOffset: 20 }), key('pageDown'), { helpOffset: 27 }],
  ['PgUp scrolls a page back', smallHelp({ helpOffset: 9 }), key('pageUp'), { helpOffset: 0 }],
  ['End shows the last page', smallHelp(), key('bottom'), { helpOffset: 27 }],
  ['Home the first', smallHelp({ helpOffset: 7 }), key('top'), { helpOffset: 0 }],
  ['a help that fits does not scroll', base({ help: true }), key('down'), {}],
  ['the panels keep their selection under the help', base({ help: true, positions: { sections: at(2) } }), key('down'), {}],
  ['Tab still moves the focus', base({ help: true }), key('focusNext'), { focus: index('endpoints'), shown: { ...base().shown, sections: 'endpoints' } }],
];

const KEYS_OVER_A_LIST: Row[] = [
  ['↓ selects the next transaction', listed(), key('down'), { positions: { [OVERLAY]: { offset: 0, selected: 1, key: 't1' } } }],
  ['↑ the one above', listed({ positions: { [OVERLAY]: { offset: 0, selected: 2, key: 't2' } } }), key('up'), { positions: { [OVERLAY]: { offset: 0, selected: 1, key: 't1' } } }],
  ['PgDn a page of them', listed(), key('pageDown'), { positions: { [OVERLAY]: { offset: 0, selected: 2, key: 't2' } } }],
  ['PgUp a page back', listed({ positions: { [OVERLAY]: { offset: 2, selected: 3, key: 't3' } } }), key('pageUp'), { positions: { [OVERLAY]: { offset: 2, selected: 1, key: 't1' } } }],
  ['End the last', listed(), key('bottom'), { positions: { [OVERLAY]: { offset: 0, selected: 3, key: 't3' } } }],
  ['Home the first', listed({ positions: { [OVERLAY]: { offset: 2, selected: 3, key: 't3' } } }), key('top'), { positions: { [OVERLAY]: { offset: 2, selected: 0, key: 't0' } } }],
  ['Enter opens the selected transaction; the list\'s place is kept', listed({ positions: { [OVERLAY]: { offset: 1, selected: 2, key: 't2' } } }), key('drill'),
    { overlay: { list: { kind: 'rows', panel: 'sections', key: '/b', drill: null }, detail: 't2', listPosition: { offset: 1, selected: 2, key: 't2' } }, positions: { [OVERLAY]: TOP } }],
  ['Enter on an open transaction does nothing', listed({ overlay: { list: { kind: 'slowest' }, detail: 't2', listPosition: TOP } }), key('drill'), {}],
  ['Esc goes back from the transaction to the list, where it was', listed({ overlay: { list: { kind: 'slowest' }, detail: 't2', listPosition: { offset: 1, selected: 2, key: 't2' } } }), key('back'),
    { overlay: { list: { kind: 'slowest' }, detail: null, listPosition: { offset: 1, selected: 2, key: 't2' } }, positions: { [OVERLAY]: { offset: 1, selected: 2, key: 't2' } } }],
  ['Esc on the list closes it', listed(), key('back'), { overlay: null }],
  ['Esc closes the help over a list first', listed({ help: true }), key('back'), { help: false }],
  ['Tab and Shift-Tab do nothing over a list', listed(), key('focusNext'), {}],
  ['Shift-Tab', listed(), key('focusPrevious'), {}],
  ['s does nothing over a list', listed(), key('sort'), {}],
  ['S neither', listed(), key('sortReverse'), {}],
  ['t opens the focused row\'s list instead', listed({ positions: { sections: at(3), [OVERLAY]: at(1) } }), key('transactions'),
    { overlay: { list: { kind: 'rows', panel: 'sections', key: '/d', drill: null }, detail: null, listPosition: TOP }, positions: { sections: at(3), [OVERLAY]: TOP } }],
  ['l opens the slowest instead', listed(), key('slowest'), { overlay: { list: { kind: 'slowest' }, detail: null, listPosition: TOP }, positions: { [OVERLAY]: TOP } }],
  ['w acts as on the panels', listed(), key('window'), { window: '5m' }],
  ['e too, and leaves the list where it is', listed({ positions: { [OVERLAY]: at(1) } }), key('errors'), { filter: filter(null, true), positions: { ...allTop, [OVERLAY]: at(1) } }],
  ['p too', listed(), key('pause'), { paused: true }],
  ['? too', listed(), key('help'), { help: true, helpOffset: 0 }],
  ['/ too', listed(), key('filter'), { prompting: true }],
  ['v too', listed({ views: VIEWS }), key('view'), { filter: { text: 'status = 5xx', errorsOnly: false, view: 'errors' }, positions: { ...allTop, [OVERLAY]: listed().positions[OVERLAY] } }],
  ['x leaves the list as it is', listed(), key('exportHar'), {}],
  ['c too', listed(), key('copyCurl'), {}],
  ['q too', listed(), key('quit'), {}],
];

const EVENTS: Row[] = [
  ['a frame fits the position: the selection follows its key as rows re-sort', base({ positions: { sections: at(1) } }),
    { type: 'shown', target: 'sections', shape: { ...ROWS, keys: ['/c', '/a', '/e', '/b', '/d'] } },
    { positions: { sections: at(3, 1, '/b') }, shapes: { ...base().shapes, sections: { ...ROWS, keys: ['/c', '/a', '/e', '/b', '/d'] } } }],
  ['a row that leaves: the row now at its index is selected', base({ positions: { sections: at(4, 2) } }),
    { type: 'shown', target: 'sections', shape: { ...ROWS, count: 3, keys: ['/a', '/b', '/c'] } },
    { positions: { sections: at(2, 0, '/c') }, shapes: { ...base().shapes, sections: { ...ROWS, count: 3, keys: ['/a', '/b', '/c'] } } }],
  ['until a key moves it, the selection stays on the first row, whatever it is', base(),
    { type: 'shown', target: 'sections', shape: { ...ROWS, keys: ['/e', '/a', '/b', '/c', '/d'] } },
    { positions: { sections: TOP }, shapes: { ...base().shapes, sections: { ...ROWS, keys: ['/e', '/a', '/b', '/c', '/d'] } } }],
  ['a resize keeps the focus on its panel and the Tab order in reading order', base(), { type: 'resize', width: 80, height: 24 }, { screen: { width: 80, height: 24 } }],
  ['a resize keeps the help\'s scroll within its lines', smallHelp({ helpOffset: 20 }), { type: 'resize', width: 80, height: 30 }, { screen: { width: 80, height: 30 }, helpOffset: 9 }],
  ['Enter in the prompt sets the filter, trimmed; every panel from its first row', base({ prompting: true, positions: { sections: at(2) } }), { type: 'filterEntered', text: ' api.example ' },
    { prompting: false, filter: filter('api.example'), positions: allTop }],
  ['a regex filter', base({ prompting: true }), { type: 'filterEntered', text: '/^\\/cart\\//i' }, { prompting: false, filter: filter('/^\\/cart\\//i'), positions: allTop }],
  ['a bad regex is said, and the filter stays', base({ prompting: true, filter: filter('api') }), { type: 'filterEntered', text: '/[/' },
    { prompting: false, message: 'bad regex: missing closing ]: `[` at column 1', positions: allTop }],
  ['a look-around (RE2 has none) is a bad regex too', base({ prompting: true }), { type: 'filterEntered', text: '/(?=cart)/' },
    { prompting: false, message: 'bad regex: invalid or unsupported Perl syntax: `(?=` at column 1', positions: allTop }],
  ['an unknown field', base({ prompting: true }), { type: 'filterEntered', text: 'status >= 500 and latncy > 1s' },
    { prompting: false, message: expect.stringMatching(/^bad filter: unknown field "latncy" at column 19 \(fields: method, host, .*\)$/), positions: allTop }],
  ['Esc in the prompt (empty) clears the text; errors only stays', base({ prompting: true, filter: filter('api', true) }), { type: 'filterEntered', text: '' },
    { prompting: false, filter: filter(null, true), positions: allTop }],
];

describe('the dashboard state', () => {
  describe.each([
    ['keys on the panels', KEYS_ON_PANELS],
    ['keys with the help open', KEYS_WITH_HELP_OPEN],
    ['keys over a list of transactions', KEYS_OVER_A_LIST],
    ['the screen\'s events', EVENTS],
  ] as const)('%s', (_group, rows) => {
    it.each(rows)('%s', (_what, before, action, changes) => {
      const frozen = structuredClone(before);
      const after = reduce(before, action);
      const expected = { ...before, ...changes };
      if (action.type === 'key' && !before.prompting && !('message' in changes)) expected.message = null;
      expect(after).toEqual(expected);
      // Pure: the state before is as it was.
      expect(before).toEqual(frozen);
    });
  });

  it('covers every key of the help screen, on the panels, over a list and (the scrolling ones) with the help open', () => {
    const keysOf = (rows: Row[]) => new Set(rows.flatMap(([, , action]) => (action.type === 'key' ? [action.key] : [])));
    const everyKey = KEYMAP.map((binding) => binding.action);
    expect(everyKey.filter((k) => !keysOf(KEYS_ON_PANELS).has(k))).toEqual([]);
    expect(everyKey.filter((k) => !keysOf(KEYS_OVER_A_LIST).has(k))).toEqual([]);
    expect(['up', 'down', 'pageUp', 'pageDown', 'top', 'bottom'].filter((k) => !keysOf(KEYS_WITH_HELP_OPEN).has(k as KeyAction))).toEqual([]);
  });

  it('starts focused on the sections, each place showing its first panel, in reading order', () => {
    const state = initialState(PANELS, 120, 40);
    expect(state.panels.map((p) => p.id)).toEqual(['rate', 'health', 'sections', 'endpoints', 'domains', 'tls', 'statuses', 'userAgents', 'clients', 'alerts']);
    expect(state.panels[state.focus].id).toBe('sections');
    expect(state.shown).toEqual({ rate: 'rate', health: 'health', sections: 'sections', domains: 'domains', statuses: 'statuses', userAgents: 'userAgents', alerts: 'alerts' });
  });

  it('a filter set again to the same text is a new filter (the dashboard restarts it)', () => {
    const before = base({ filter: filter('api') });
    const after = reduce(before, { type: 'filterEntered', text: 'api' });
    expect(after.filter).toEqual(before.filter);
    expect(after.filter).not.toBe(before.filter);
  });
});
