/**
 * The help overlay at a screen size: its box, its lines (from the key table) wrapped to fit,
 * and the page of them shown from a scroll position, with the range in its label. Pure: the
 * dashboard's state keeps the scroll position, the dashboard draws the page.
 */
import { wrap } from '../src/format';
import { FIELDS, type FieldKind } from '../src/filter/fields';
import { helpLines } from './keymap';

/** What the operators of each kind of field are, for the help's filter lines. */
const KIND_OPERATORS: Record<FieldKind, string> = {
  text: '= != (exact; * is a wildcard), ~ !~ (RE2 regex), in (a, b)',
  number: '= != < <= > >=, in (…); ranges 500..599, classes 5xx, units 250ms 1.5s 64k',
  address: '= != in (…) with an IP, a network 10.0.0.0/8, :port or IP:port; ~ !~',
  flag: 'alone (unanswered), or = true / false',
};

/** The help's section on the filter language (`/`, --where, saved views), made from the fields' table. */
export function filterHelpLines(width: number): string[] {
  const lines = ['Filters (/, --where, saved views):'];
  const add = (text: string, indent = '  ') => lines.push(...wrap(text, width - indent.length).map((line, i) => `${i === 0 ? indent : `${indent}  `}${line.trimStart()}`));
  add('a word looks in host and URI (as /regex/ too); or compare fields:');
  for (const kind of ['text', 'number', 'address', 'flag'] as const) {
    add(`${FIELDS.filter((f) => f.kind === kind).map((f) => f.name).join(' ')}: ${KIND_OPERATORS[kind]}`);
  }
  add('combine with and, or, not, ( ); terms side by side are and-ed. e.g. method = POST and path ~ ^/api and latency > 500ms');
  return lines;
}

/** Where the help is drawn and what it holds. */
export interface HelpFrame {
  width: number;
  height: number;
  lines: string[];
  /** Lines shown at once (inside the border). */
  page: number;
}

/** The help's frame on a `screen`-sized terminal. */
export function helpFrame(screen: { width: number; height: number }): HelpFrame {
  const width = Math.min(100, screen.width - 2);
  // Inside the border and the padding.
  const lines = [...helpLines(width - 4), '', ...filterHelpLines(width - 4)];
  const height = Math.max(3, Math.min(lines.length + 2, screen.height - 1));
  return { width, height, lines, page: height - 2 };
}

/** `offset` within the frame: the last page ends at the last line. */
export function clampHelpOffset(frame: HelpFrame, offset: number): number {
  return Math.max(0, Math.min(frame.lines.length - frame.page, offset));
}

/** The label and the text of the page shown from `offset`. */
export function helpPage(frame: HelpFrame, offset: number): { label: string; content: string } {
  const { lines, page } = frame;
  const range = lines.length > page ? ` [${offset + 1}-${offset + page}/${lines.length}] ↑↓ PgUp PgDn scroll` : '';
  return { label: ` Keys (Esc or ? to close)${range} `, content: lines.slice(offset, offset + page).join('\n') };
}
