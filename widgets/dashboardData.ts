/**
 * What the dashboard's view state names, as data: the filter and its store (restarted each
 * time the state sets it), the list of transactions over the panels, and the transaction
 * opened from it. The state says which; this keeps them, and takes the traffic they follow.
 */
import type { KeyBudget } from '../src/stats/keyBudget';
import type { Config } from '../src/config';
import type { HttpEvent } from '../src/types';
import { DashboardFilter } from './dashboardFilter';
import type { DashboardState, ListSpec } from './dashboardState';
import { rowMatcher, TransactionList } from './transactions';

/** A list over the panels, and the transaction opened from it (null while the list shows). */
export interface OpenList {
  list: TransactionList;
  detail: HttpEvent | null;
}

/** The data behind the view. */
export class DashboardData {
  readonly filter: DashboardFilter;
  /** The list the state's overlay names, or null. */
  overlay: OpenList | null = null;

  /** `keys`: the run's statistics' key budget, which a filtered view's statistics share. */
  constructor(config: Config, keys?: KeyBudget) {
    this.filter = new DashboardFilter(config, keys);
  }

  /** Transactions as they arrive: the filter keeps the recent ones; an open live list takes them unless the view is paused. */
  observe(events: readonly HttpEvent[], paused: boolean): void {
    this.filter.observe(events);
    const overlay = this.overlay;
    if (overlay !== null && overlay.list.live && !paused) overlay.list.add(events);
  }

  /** Brings the data in line with a new state: the filter, the open list, the opened transaction. */
  follow(previous: DashboardState, next: DashboardState): void {
    if (next.filter !== previous.filter) {
      if (next.filter.errorsOnly !== this.filter.errorsOnly) this.filter.setErrorsOnly(next.filter.errorsOnly);
      else if (next.filter.text === null) this.filter.clear();
      else this.filter.set(next.filter.text);
    }
    if (next.overlay?.list !== previous.overlay?.list) {
      this.overlay = next.overlay === null ? null : { list: this.listOf(next.overlay.list), detail: null };
    } else if (this.overlay !== null && next.overlay !== null && next.overlay.detail !== previous.overlay?.detail) {
      this.overlay.detail = next.overlay.detail === null ? null : this.overlay.list.eventOf(next.overlay.detail);
    }
  }

  /** The transactions a list names: a row's most recent (through the filter), or the slowest of the window. */
  private listOf(spec: ListSpec): TransactionList {
    if (spec.kind === 'slowest') return new TransactionList('Slowest requests', () => true, false, 'slowest first');
    // The state opens a list only for a row that stands for transactions.
    const row = rowMatcher(spec.panel, spec.key, spec.drill) ?? (() => false);
    // A visitors or networks row's key says which part it is (`visitor:name:GPTBot`): the title says the value.
    const label = spec.key.replace(/^(?:visitor|place):[a-z]+:/, '');
    const list = new TransactionList(`Transactions of ${label}`, (e) => row(e) && this.filter.matches(e), true);
    list.prime(this.filter.recentEvents());
    return list;
  }
}
