/**
 * The dashboard's keys, in one table: the key handler, the help overlay and the status-bar
 * hints are all made from it, so they cannot disagree.
 */

/** What a key does. */
export type DashboardAction =
  | 'focusNext' | 'focusPrevious' | 'up' | 'down' | 'pageUp' | 'pageDown' | 'top' | 'bottom'
  | 'drill' | 'back' | 'sort' | 'sortReverse' | 'filter' | 'window' | 'pause' | 'help' | 'quit';

/** One row of the key table. */
export interface KeyBinding {
  /** blessed key names. */
  keys: string[];
  /** How the help and the status bar write the keys. */
  label: string;
  description: string;
  action: DashboardAction;
  /** Shown in the status bar (short form). */
  hint?: string;
}

export const KEYMAP: readonly KeyBinding[] = [
  { keys: ['tab'], label: 'Tab', description: 'focus the next panel', action: 'focusNext', hint: 'focus' },
  { keys: ['S-tab'], label: 'Shift-Tab', description: 'focus the previous panel', action: 'focusPrevious' },
  { keys: ['up', 'k'], label: '↑ / k', description: 'move up in the focused panel', action: 'up' },
  { keys: ['down', 'j'], label: '↓ / j', description: 'move down in the focused panel', action: 'down', hint: 'scroll' },
  { keys: ['pageup'], label: 'PgUp', description: 'a page up', action: 'pageUp' },
  { keys: ['pagedown'], label: 'PgDn', description: 'a page down', action: 'pageDown' },
  { keys: ['home', 'g'], label: 'Home / g', description: 'to the first row', action: 'top' },
  { keys: ['end', 'S-g'], label: 'End / G', description: 'to the last row', action: 'bottom' },
  { keys: ['enter'], label: 'Enter', description: 'drill down: a section into its endpoints, a domain into its sections', action: 'drill', hint: 'drill' },
  { keys: ['escape'], label: 'Esc', description: 'back from a drill-down; clear the filter; close help', action: 'back', hint: 'back' },
  { keys: ['s'], label: 's', description: 'sort the panel by its next numeric column (▼ in the header)', action: 'sort', hint: 'sort' },
  { keys: ['S-s'], label: 'S', description: 'reverse the sort', action: 'sortReverse' },
  { keys: ['/'], label: '/', description: 'filter every panel by host or URI (text, or /regex/)', action: 'filter', hint: 'filter' },
  { keys: ['w'], label: 'w', description: 'cycle the window: recent, 5 min, 1 hour, all', action: 'window', hint: 'window' },
  { keys: ['p'], label: 'p', description: 'pause the view (capture goes on)', action: 'pause', hint: 'pause' },
  { keys: ['?'], label: '?', description: 'this help', action: 'help', hint: 'help' },
  { keys: ['q', 'C-c'], label: 'q / Ctrl-C', description: 'quit', action: 'quit', hint: 'quit' },
];

/** The status bar's key hints: `Tab focus ↓ scroll …`. */
export function keyHints(): string {
  return KEYMAP.filter((k) => k.hint !== undefined).map((k) => `${k.label.split(' / ')[0]} ${k.hint}`).join('  ');
}

/** The help overlay's lines. */
export function helpLines(): string[] {
  const width = Math.max(...KEYMAP.map((k) => k.label.length));
  return KEYMAP.map((k) => `${k.label.padEnd(width)}  ${k.description}`);
}
