/**
 * The dashboard's filter (`/`, in the filter language of src/filter): narrows every panel, list and the rate chart to the transactions it matches.
 * A second store takes the matching transactions from then on, primed with the matching ones
 * among the last `RECENT_EVENTS` seen (within their share of `memory_budget_mb`, see
 * ./recentTransactions), so the view is not empty when the filter starts. Only the dashboard
 * keeps them: headless outputs have no filter.
 */
import type { KeyBudget } from '../src/stats/keyBudget';
import { budgetShare } from '../src/memoryBudget';
import type { Config } from '../src/config';
import { compileFilter, filterProblem } from '../src/filter/filter';
import { isErrorEvent } from '../src/stats/classify';
import { StatsStore } from '../src/stats/store';
import type { HttpEvent } from '../src/types';
import { RecentTransactions } from './recentTransactions';

/** What is wrong with a filter, in a few words, for the status bar: `bad filter: unknown field "stauts" at column 1`. */
export function filterError(error: unknown): string {
  const problem = filterProblem(error);
  return problem.startsWith('bad regex') ? problem : `bad filter: ${problem}`;
}

/** The predicate of a filter's text (throws FilterError): the language of src/filter, a bare word as `/` always matched. */
export function parseFilter(text: string): (event: HttpEvent) => boolean {
  return compileFilter(text).matches;
}

/** An active filter: text (or none) and/or errors only. */
interface ActiveFilter {
  text: string | null;
  errorsOnly: boolean;
  /** The text's own test (errors only aside). */
  textMatches: (event: HttpEvent) => boolean;
  matches: (event: HttpEvent) => boolean;
  store: StatsStore;
}

/**
 * The filter and what it needs: recent transactions, and its own store while on. Two parts
 * that combine: the `/` text and errors only (`e`: 5xx and unanswered).
 */
export class DashboardFilter {
  private readonly recent: RecentTransactions;
  private active: ActiveFilter | null = null;
  /** The last second of data time closed (the filtered store is brought up to it). */
  private lastClosed = -Infinity;

  /** `keys`: the budget of the statistics' long keys, shared with the run's (by default one of its own). */
  constructor(private readonly config: Config, private readonly keys?: KeyBudget) {
    this.recent = new RecentTransactions(budgetShare(config.memory_budget_mb, 'recentTransactions'));
  }

  /** The filter's text, or null when none. */
  get text(): string | null {
    return this.active?.text ?? null;
  }

  /** Only failed transactions are shown. */
  get errorsOnly(): boolean {
    return this.active?.errorsOnly ?? false;
  }

  /** The filtered statistics, or null when off. */
  get store(): StatsStore | null {
    return this.active?.store ?? null;
  }

  /** Whether a transaction passes the filter (all do when it is off). */
  matches(event: HttpEvent): boolean {
    return this.active === null || this.active.matches(event);
  }

  /** The remembered recent transactions, oldest first. */
  recentEvents(): HttpEvent[] {
    return this.recent.events();
  }

  /** Takes a batch of transactions. */
  observe(events: readonly HttpEvent[]): void {
    this.recent.add(events);
    const active = this.active;
    if (active !== null) active.store.ingest(events.filter(active.matches));
  }

  /** Second `second` of data time is closed. */
  closeSecond(second: number): void {
    this.lastClosed = second;
    this.active?.store.advanceTo(second + 1);
  }

  /** Filters by `text` (with errors only as it is); returns an error message for a bad pattern. */
  set(text: string): string | null {
    let matches: (event: HttpEvent) => boolean;
    try {
      matches = parseFilter(text);
    } catch (error) {
      return filterError(error);
    }
    this.start(text, matches, this.errorsOnly);
    return null;
  }

  /** Shows only failed transactions, or all again (the text filter stays). */
  setErrorsOnly(errorsOnly: boolean): void {
    this.start(this.text, this.active?.textMatches ?? (() => true), errorsOnly);
  }

  /** Clears the text (errors only stays). */
  clear(): void {
    this.start(null, () => true, this.errorsOnly);
  }

  private start(text: string | null, textMatches: (event: HttpEvent) => boolean, errorsOnly: boolean): void {
    // The store it replaces gives its keys' charges back to the budget it shares with the run's.
    this.active?.store.release();
    if (text === null && !errorsOnly) {
      this.active = null;
      return;
    }
    const matches = errorsOnly ? (e: HttpEvent) => isErrorEvent(e) && textMatches(e) : textMatches;
    const store = new StatsStore(this.config, [], this.keys);
    store.ingest(this.recent.events().filter(matches));
    if (this.lastClosed !== -Infinity) store.advanceTo(this.lastClosed + 1);
    this.active = { text, errorsOnly, textMatches, matches, store };
  }
}
