/**
 * The one filter language of every view: the dashboard's `/`, `--where` of the headless
 * outputs, an alert rule's `where`, the saved views. A text is parsed once (syntax.ts) and
 * compiled into a predicate (compile.ts); a text that cannot be read is a FilterError that
 * names the problem and its column.
 */
import type { HttpEvent } from '../types';
import { compileNode } from './compile';
import { fieldNamed } from './fields';
import { FilterError, parseFilterText } from './syntax';

export { FilterError } from './syntax';

/** A compiled filter and the text it was compiled from. */
export interface TransactionFilter {
  readonly text: string;
  readonly matches: (e: HttpEvent) => boolean;
}

/** Compiles `text` (throws FilterError). An empty text matches every transaction. */
export function compileFilter(text: string): TransactionFilter {
  const trimmed = text.trim();
  if (trimmed === '') return { text: trimmed, matches: () => true };
  const node = parseFilterText(trimmed, (name) => fieldNamed(name) !== undefined);
  return { text: trimmed, matches: compileNode(node) };
}

/** What is wrong with a filter, in one line: `unknown field "latncy" … at column 18`. */
export function filterProblem(error: unknown): string {
  if (error instanceof FilterError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
