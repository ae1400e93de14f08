/** The data the dashboard's state names: the filter it sets, the list it opens, the transaction opened from it. */
import { defaultConfig } from '../src/config';
import type { HttpEvent } from '../src/types';
import { DashboardData } from '../widgets/dashboardData';
import { initialState, reduce, type DashboardAction, type DashboardState } from '../widgets/dashboardState';

const PANELS = [{ id: 'sections', slot: 'sections' as const, drillable: true }, { id: 'health', slot: 'health' as const, drillable: false }];

function event(ts: number, host: string, section: string, status: number | null = 200): HttpEvent {
  return {
    ts, src: '10.0.0.1', sport: 1, dst: '10.0.0.2', dport: 80, method: 'GET', host, uri: `${section}/x`, section,
    status, reqBytes: 0, respBytes: 10, ua: 'curl/8', latencyMs: 1, version: '1.1', route: '/', client: '10.0.0.1', uriTruncated: false, requestHeaders: '', responseHeaders: '',
  };
}

/** A state, the data following it, and a way to act. */
function harness() {
  const data = new DashboardData(defaultConfig());
  let state: DashboardState = initialState(PANELS, 120, 40);
  const act = (action: DashboardAction) => {
    const next = reduce(state, action);
    data.follow(state, next);
    state = next;
  };
  const sectionsShow = (keys: string[]) => act({ type: 'shown', target: 'sections', shape: { count: keys.length, keys, rows: 10 } });
  return { data, act, sectionsShow, state: () => state };
}

describe('the dashboard data', () => {
  it('the filter follows the state: text, errors only, cleared', () => {
    const h = harness();
    h.data.observe([event(1, 'api.example', '/v1'), event(1.5, 'shop.example', '/cart', 503)], false);
    h.act({ type: 'filterEntered', text: 'api' });
    expect(h.data.filter.text).toBe('api');
    expect(h.data.filter.store!.builtins.requests.total).toBe(1);
    h.act({ type: 'key', key: 'errors' });
    expect(h.data.filter.errorsOnly).toBe(true);
    expect(h.data.filter.store!.builtins.requests.total).toBe(0);
    h.act({ type: 'key', key: 'back' });
    expect(h.data.filter.text).toBeNull();
    expect(h.data.filter.store!.builtins.requests.total).toBe(1);
    h.act({ type: 'key', key: 'errors' });
    expect(h.data.filter.store).toBeNull();
  });

  it('a bad pattern leaves the filter as it was', () => {
    const h = harness();
    h.act({ type: 'filterEntered', text: 'api' });
    h.act({ type: 'filterEntered', text: '/(a/' });
    expect(h.data.filter.text).toBe('api');
  });

  it('t opens the row\'s list, primed with what was seen and following new traffic; Enter opens a transaction, Esc closes', () => {
    const h = harness();
    const first = event(1, 'shop.example', '/cart');
    h.data.observe([first, event(1.2, 'api.example', '/v1')], false);
    h.sectionsShow(['/cart', '/v1']);
    h.act({ type: 'key', key: 'transactions' });
    const open = h.data.overlay!;
    expect(open.list.events).toEqual([first]);
    const later = event(2, 'shop.example', '/cart');
    h.data.observe([later], false);
    h.data.observe([event(3, 'shop.example', '/cart')], true);
    expect(open.list.events).toEqual([later, first]);
    const keys = open.list.content(100).keys!;
    h.act({ type: 'shown', target: 'overlay', shape: { count: keys.length, keys, rows: 10 } });
    h.act({ type: 'key', key: 'down' });
    h.act({ type: 'key', key: 'drill' });
    expect(h.data.overlay!.detail).toEqual(first);
    h.act({ type: 'key', key: 'back' });
    expect(h.data.overlay!.detail).toBeNull();
    expect(h.data.overlay!.list).toBe(open.list);
    h.act({ type: 'key', key: 'back' });
    expect(h.data.overlay).toBeNull();
  });

  it('l opens the slowest list, which is recomputed rather than fed', () => {
    const h = harness();
    h.act({ type: 'key', key: 'slowest' });
    expect(h.data.overlay!.list.live).toBe(false);
    h.data.observe([event(1, 'shop.example', '/cart')], false);
    expect(h.data.overlay!.list.events).toEqual([]);
  });
});
