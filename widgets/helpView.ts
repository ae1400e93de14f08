/**
 * The help overlay at a screen size: its box, its lines (from the key table) wrapped to fit,
 * and the page of them shown from a scroll position, with the range in its label. Pure: the
 * dashboard's state keeps the scroll position, the dashboard draws the page.
 */
import { helpLines } from './keymap';

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
  const width = Math.min(78, screen.width - 2);
  // Inside the border and the padding.
  const lines = helpLines(width - 4);
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
