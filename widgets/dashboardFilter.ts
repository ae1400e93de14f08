/**
 * The dashboard's filter (`/`): narrows every panel to transactions whose host or URI match.
 * A second store takes the matching transactions from then on, primed with the matching ones
 * among the last `RECENT_EVENTS` seen (within their share of `memory_budget_mb`), so the view is not empty when the filter starts. Those
 * are kept in the compact form they crossed from the worker in (~200 bytes each, outside the
 * JavaScript heap), not as objects: 50,000 event objects cost ~65 MB of heap. Only the
 * dashboard keeps them: headless outputs have no filter.
 */
import type { KeyBudget } from '../src/stats/keyBudget';
import { RE2JS } from 're2js';
import { decodeEvents, encodeEvents, type EncodedBatch } from '../src/capture/eventBatch';
import { budgetShare } from '../src/memoryBudget';
import type { Config } from '../src/config';
import { isErrorEvent } from '../src/stats/classify';
import { StatsStore } from '../src/stats/store';
import type { HttpEvent } from '../src/types';

/** Transactions remembered to prime a new filter (bounded: ~10 MB). */
export const RECENT_EVENTS = 50_000;

/**
 * The last RECENT_EVENTS transactions within `maxBytes` (and less than one batch more), as
 * encoded batches. The byte bound matters: hostile 3 KB strings would make 50,000 take 150 MB.
 */
class RecentTransactions {
  private readonly batches: EncodedBatch[] = [];
  private count = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  add(batch: EncodedBatch): void {
    if (batch.count === 0) return;
    this.batches.push(batch);
    this.count += batch.count;
    this.bytes += batch.buffer.byteLength;
    while (this.batches.length > 1
      && (this.count - this.batches[0].count >= RECENT_EVENTS || this.bytes - this.batches[0].buffer.byteLength >= this.maxBytes)) {
      const dropped = this.batches.shift()!;
      this.count -= dropped.count;
      this.bytes -= dropped.buffer.byteLength;
    }
  }

  /** The remembered transactions, oldest first. */
  events(): HttpEvent[] {
    const events = this.batches.flatMap(decodeEvents);
    return events.length > RECENT_EVENTS ? events.slice(events.length - RECENT_EVENTS) : events;
  }
}

/** The regex flags a filter may carry, as RE2 knows them. */
const FLAGS: Record<string, number> = { i: RE2JS.CASE_INSENSITIVE, s: RE2JS.DOTALL, m: RE2JS.MULTILINE };

/**
 * Parses a filter: `/regex/flags` (flags i, s, m), or a case-insensitive substring. Throws on
 * a bad regex. Regexes run on RE2 (re2js), whose time is linear in the text: a pattern with
 * catastrophic backtracking in JavaScript's engine (`/(a+)+$/` on a long URI from the wire)
 * cannot freeze the dashboard. RE2 has no look-around or back-references; such a pattern is a
 * bad filter, said in the status bar.
 */
export function parseFilter(text: string): (event: HttpEvent) => boolean {
  const regex = /^\/(.+)\/([a-z]*)$/.exec(text);
  if (regex !== null) {
    let flags = 0;
    for (const flag of regex[2]) {
      if (FLAGS[flag] === undefined) throw new Error(`unknown flag "${flag}" (i, s and m are known)`);
      flags |= FLAGS[flag];
    }
    const pattern = RE2JS.compile(regex[1], flags);
    return (e) => pattern.matcher(e.host).find() || pattern.matcher(e.uri).find() || (e.node !== undefined && pattern.matcher(e.node).find());
  }
  const needle = text.toLowerCase();
  return (e) => e.host.toLowerCase().includes(needle) || e.uri.toLowerCase().includes(needle) || (e.node !== undefined && e.node.toLowerCase().includes(needle));
}

/** RE2's own prefix of every pattern error: said once as `bad regex`, so the part that helps fits the status bar. */
const RE2_PREFIX = 'error parsing regexp: ';

/** What is wrong with a filter, in a few words: `bad regex: missing closing ): \`(a\``. */
export function filterError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.startsWith(RE2_PREFIX) ? `bad regex: ${message.slice(RE2_PREFIX.length)}` : `bad filter: ${message}`;
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

  /** Takes a batch of transactions; `encoded` is their compact form when the caller has it. */
  observe(events: readonly HttpEvent[], encoded: EncodedBatch = encodeEvents(events)): void {
    this.recent.add(encoded);
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
