/**
 * The dashboard's keys, in one table: the key handler, the help overlay and the status-bar
 * hints are all made from it, so they cannot disagree.
 */
import { wrap } from '../src/format';

/** What a key does. */
export type KeyAction =
  | 'focusNext' | 'focusPrevious' | 'up' | 'down' | 'pageUp' | 'pageDown' | 'top' | 'bottom'
  | 'drill' | 'back' | 'transactions' | 'slowest' | 'errors' | 'sort' | 'sortReverse' | 'filter' | 'view' | 'exportHar' | 'copyCurl'
  | 'window' | 'pause' | 'help' | 'quit';

/** One row of the key table. */
export interface KeyBinding {
  /** blessed key names. */
  keys: string[];
  /** How the help and the status bar write the keys. */
  label: string;
  description: string;
  action: KeyAction;
  /** Shown in the status bar (short form). */
  hint?: string;
  /** Shares the help line of the binding before it (its label and description are added there). */
  helpWithPrevious?: boolean;
}

export const KEYMAP: readonly KeyBinding[] = [
  { keys: ['tab'], label: 'Tab', description: 'focus the next panel', action: 'focusNext', hint: 'focus' },
  { keys: ['S-tab'], label: 'Shift-Tab', description: 'the previous', action: 'focusPrevious', helpWithPrevious: true },
  { keys: ['up', 'k'], label: '↑ / k', description: 'move up in the focused panel', action: 'up' },
  { keys: ['down', 'j'], label: '↓ / j', description: 'move down in the focused panel', action: 'down', hint: 'scroll' },
  { keys: ['pageup'], label: 'PgUp', description: 'a page up', action: 'pageUp' },
  { keys: ['pagedown'], label: 'PgDn', description: 'down', action: 'pageDown', helpWithPrevious: true },
  { keys: ['home', 'g'], label: 'Home / g', description: 'to the first row', action: 'top' },
  { keys: ['end', 'S-g'], label: 'End / G', description: 'to the last row', action: 'bottom' },
  { keys: ['enter'], label: 'Enter', description: 'drill down: section → endpoints, domain → sections, TLS name → clients', action: 'drill', hint: 'drill' },
  { keys: ['t'], label: 't', description: 'the row\'s latest transactions; Enter opens one', action: 'transactions', hint: 'transactions' },
  { keys: ['l'], label: 'l', description: 'the slowest requests of the window', action: 'slowest', hint: 'slowest' },
  { keys: ['e'], label: 'e', description: 'errors only (5xx and unanswered), with the filter', action: 'errors', hint: 'errors' },
  { keys: ['escape'], label: 'Esc', description: 'back (detail, list, drill-down); clear filter; close help', action: 'back', hint: 'back' },
  { keys: ['s'], label: 's', description: 'sort by the next numeric column (▼)', action: 'sort', hint: 'sort' },
  { keys: ['S-s'], label: 'S', description: 'S reverses it', action: 'sortReverse', helpWithPrevious: true },
  { keys: ['/'], label: '/', description: 'filter: a word, or e.g. status = 5xx (Filters below)', action: 'filter', hint: 'filter' },
  { keys: ['v'], label: 'v', description: 'the next saved view (the config\'s "views"), then none', action: 'view', hint: 'views' },
  { keys: ['x'], label: 'x', description: 'write the open list, or transaction, as a HAR file', action: 'exportHar' },
  { keys: ['c'], label: 'c', description: 'copy the open transaction as curl (clipboard, and a file)', action: 'copyCurl' },
  { keys: ['w'], label: 'w', description: 'cycle the window: recent, 5 min, 1 hour, all', action: 'window', hint: 'window' },
  { keys: ['p'], label: 'p', description: 'pause the view (capture goes on)', action: 'pause', hint: 'pause' },
  { keys: ['?'], label: '?', description: 'this help', action: 'help', hint: 'help' },
  { keys: ['q', 'C-c'], label: 'q / Ctrl-C', description: 'quit', action: 'quit', hint: 'quit' },
];

/** The status bar's key hints: `Tab focus ↓ scroll …`. */
export function keyHints(): string {
  return KEYMAP.filter((k) => k.hint !== undefined).map((k) => `${k.label.split(' / ')[0]} ${k.hint}`).join('  ');
}

/**
 * The help overlay's lines (a binding marked `helpWithPrevious` joins the line before), each
 * description wrapped within `width` cells under its own column.
 */
export function helpLines(width = Number.POSITIVE_INFINITY): string[] {
  const entries: Array<{ label: string; description: string }> = [];
  for (const k of KEYMAP) {
    const last = entries[entries.length - 1];
    if (k.helpWithPrevious && last !== undefined) {
      last.label += ` / ${k.label}`;
      last.description += `; ${k.description}`;
    } else {
      entries.push({ label: k.label, description: k.description });
    }
  }
  const labelWidth = Math.max(...entries.map((e) => e.label.length));
  const indent = ' '.repeat(labelWidth + 2);
  return entries.flatMap((e) => wrap(e.description, width - indent.length)
    .map((line, i) => `${i === 0 ? `${e.label.padEnd(labelWidth)}  ` : indent}${line.trimStart()}`));
}

/** The keys that scroll the help while it is open (the rest close it or act as usual). */
export const HELP_SCROLL_ACTIONS: ReadonlySet<KeyAction> = new Set(['up', 'down', 'pageUp', 'pageDown', 'top', 'bottom']);
