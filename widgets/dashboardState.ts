/**
 * The dashboard's view state, and everything that changes it, as a pure reducer: the keys
 * and the screen's events are actions, and `reduce(state, action)` is the next state — no
 * blessed, no I/O, no data. What the panels drew comes in as the shape of each frame (`shown`),
 * so moving, selecting, drilling and sorting are decided here too. dashboard.ts maps keys to
 * actions, does what a new state asks of the data (the filter, a list of transactions), and
 * draws the state.
 */
import { WINDOWS, type WindowName } from '../src/stats/windows';
import { filterError, parseFilter } from './dashboardFilter';
import { clampHelpOffset, helpFrame } from './helpView';
import { HELP_SCROLL_ACTIONS, type KeyAction } from './keymap';
import { computeLayout, type SlotId } from './layout';
import { inReadingOrder } from './panels';
import { fitted, moved, movedToEdge, selectedKey, TOP, type PanelPosition, type RowsShape } from './position';
import { rowMatcher } from './transactions';
import type { Drill, Sort } from './view';

/** A panel as the state knows it: which it is, where it goes, whether Enter drills into its rows. */
export interface PanelRef {
  id: string;
  slot: SlotId;
  drillable: boolean;
}

/** What a list of transactions over the panels lists: a panel's row (`t`), or the slowest of the window (`l`). */
export type ListSpec = { kind: 'rows'; panel: string; key: string; drill: Drill | null } | { kind: 'slowest' };

/** The list over the panels, and the transaction opened from it. */
export interface OverlayState {
  list: ListSpec;
  /** The row key of the transaction opened (Enter), or null while the list shows. */
  detail: string | null;
  /** Where the list was when the detail was opened: Esc goes back there. */
  listPosition: PanelPosition;
}

/** The filter (`/`, `e`, `v`): a new object each time it is set, even to the same text (the dashboard restarts it then). */
export interface FilterState {
  text: string | null;
  errorsOnly: boolean;
  /** The saved view the text is from (`v`), if it is one. */
  view?: string;
}

/** A saved view as the state knows it: its name and its filter's text (checked when the config loaded). */
export interface ViewRef {
  name: string;
  text: string;
}

/** Where positions and shapes of the list over the panels are kept (no panel has this id). */
export const OVERLAY = 'overlay';

/** The view state, separate from the data. */
export interface DashboardState {
  /** Every panel in Tab order: the reading order of their places at this screen size. */
  panels: readonly PanelRef[];
  /** Index of the focused panel in `panels`. */
  focus: number;
  /** The panel each place shows (the last focused of those that share it). */
  shown: Readonly<Partial<Record<SlotId, string>>>;
  screen: { width: number; height: number };
  window: WindowName;
  paused: boolean;
  help: boolean;
  /** The first help line shown (the help scrolls when the screen is shorter than it). */
  helpOffset: number;
  /** Drill-downs, by panel id. */
  drills: Readonly<Record<string, Drill>>;
  /** Sorts (`s`, `S`), by panel id. */
  sorts: Readonly<Record<string, Sort>>;
  /** A one-line message in the status bar (a bad filter...). */
  message: string | null;
  filter: FilterState;
  /** The filter prompt is reading a line: keys go to it, not here. */
  prompting: boolean;
  /** A list of transactions over the panels (`t`, `l`), or null. */
  overlay: OverlayState | null;
  /** Scroll position and selection, by panel id (and OVERLAY). */
  positions: Readonly<Record<string, PanelPosition>>;
  /** The saved views `v` cycles through (the config's `views`). */
  views: readonly ViewRef[];
  /** What each panel (and OVERLAY) drew last. */
  shapes: Readonly<Record<string, RowsShape>>;
}

/** What changes the view: a key of the key table, and what the screen tells. */
export type DashboardAction =
  | { type: 'key'; key: KeyAction }
  /** The screen is this size (at each frame: the layout follows it). */
  | { type: 'resize'; width: number; height: number }
  /** A panel (or OVERLAY) was drawn with this shape: its position is fitted to it. */
  | { type: 'shown'; target: string; shape: RowsShape }
  /** The filter prompt closed: Enter with this text (empty: no filter), or Esc (''). */
  | { type: 'filterEntered'; text: string }
  /** Something the dashboard did outside the view (an export written, or why not): said in the status bar. */
  | { type: 'said'; message: string };

/** The state of a new dashboard over `panels` on a `width` × `height` screen. */
export function initialState(panels: readonly PanelRef[], width: number, height: number, views: readonly ViewRef[] = []): DashboardState {
  const ordered = inReadingOrder(panels, computeLayout(width, height).slots);
  const shown: Partial<Record<SlotId, string>> = {};
  for (const panel of ordered) shown[panel.slot] ??= panel.id;
  return {
    panels: ordered,
    // The first table has the focus at start: it is what a newcomer looks at and moves in.
    focus: Math.max(0, ordered.findIndex((p) => p.id === 'sections')),
    shown, screen: { width, height }, window: 'recent', paused: false, help: false, helpOffset: 0,
    drills: {}, sorts: {}, message: null, filter: { text: null, errorsOnly: false }, prompting: false, overlay: null, positions: {}, shapes: {}, views,
  };
}

/** The focused panel. */
export function focusedPanel(state: DashboardState): PanelRef {
  return state.panels[state.focus];
}

/** A panel's (or OVERLAY's) position. */
export function positionOf(state: DashboardState, target: string): PanelPosition {
  return state.positions[target] ?? TOP;
}

/** The next state. */
export function reduce(state: DashboardState, action: DashboardAction): DashboardState {
  switch (action.type) {
    case 'key': return state.prompting ? state : onKey({ ...state, message: null }, action.key);
    case 'resize': return resized(state, action.width, action.height);
    case 'shown': return {
      ...state,
      positions: { ...state.positions, [action.target]: fitted(positionOf(state, action.target), action.shape) },
      shapes: { ...state.shapes, [action.target]: action.shape },
    };
    case 'filterEntered': return filtered({ ...state, prompting: false }, action.text.trim());
    case 'said': return { ...state, message: action.message };
  }
}

function onKey(state: DashboardState, key: KeyAction): DashboardState {
  if (state.help && HELP_SCROLL_ACTIONS.has(key)) return scrollHelp(state, key);
  if (state.overlay !== null) {
    const next = onOverlayKey(state, state.overlay, key);
    if (next !== null) return next;
    // `t` and `l` close the list and open another; the other keys act as on the panels.
    if (key === 'transactions' || key === 'slowest') state = { ...state, overlay: null };
  }
  const focused = focusedPanel(state);
  switch (key) {
    case 'focusNext': return focusOn(state, state.focus + 1);
    case 'focusPrevious': return focusOn(state, state.focus - 1);
    case 'up': case 'down': case 'pageUp': case 'pageDown': case 'top': case 'bottom':
      return movedIn(state, focused.id, key);
    case 'drill': {
      const row = selectedKey(positionOf(state, focused.id), state.shapes[focused.id]);
      if (!focused.drillable || state.drills[focused.id] !== undefined || row === undefined) return state;
      return withPosition({ ...state, drills: { ...state.drills, [focused.id]: { key: row } } }, focused.id, TOP);
    }
    case 'back':
      if (state.help) return { ...state, help: false };
      if (state.drills[focused.id] !== undefined) return withPosition({ ...state, drills: without(state.drills, focused.id) }, focused.id, TOP);
      if (state.filter.text !== null) return { ...state, filter: { text: null, errorsOnly: state.filter.errorsOnly } };
      return state;
    case 'transactions': return openTransactions(state, focused);
    case 'slowest': return openList(state, { kind: 'slowest' });
    case 'errors': return panelsToTop({ ...state, filter: { text: state.filter.text, errorsOnly: !state.filter.errorsOnly } });
    case 'sort': return cycleSort(state, focused, false);
    case 'sortReverse': return cycleSort(state, focused, true);
    case 'filter': return { ...state, prompting: true };
    case 'view': return nextView(state);
    // The dashboard writes the export and says how it went ('said'); the view has nothing to change.
    case 'exportHar': case 'copyCurl': return state;
    case 'window': return { ...state, window: WINDOWS[(WINDOWS.indexOf(state.window) + 1) % WINDOWS.length] };
    case 'pause': return { ...state, paused: !state.paused };
    case 'help': return { ...state, help: !state.help, helpOffset: 0 };
    // The dashboard passes the quit on; the view has nothing to change.
    case 'quit': return state;
  }
}

/** `target` moved by a movement key (the state as it was where nothing moves). */
function movedIn(state: DashboardState, target: string, key: 'up' | 'down' | 'pageUp' | 'pageDown' | 'top' | 'bottom'): DashboardState {
  const position = positionOf(state, target);
  const next = movedBy(position, state.shapes[target], key);
  return next === position ? state : withPosition(state, target, next);
}

/** The movement keys as a change of position. */
function movedBy(position: PanelPosition, shape: RowsShape | undefined, key: 'up' | 'down' | 'pageUp' | 'pageDown' | 'top' | 'bottom'): PanelPosition {
  const page = shape?.rows ?? 1;
  switch (key) {
    case 'up': return moved(position, shape, -1);
    case 'down': return moved(position, shape, 1);
    case 'pageUp': return moved(position, shape, -page);
    case 'pageDown': return moved(position, shape, page);
    case 'top': return movedToEdge(position, shape, false);
    case 'bottom': return movedToEdge(position, shape, true);
  }
}

/**
 * Keys while a list or a detail is open: moving, opening, going back. Null for the keys that
 * act as they do on the panels (window, filter, errors only, pause, help, quit; `t` and `l`).
 */
function onOverlayKey(state: DashboardState, overlay: OverlayState, key: KeyAction): DashboardState | null {
  const position = positionOf(state, OVERLAY);
  switch (key) {
    case 'up': case 'down': case 'pageUp': case 'pageDown': case 'top': case 'bottom':
      return movedIn(state, OVERLAY, key);
    case 'drill': {
      const row = selectedKey(position, state.shapes[OVERLAY]);
      if (overlay.detail !== null || row === undefined) return state;
      return withPosition({ ...state, overlay: { ...overlay, detail: row, listPosition: position } }, OVERLAY, TOP);
    }
    case 'back':
      if (state.help) return { ...state, help: false };
      if (overlay.detail !== null) return withPosition({ ...state, overlay: { ...overlay, detail: null } }, OVERLAY, overlay.listPosition);
      return { ...state, overlay: null };
    case 'focusNext': case 'focusPrevious': case 'sort': case 'sortReverse':
      return state;
    default:
      return null;
  }
}

/** Arrows, PgUp/PgDn, Home/End scroll the help while it is open. */
function scrollHelp(state: DashboardState, key: KeyAction): DashboardState {
  const frame = helpFrame(state.screen);
  const deltas: Partial<Record<KeyAction, number>> = { up: -1, down: 1, pageUp: -frame.page, pageDown: frame.page, top: -frame.lines.length, bottom: frame.lines.length };
  return { ...state, helpOffset: clampHelpOffset(frame, state.helpOffset + (deltas[key] ?? 0)) };
}

/** The focus on panel `index` (around the ends); its place shows it. */
function focusOn(state: DashboardState, index: number): DashboardState {
  const focus = (index + state.panels.length) % state.panels.length;
  const panel = state.panels[focus];
  return { ...state, focus, shown: { ...state.shown, [panel.slot]: panel.id } };
}

/** The screen's new size: the Tab order follows the layout, the focus stays on its panel, the help's scroll within it. */
function resized(state: DashboardState, width: number, height: number): DashboardState {
  const focused = focusedPanel(state);
  const panels = inReadingOrder(state.panels, computeLayout(width, height).slots);
  const screen = { width, height };
  const helpOffset = state.help ? clampHelpOffset(helpFrame(screen), state.helpOffset) : state.helpOffset;
  return { ...state, panels, focus: panels.indexOf(focused), screen, helpOffset };
}

/** `t`: the most recent transactions of the focused panel's selected row. */
function openTransactions(state: DashboardState, panel: PanelRef): DashboardState {
  const key = selectedKey(positionOf(state, panel.id), state.shapes[panel.id]);
  const drill = state.drills[panel.id] ?? null;
  if (key === undefined || rowMatcher(panel.id, key, drill) === null) {
    return { ...state, message: 'select a row of sections, endpoints, domains, status codes, user agents or clients to list its transactions' };
  }
  return openList(state, { kind: 'rows', panel: panel.id, key, drill });
}

function openList(state: DashboardState, list: ListSpec): DashboardState {
  return withPosition({ ...state, overlay: { list, detail: null, listPosition: TOP } }, OVERLAY, TOP);
}

/**
 * `s`: sorts the focused panel by its next numeric column (after the last: back to the
 * default order); `S`: the other way round (from the default order: by the first column, ascending).
 */
function cycleSort(state: DashboardState, panel: PanelRef, reverse: boolean): DashboardState {
  const sortable = state.shapes[panel.id]?.sortable ?? [];
  if (sortable.length === 0) return { ...state, message: 'this panel has no numeric column to sort by' };
  const current: Sort | undefined = state.sorts[panel.id];
  let next: Sort | undefined;
  if (reverse) {
    next = current === undefined ? { column: sortable[0], descending: false } : { ...current, descending: !current.descending };
  } else {
    const index = current === undefined ? 0 : sortable.indexOf(current.column) + 1;
    next = index >= sortable.length ? undefined : { column: sortable[index], descending: true };
  }
  const sorts = next === undefined ? without(state.sorts, panel.id) : { ...state.sorts, [panel.id]: next };
  return withPosition({ ...state, sorts }, panel.id, TOP);
}

/** A filter entered at the prompt: empty clears the text; a bad pattern is said and the filter stays as it was. */
function filtered(state: DashboardState, text: string): DashboardState {
  if (text === '') return panelsToTop({ ...state, filter: { text: null, errorsOnly: state.filter.errorsOnly } });
  try {
    parseFilter(text);
  } catch (error) {
    return panelsToTop({ ...state, message: filterError(error) });
  }
  return panelsToTop({ ...state, message: null, filter: { text, errorsOnly: state.filter.errorsOnly } });
}

/** `v`: the next saved view's filter (after the last: no filter). */
function nextView(state: DashboardState): DashboardState {
  const { views } = state;
  if (views.length === 0) return { ...state, message: 'no saved views: add "views" to the config (see README, Filters)' };
  const index = state.filter.view === undefined ? 0 : views.findIndex((v) => v.name === state.filter.view) + 1;
  const errorsOnly = state.filter.errorsOnly;
  if (index >= views.length) return panelsToTop({ ...state, filter: { text: null, errorsOnly } });
  return panelsToTop({ ...state, filter: { text: views[index].text, errorsOnly, view: views[index].name } });
}

/** Every panel back to its first row (the filter changed what they all show). */
function panelsToTop(state: DashboardState): DashboardState {
  const positions: Record<string, PanelPosition> = {};
  for (const panel of state.panels) positions[panel.id] = TOP;
  return { ...state, positions: { ...state.positions, ...positions } };
}

function withPosition(state: DashboardState, target: string, position: PanelPosition): DashboardState {
  return { ...state, positions: { ...state.positions, [target]: position } };
}

function without<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _removed, ...rest } = record;
  return rest;
}
