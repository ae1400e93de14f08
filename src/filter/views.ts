/**
 * Saved views: named filters in the config (`views`), which the dashboard's `v` cycles through.
 * Each is checked when the config loads: a view that does not compile is a config error that
 * names the view, not a surprise on the dashboard later.
 */
import { compileFilter, filterProblem, type TransactionFilter } from './filter';

/** A named filter. */
export interface SavedView {
  name: string;
  filter: TransactionFilter;
}

/** Longest view name (it is shown in the status bar). */
const MAX_NAME_LENGTH = 40;

/** The views of the `views` setting, compiled; throws an Error naming `views[i]` and the problem. */
export function savedViews(value: readonly unknown[]): SavedView[] {
  const names = new Set<string>();
  return value.map((item, index) => {
    const at = `views[${index}]`;
    const view = item as Record<string, unknown>;
    for (const key of Object.keys(view)) {
      if (key !== 'name' && key !== 'where') throw new Error(`"${at}.${key.slice(0, 30)}" is not a view key (known: name, where)`);
    }
    if (typeof view.name !== 'string' || view.name.trim() === '' || view.name.length > MAX_NAME_LENGTH) {
      throw new Error(`"${at}.name" must be a short text (1 to ${MAX_NAME_LENGTH} characters)`);
    }
    if (names.has(view.name)) throw new Error(`"${at}.name": "${view.name}" is the name of an earlier view`);
    names.add(view.name);
    if (typeof view.where !== 'string' || view.where.trim() === '') throw new Error(`"${at}.where" must be a filter expression such as "status = 5xx"`);
    try {
      return { name: view.name, filter: compileFilter(view.where) };
    } catch (error) {
      throw new Error(`"${at}.where": ${filterProblem(error)}`);
    }
  });
}
