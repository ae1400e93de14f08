/**
 * Where a panel is scrolled to and which row is selected, moved by keys and fitted to each
 * frame's rows. Pure: the dashboard's state keeps a position per panel, and PanelBox draws at it.
 * The selection follows the selected row's key, not its index (as in htop and k9s): as rows
 * re-sort it stays on its row, and when that row leaves, the row now at its index is selected.
 */

/** Where a panel is scrolled to, which row is selected, and that row's key. */
export interface PanelPosition {
  offset: number;
  selected: number;
  /** The selected row's key; undefined until a key moves the selection (it then stays on the first row, whatever it is). */
  key: string | undefined;
}

/** What a frame showed, as far as moving in it goes. */
export interface RowsShape {
  /** Lines of content (below the header). */
  count: number;
  /** Each line's row key, for panels whose rows can be selected; a list without keys only scrolls. */
  keys?: readonly string[];
  /** A chart: never scrolled or selected. */
  fixed?: boolean;
  /** Lines that fit in the panel at once: what PgUp and PgDn move by. */
  rows: number;
  /** The numeric columns shown, by index: what `s` can sort by. */
  sortable?: readonly number[];
}

/** The first row, scrolled to the top (after the content changed meaning: a drill-down, a sort, a filter). */
export const TOP: PanelPosition = { offset: 0, selected: 0, key: undefined };

/** `position` moved by `delta` rows (the scroll follows the selection). */
export function moved(position: PanelPosition, shape: RowsShape | undefined, delta: number): PanelPosition {
  if (shape === undefined || shape.count === 0 || shape.fixed) return position;
  if (shape.keys === undefined) {
    // A list without selection just scrolls.
    return { ...position, offset: Math.max(0, Math.min(shape.count - shape.rows, position.offset + delta)) };
  }
  const selected = Math.max(0, Math.min(shape.count - 1, position.selected + delta));
  return { ...position, selected, key: shape.keys[selected] };
}

/** `position` moved to the first row (`end` false) or the last. */
export function movedToEdge(position: PanelPosition, shape: RowsShape | undefined, end: boolean): PanelPosition {
  return moved(position, shape, end ? Number.MAX_SAFE_INTEGER / 2 : -Number.MAX_SAFE_INTEGER / 2);
}

/** The key of the selected row (the highlighted one), for drilling down and listing. */
export function selectedKey(position: PanelPosition, shape: RowsShape | undefined): string | undefined {
  return shape?.keys?.[position.selected];
}

/** `position` fitted to a new frame: the selection follows its key, and stays in view. */
export function fitted(position: PanelPosition, shape: RowsShape): PanelPosition {
  let { offset, selected, key } = position;
  const { count, rows, keys } = shape;
  if (keys !== undefined) {
    const followed = key === undefined ? -1 : keys.indexOf(key);
    selected = Math.max(0, Math.min(followed >= 0 ? followed : selected, count - 1));
    if (key !== undefined) key = keys[selected];
    if (selected < offset) offset = selected;
    if (selected >= offset + rows) offset = selected - rows + 1;
  }
  offset = Math.max(0, Math.min(offset, Math.max(0, count - rows)));
  return { offset, selected, key };
}
