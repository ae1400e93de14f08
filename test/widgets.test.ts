/** The dashboard without a terminal: panels, keys, filter, drill-down, layout, throttling. */
import { defaultConfig } from '../src/config';
import { RunState } from '../src/run/runState';
import { TuiSink } from '../src/sinks/tui';
import { terminalFor, tuiUnavailable } from '../src/sinks/tuiTerminal';
import type { HttpEvent, TlsConnection } from '../src/types';
import type { StatModule } from '../src/stats/statModule';
import { Dashboard } from '../widgets/dashboard';
import { emptyCaptureStats } from '../src/types';
import { KEYMAP, helpLines } from '../widgets/keymap';
import { helpFrame } from '../widgets/helpView';
import { URI_MIN_WIDTH } from '../widgets/transactions';
import { computeLayout, SLOT_IDS, type SlotId } from '../widgets/layout';
import { renderBars } from '../widgets/rateChart';
import { RenderScheduler } from '../widgets/renderScheduler';
import { table } from '../widgets/text';
import { Conversation, request, response, runFrames } from './helpers/conversation';
import { fakeScreen } from './helpers/fakeScreen';
import { manualClock } from './helpers/manualClock';
import { RouteTemplater } from '../src/http/route';

const T0 = 1_700_000_000;

const routes = new RouteTemplater();

function event(ts: number, fields: Partial<HttpEvent> = {}): HttpEvent {
  const uri = fields.uri ?? '/cart/1';
  return {
    ts, src: '10.0.0.1', sport: 1, dst: '10.0.0.2', dport: 80, method: 'GET', host: 'shop.example.com', uri, section: '/cart',
    status: 200, reqBytes: 0, respBytes: 1000, ua: 'curl/8', latencyMs: 12, version: '1.1', route: routes.route(uri), client: fields.src ?? '10.0.0.1',
    uriTruncated: false, requestHeaders: '', responseHeaders: '', ...fields,
  };
}

function setup(columns = 120, rows = 40, plugins: StatModule[] = []) {
  const config = { ...defaultConfig(), dashboard_bucket_size: 10, average_learning_duration: 20, average_bucket_size: 10 };
  const run = new RunState(config, 'test', plugins);
  const screen = fakeScreen(columns, rows);
  let quits = 0;
  const clock = manualClock();
  const dashboard = new Dashboard({ run, screen, onQuit: () => { quits++; }, color: true, clock });
  const feed = (events: HttpEvent[], until: number) => {
    run.ingest(events);
    dashboard.observe(events);
    run.advanceTo(until);
  };
  /** The screen as drawn now, one string per row. */
  const drawn = (): string[] => {
    dashboard.render();
    return dashboard.drawnText();
  };
  /** A panel as drawn in its place: its label (top border) and its rows (header first), without borders. */
  const panel = (slot: SlotId): { title: string; lines: string[]; rows: string[]; keys: string[] } => {
    const rect = computeLayout(columns, rows).slots[slot];
    const box = drawn().slice(rect.top, rect.top + rect.height).map((l) => l.slice(rect.left, rect.left + rect.width));
    const lines = box.slice(1, -1).map((l) => l.slice(1, -1).trimEnd());
    const body = lines.slice(1).filter((l) => l.trim() !== '');
    return { title: box[0], lines, rows: body, keys: body.map((l) => l.trim().split(/\s+/)[0]) };
  };
  /** The status bar. */
  const status = (): string => drawn()[rows - 1];
  /** The highlighted (inverse) row of a place, as drawn, or null. */
  const highlighted = (slot: SlotId): string | null => {
    dashboard.render();
    const rect = computeLayout(columns, rows).slots[slot];
    const cells = (screen as unknown as { lines: Array<Array<[number, string]>> }).lines;
    // blessed keeps the attribute flags above bit 18; inverse is flag 8.
    const inverse = (cell: [number, string]) => ((cell[0] >> 18) & 8) !== 0;
    for (let y = rect.top + 1; y < rect.top + rect.height - 1; y++) {
      const row = cells[y].slice(rect.left + 1, rect.left + rect.width - 1);
      if (row.length > 0 && row.every(inverse)) return row.map((cell) => cell[1]).join('').trimEnd();
    }
    return null;
  };
  return { run, screen, dashboard, feed, clock, drawn, panel, status, highlighted, quits: () => quits };
}

function traffic(): HttpEvent[] {
  const events: HttpEvent[] = [];
  for (let s = 0; s < 30; s++) {
    for (let i = 0; i < 10; i++) {
      const api = i % 3 === 0;
      events.push(event(T0 + s + i / 10, {
        host: api ? 'api.example.com' : 'shop.example.com', uri: api ? `/v1/items/${i}` : `/cart/${i % 2}`, section: api ? '/v1' : '/cart',
        status: i === 9 ? 503 : 200, ua: i % 2 ? 'curl/8' : 'Mozilla/5.0', method: i === 4 ? 'POST' : 'GET',
      }));
    }
  }
  return events;
}

describe('panels show what the store holds', () => {
  it('every panel has its title and rows', () => {
    const { panel, feed } = setup();
    feed(traffic(), T0 + 30);
    const sections = panel('sections');
    expect(sections.title).toContain('Top sections (last 10s)');
    // The last complete 10 s bucket: 100 requests.
    expect(sections.rows[0]).toMatch(/^\/cart\s+60\s+60\.0%/);
    expect(sections.rows[1]).toMatch(/^\/v1\s+40\s+40\.0%/);
    expect(panel('domains').keys).toEqual(['shop.example.com', 'api.example.com']);
    const statuses = panel('statuses');
    expect(statuses.title).toContain('Status 10.0% err');
    expect(statuses.rows[0]).toMatch(/^200\s+90\s+90\.0%/);
    expect(statuses.rows).toContainEqual(expect.stringMatching(/^503\s+10\s+10\.0%/));
    expect(statuses.rows).toContainEqual(expect.stringMatching(/^Method/));
    expect(panel('userAgents').keys.sort()).toEqual(['Mozilla/5.0', 'curl/8']);
    const rate = panel('rate');
    expect(rate.title).toMatch(/Requests\/s: 10 now/);
    expect(rate.lines.some((l) => l.includes('█'))).toBe(true);
    expect(panel('health').title).toContain('Capture health');
    expect(panel('alerts').lines[0]).toMatch(/No alert so far/);
  });

  it('the capture health says how many workers share the capture, and warns when one is hot', () => {
    const { run, panel, feed } = setup(120, 50);
    feed(traffic(), T0 + 30);
    const stats = { ...emptyCaptureStats(), packets: 3000 };
    run.updateCapture(stats, T0 + 30, [{ packets: 1500, transactions: 150, kernelDrops: 0 }, { packets: 1500, transactions: 150, kernelDrops: 0 }]);
    const even = panel('health').lines.join('\n');
    expect(even).toMatch(/workers\s+2/);
    expect(even).not.toMatch(/worker skew/);
    run.updateCapture(stats, T0 + 31, [{ packets: 2700, transactions: 270, kernelDrops: 0 }, { packets: 300, transactions: 30, kernelDrops: 0 }]);
    expect(panel('health').lines.join('\n')).toMatch(/worker skew\s+1\.8x avg/);
    expect(run.health.workerSkew()).toBeCloseTo(1.8);
  });

  it('the alert log lists alerts and recoveries newest first, with durations', () => {
    const { panel, feed } = setup();
    const quiet = (from: number, to: number, rps: number) => Array.from({ length: (to - from) * rps }, (_, i) => event(T0 + from + i / rps));
    feed(quiet(0, 20, 10), T0 + 20);
    feed(quiet(20, 25, 40), T0 + 25);
    feed(quiet(25, 60, 10), T0 + 60);
    const alerts = panel('alerts');
    expect(alerts.title).toMatch(/Alerts \(1\) · max \d+s avg \d+s/);
    const text = alerts.lines.join(' ');
    expect(text.indexOf('Traffic recovered')).toBeGreaterThanOrEqual(0);
    expect(text.indexOf('Traffic recovered')).toBeLessThan(text.indexOf('High traffic generated an alert'));
  });

  it('shows strings from the wire with control characters escaped', () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/x', 'example.com').replace('test-agent', 'evil\x1b[2J\x1b]0;pwned\x07'));
    conv.send('server', response(200));
    const { events } = runFrames(conv.frames);
    const { dashboard, feed, panel } = setup();
    feed(events.map((e) => ({ ...e, ts: T0 })), T0 + 11);
    dashboard.handle('window');
    const agents = panel('userAgents').rows.join('\n');
    expect(agents).toContain('evil\\x1b[2J\\x1b]0;pw');
    expect(agents).not.toContain('\x1b');
  });

  it('a plug-in has a panel of its own: reached with Tab, drawn from its rows, scrolling like the others', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const topClients = require('../examples/plugins/topClients.js') as (context: { config: unknown }) => StatModule;
    const config = defaultConfig();
    const { dashboard, feed, panel } = setup(120, 30, [topClients({ config })]);
    const events = Array.from({ length: 40 }, (_, i) => event(T0 + i / 4, { src: `10.0.${i % 20}.${1 + (i % 20)}` }));
    feed(events, T0 + 11);
    expect(panel('userAgents').title).toContain('User agents (1/4, Tab)');
    const focusOn = (id: string) => { for (let i = 0; i < 20 && dashboard.focused.id !== id; i++) dashboard.handle('focusNext'); };
    focusOn('plugin:topClients');
    const clients = panel('userAgents');
    expect(clients.title).toContain('▶ Top clients (4/4, Tab)');
    expect(clients.lines[0]).toMatch(/^Client\s+Requests/);
    expect(clients.rows[0]).toMatch(/^10\.0\.\d+\.\d+\s+2$/);
    expect(clients.rows).toHaveLength(7);
    expect(clients.title).toMatch(/\[1-7\/10\]/);
    dashboard.handle('pageDown');
    expect(panel('userAgents').title).toMatch(/\[4-10\/10\]/);
    // Focus moves on; the place keeps showing the plug-in until user agents are focused again.
    dashboard.handle('focusNext');
    expect(panel('userAgents').title).toContain('Top clients');
    focusOn('userAgents');
    expect(panel('userAgents').title).toContain('▶ User agents (1/4, Tab)');
  });
});

describe('keys', () => {
  it('Tab and Shift-Tab move the focus, and the focused panel is marked', () => {
    const { dashboard, feed, panel } = setup();
    feed(traffic(), T0 + 30);
    expect(panel('sections').title).toContain('▶ Top sections');
    // Endpoints share the sections' place.
    dashboard.handle('focusNext');
    expect(panel('sections').title).toContain('▶ Endpoints (last 10s) (2/2, Tab)');
    dashboard.handle('focusNext');
    expect(panel('domains').title).toContain('▶ Top domains');
    expect(panel('sections').title).not.toContain('▶');
    dashboard.handle('focusPrevious');
    dashboard.handle('focusPrevious');
    dashboard.handle('focusPrevious');
    expect(panel('health').title).toContain('▶ Capture health');
  });

  it('Enter drills a section into its endpoints and a domain into its sections; Esc goes back', () => {
    const { dashboard, feed, panel } = setup();
    feed(traffic(), T0 + 30);
    panel('sections');
    dashboard.handle('down'); // select /v1
    dashboard.handle('drill');
    let drilled = panel('sections');
    expect(drilled.title).toContain('Endpoints of /v1');
    // /v1/items/0, /3, /6, /9 are one endpoint, with its latency.
    expect(drilled.rows).toHaveLength(1);
    // 4 a second in the last 10 s, one in four a 503, 12 ms (p50 and p95).
    expect(drilled.rows[0]).toMatch(/^GET \/v1\/items\/\{id\}\s+40\s+4\.0\s+25\.0%\s+1[23]\s+1[23]$/);
    dashboard.handle('back');
    expect(panel('sections').title).toContain('Top sections');
    dashboard.handle('focusNext');
    dashboard.handle('focusNext');
    panel('domains');
    dashboard.handle('drill');
    drilled = panel('domains');
    expect(drilled.title).toContain('Sections of shop.example.com');
    expect(drilled.keys).toEqual(['/cart']);
  });

  it('s sorts the focused panel by each numeric column in turn, marked in the header; S reverses', () => {
    const { dashboard, feed, panel } = setup();
    const events: HttpEvent[] = [];
    for (let i = 0; i < 60; i++) {
      // /slow: few and slow; /busy: many and fast; /mid: between.
      const section = i < 5 ? '/slow' : i < 40 ? '/busy' : '/mid';
      events.push(event(T0 + i / 10, { uri: `${section}/x`, section, latencyMs: section === '/slow' ? 900 : section === '/mid' ? 50 : 5 }));
    }
    feed(events, T0 + 30);
    dashboard.handle('window'); // last 5 min
    expect(panel('sections').keys).toEqual(['/busy', '/mid', '/slow']);
    dashboard.handle('sort'); // Hits ▼
    let shown = panel('sections');
    expect(shown.lines[0]).toMatch(/Hits▼/);
    expect(shown.keys).toEqual(['/busy', '/mid', '/slow']);
    dashboard.handle('sort'); // Share ▼
    dashboard.handle('sort'); // Bytes ▼
    dashboard.handle('sort'); // p95ms ▼
    shown = panel('sections');
    expect(shown.lines[0]).toMatch(/p95ms▼/);
    expect(shown.keys).toEqual(['/slow', '/mid', '/busy']);
    dashboard.handle('sortReverse');
    shown = panel('sections');
    expect(shown.lines[0]).toMatch(/p95ms▲/);
    expect(shown.keys).toEqual(['/busy', '/mid', '/slow']);
    // Past the last numeric column: the default order again, no mark.
    dashboard.handle('sort');
    dashboard.handle('sort');
    shown = panel('sections');
    expect(shown.lines[0]).not.toMatch(/[▲▼]/);
    // Sorting is per panel: the domains keep theirs.
    dashboard.handle('focusNext');
    dashboard.handle('focusNext');
    expect(panel('domains').lines[0]).not.toMatch(/[▲▼]/);
  });

  it('w cycles the window through recent, 5 min, 1 hour and all', () => {
    const { dashboard, feed, panel } = setup();
    feed(traffic(), T0 + 30);
    const titles = ['recent', '5m', '1h', 'all', 'recent'].map(() => {
      const title = /Top sections \([^)]*\)/.exec(panel('sections').title)?.[0];
      dashboard.handle('window');
      return title;
    });
    expect(titles).toEqual([
      'Top sections (last 10s)', 'Top sections (last 5 min)', 'Top sections (last hour)', 'Top sections (all)', 'Top sections (last 10s)',
    ]);
    dashboard.handle('window');
    expect(panel('sections').rows[0]).toMatch(/^\/cart\s+180/);
  });

  it('/ filters every panel by host or URI (text or /regex/); Esc clears', () => {
    const { dashboard, feed, panel, status } = setup();
    feed(traffic(), T0 + 30);
    dashboard.applyFilter('api.example');
    expect(panel('sections').keys).toEqual(['/v1']);
    expect(panel('domains').keys).toEqual(['api.example.com']);
    expect(status()).toContain('filter: api.example');
    feed([event(T0 + 30.5, { host: 'api.example.com', uri: '/v1/new', section: '/v1' }), event(T0 + 30.5)], T0 + 31);
    dashboard.handle('window');
    expect(panel('sections').rows[0]).toMatch(/^\/v1\s+121\s/);
    dashboard.handle('window');
    dashboard.handle('window');
    dashboard.handle('window');
    dashboard.applyFilter('/^\\/cart\\//');
    expect(panel('sections').keys).toEqual(['/cart']);
    dashboard.applyFilter('/[/');
    expect(status()).toMatch(/bad regex: missing closing \]/);
    dashboard.handle('back');
    expect(status()).not.toContain('filter:');
    expect(panel('domains').keys).toHaveLength(2);
  });

  it('a /regex/ filter runs in linear time: a pattern that backtracks forever in JavaScript still answers', () => {
    const { dashboard, feed, panel, status } = setup();
    // /(a+)+$/ against 60 a's and a "!" takes 2^60 steps in a backtracking engine: this test would never end.
    const hostile = `/${'a'.repeat(60)}!`;
    feed([...traffic(), event(T0 + 29.5, { uri: hostile, section: '/' + 'a'.repeat(60) + '!' }), event(T0 + 29.6, { uri: '/aaa', section: '/aaa' })], T0 + 30);
    dashboard.handle('window');
    dashboard.applyFilter('/(a+)+$/');
    expect(status()).not.toMatch(/bad filter/);
    expect(panel('sections').keys).toEqual(['/aaa']);
    dashboard.applyFilter('/API\\.EXAMPLE/i');
    expect(panel('domains').keys).toEqual(['api.example.com']);
    dashboard.applyFilter('/(?=cart)/');
    expect(status()).toMatch(/bad regex: invalid or unsupported Perl syntax/);
    dashboard.applyFilter('stauts = 500');
    expect(status()).toMatch(/bad filter: unknown field "stauts" at column 1 \(fields: method, host, /);
  });

  it('p freezes the view while data keeps coming; ? toggles help; q quits', () => {
    const { dashboard, feed, quits, panel, status, drawn } = setup();
    feed(traffic(), T0 + 30);
    dashboard.handle('window');
    dashboard.handle('pause');
    expect(status()).toContain('PAUSED');
    const frozen = panel('sections').rows.join('\n');
    feed(Array.from({ length: 500 }, (_, i) => event(T0 + 31 + i / 1000, { uri: '/new/x', section: '/new' })), T0 + 40);
    expect(panel('sections').rows.join('\n')).toBe(frozen);
    dashboard.handle('pause');
    expect(panel('sections').rows[0]).toMatch(/^\/new/);
    dashboard.handle('help');
    expect(drawn().join('\n')).toContain('Keys (Esc or ? to close)');
    dashboard.handle('back');
    expect(drawn().join('\n')).not.toContain('Keys (Esc or ? to close)');
    dashboard.handle('quit');
    expect(quits()).toBe(1);
  });

  it('every action has a key, and the help lists every key', () => {
    const actions = new Set(KEYMAP.map((k) => k.action));
    expect(actions.size).toBe(23);
    const help = helpLines().join('\n');
    for (const binding of KEYMAP) expect(help).toContain(binding.label);
  });
});

describe('layout and drawing', () => {
  it.each([[80, 24], [120, 40], [200, 60]])('at %ix%i every panel fits, without overlap', (columns, rows) => {
    const layout = computeLayout(columns, rows);
    expect(layout.tooSmall).toBe(false);
    const rects = SLOT_IDS.map((id) => layout.slots[id]);
    for (const r of rects) {
      expect(r.left + r.width).toBeLessThanOrEqual(columns);
      expect(r.top + r.height).toBeLessThanOrEqual(rows - 1);
      expect(r.height).toBeGreaterThanOrEqual(7);
    }
    for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) {
      const a = rects[i];
      const b = rects[j];
      const overlap = a.left < b.left + b.width && b.left < a.left + a.width && a.top < b.top + b.height && b.top < a.top + a.height;
      expect(overlap).toBe(false);
    }
  });

  it('says when the terminal is too small', () => {
    expect(computeLayout(79, 24).tooSmall).toBe(true);
    expect(computeLayout(80, 23).tooSmall).toBe(true);
    const { dashboard, screen } = setup(60, 20);
    dashboard.render();
    const notice = screen.children.find((c) => String((c as unknown as { content?: string }).content ?? '').includes('terminal too small'));
    expect(notice).toBeDefined();
  });

  it('tables drop low-priority columns before squeezing the first', () => {
    const columns = [{ header: 'Key', width: 0, priority: 9 }, { header: 'A', width: 5, priority: 1 }, { header: 'B', width: 5, priority: 5 }];
    expect(table(columns, [['key', '1', '2']], 30).header.trimEnd()).toBe('Key                A     B');
    expect(table(columns, [['key', '1', '2']], 18).header.trimEnd()).toBe('Key          B');
  });

  it('tables shrink columns that can (lowest priority first) before dropping any, to give the flexible one its room', () => {
    const columns = [{ header: 'Key', width: 0, priority: 9, minWidth: 10 }, { header: 'A', width: 6, minWidth: 3, priority: 1 }, { header: 'B', width: 6, minWidth: 4, priority: 5 }];
    const header = (width: number) => table(columns, [['k', '1', '2']], width).header.trimEnd();
    // 22 cells: Key needs 10; A (the lowest priority) gives 2; nothing is dropped.
    expect(header(22)).toBe('Key        A    B');
    // 19 cells: A at its minimum (3), B gives the rest (to 4).
    expect(header(19)).toBe('Key        A   B');
    // 18 cells: even at their minimums there is no room: A goes, and B has its full width again.
    expect(header(18)).toBe('Key         B');
  });

  it('bars grow with the rate and the limit is drawn across', () => {
    const { lines } = renderBars([0, 5, 10], 3, 4, [{ value: 6, char: '=' }]);
    expect(lines).toHaveLength(4);
    expect(lines[lines.length - 1][2]).toBe('█');
    expect(lines.some((l) => l[0] === '=')).toBe(true);
  });

  it('redraws at most `refresh` times a second, however often data asks', () => {
    const clock = manualClock();
    let renders = 0;
    const scheduler = new RenderScheduler(() => { renders++; }, 4, clock);
    for (let ms = 0; ms < 1000; ms += 10) {
      for (let i = 0; i < 100; i++) scheduler.request();
      clock.advance(10);
    }
    expect(renders).toBeGreaterThanOrEqual(3);
    expect(renders).toBeLessThanOrEqual(5);
    scheduler.renderNow();
    expect(renders).toBeLessThanOrEqual(6);
  });
});

describe('terminals', () => {
  it.each([
    ['xterm', 'xterm'], ['xterm-256color', 'xterm-256color'], ['tmux-256color', 'xterm-256color'],
    ['screen-256color', 'xterm-256color'], ['screen', 'xterm'], ['vt100', 'vt100'], [undefined, 'xterm'],
  ])('TERM=%s is drawn as %s', (term, expected) => expect(terminalFor(term)).toBe(expected));

  it('refuses the dashboard without a terminal or with TERM=dumb', () => {
    expect(tuiUnavailable(false, 'xterm')).toMatch(/not a terminal/);
    expect(tuiUnavailable(true, 'dumb')).toMatch(/TERM=dumb/);
    expect(tuiUnavailable(true, 'xterm')).toBeNull();
  });
});

describe('the --tui output', () => {
  it('honours NO_COLOR, and prints a one-line summary when closed', () => {
    const run = new RunState({ ...defaultConfig() }, 'demo');
    const plain = new TuiSink(run, () => undefined, { env: { TERM: 'xterm-256color', NO_COLOR: '1' }, clock: manualClock(), screen: fakeScreen() });
    expect(plain.dashboard.context().color).toBe(false);
    expect(plain.close()).toBe('wiretop: 0 requests from demo over 0s of traffic, 0 alerts\n');
    const colored = new TuiSink(run, () => undefined, { env: { TERM: 'xterm-256color' }, clock: manualClock(), screen: fakeScreen() });
    expect(colored.dashboard.context().color).toBe(true);
    colored.close();
  });

  it('redraws on the clock it is given: data waits for it, at most `refresh` frames a second; the end draws at once', () => {
    const run = new RunState({ ...defaultConfig(), refresh: 4 }, 'demo');
    const clock = manualClock(1_700_000_000_000);
    const sink = new TuiSink(run, () => undefined, { env: { TERM: 'xterm' }, clock, screen: fakeScreen() });
    const { scheduler } = sink.dashboard;
    const status = () => sink.dashboard.drawnText()[39];
    expect(status()).toMatch(/LEARNING 120s left/);
    // A second of data closes and capture statistics arrive: each asks for a frame; none is drawn while the clock stands.
    const second = (s: number) => {
      const events = [event(T0 + s)];
      run.ingest(events);
      sink.onEvents(events);
      run.advanceTo(T0 + s + 1);
      sink.onCaptureStats();
    };
    second(0);
    second(1);
    expect(scheduler.renders).toBe(0);
    expect(status()).toMatch(/LEARNING 120s left/);
    clock.advance(1);
    expect(scheduler.renders).toBe(1);
    expect(status()).toMatch(/LEARNING 118s left/);
    // A wall second in 10 ms steps, asking 100 times a step: 4 frames, a quarter of a second apart.
    const drawnAt: number[] = [];
    const render = sink.dashboard.render.bind(sink.dashboard);
    sink.dashboard.render = () => { drawnAt.push(clock.now() - 1_700_000_000_000); render(); };
    for (let step = 0; step < 100; step++) {
      for (let i = 0; i < 100; i++) sink.onCaptureStats();
      clock.advance(10);
    }
    expect(drawnAt).toEqual([251, 501, 751, 1001]);
    // The end of the data is drawn at once, whatever the clock.
    second(2);
    sink.finish();
    expect(drawnAt).toHaveLength(5);
    expect(status()).toMatch(/LEARNING 117s left/);
    sink.close();
  });

  it('redraws for capture statistics only when a counter moved, a second after the last frame; an idle capture redraws once a closed second', () => {
    const run = new RunState({ ...defaultConfig(), refresh: 4 }, 'lo');
    const clock = manualClock(1_700_000_000_000);
    const sink = new TuiSink(run, () => undefined, { env: { TERM: 'xterm' }, clock, screen: fakeScreen() });
    const { scheduler } = sink.dashboard;
    const report = (packets: number, now: number) => {
      run.updateCapture({ ...emptyCaptureStats(), packets }, now);
      sink.onCaptureStats();
    };
    report(10, T0);
    clock.advance(1000);
    expect(scheduler.renders).toBe(1);
    // Ten reports a second that say the same, for two seconds: no frame.
    for (let i = 0; i < 20; i++) {
      report(10, T0 + i / 10);
      clock.advance(100);
    }
    expect(scheduler.renders).toBe(1);
    // A second closes: one frame.
    run.advanceTo(T0 + 2);
    clock.advance(1000);
    expect(scheduler.renders).toBe(2);
    // A counter moves just after a frame: it waits for the frame a second after that one.
    report(11, T0 + 2.1);
    clock.advance(500);
    report(12, T0 + 2.6);
    clock.advance(499);
    expect(scheduler.renders).toBe(2);
    report(13, T0 + 3.1);
    clock.advance(1);
    expect(scheduler.renders).toBe(2);
    const healthAt = () => /Capture health at (\S+)/.exec(sink.dashboard.drawnText().join('\n'))?.[1];
    const drawnBefore = healthAt();
    report(13, T0 + 3.2);
    clock.advance(1);
    expect(scheduler.renders).toBe(3);
    expect(healthAt()).toBeDefined();
    expect(healthAt()).not.toBe(drawnBefore);
    sink.close();
  });
});

describe('transactions', () => {
  /** The open list or detail: the whole screen but the status bar. */
  const overlay = (drawn: () => string[], rows = 40) => {
    const lines = drawn().slice(0, rows - 1);
    return { title: lines[0], body: lines.slice(1, -1).map((l) => l.slice(1, -1).trimEnd()) };
  };

  it('t lists the selected row\'s latest transactions, newest first and following the traffic; Enter opens one; Esc goes back', () => {
    const { dashboard, feed, panel, drawn } = setup();
    feed(traffic(), T0 + 30);
    panel('sections');
    dashboard.handle('down'); // /v1
    dashboard.handle('transactions');
    let shown = overlay(drawn);
    expect(shown.title).toMatch(/Transactions of \/v1: \d+, newest first/);
    const rows = shown.body.slice(1).filter((l) => l.trim() !== '');
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.every((l) => /api\.example\.com\/v1\/items\/\d/.test(l))).toBe(true);
    // Newest first.
    const times = rows.map((l) => l.slice(0, 8));
    expect([...times].sort().reverse()).toEqual(times);
    // It follows new transactions of the row (and only those).
    feed([event(T0 + 31, { host: 'api.example.com', uri: '/v1/items/new', section: '/v1' }), event(T0 + 31, { uri: '/cart/new', section: '/cart' })], T0 + 32);
    shown = overlay(drawn);
    expect(shown.body[1]).toMatch(/\/v1\/items\/new/);
    expect(shown.body.join('\n')).not.toMatch(/\/cart\/new/);
    dashboard.handle('drill');
    shown = overlay(drawn);
    expect(shown.body[0]).toMatch(/^GET \/v1\/items\/new HTTP\/1\.1/);
    expect(shown.body.join('\n')).toMatch(/Endpoint: GET \/v1\/items\/new/);
    dashboard.handle('back');
    expect(overlay(drawn).title).toMatch(/Transactions of \/v1/);
    dashboard.handle('back');
    expect(panel('sections').title).toContain('Top sections');
  });

  it('a detail shows the request, the response, timings and the connection, and secrets only as present', () => {
    const { dashboard, feed, drawn } = setup();
    feed([event(T0 + 1.25, {
      uri: '/login?next=%2F', section: '/login', status: 302, latencyMs: 42.5, src: '10.9.9.9', client: '203.0.113.5', sport: 51000,
      requestHeaders: 'Authorization: present, not shown\nCookie: present, not shown\nReferer: https://shop.example.com/\nX-Forwarded-For: 203.0.113.5',
      responseHeaders: 'Location: /home\nSet-Cookie: present, not shown',
    })], T0 + 12);
    dashboard.handle('focusNext'); // endpoints
    dashboard.handle('transactions');
    dashboard.handle('drill');
    const text = overlay(drawn).body.join('\n');
    expect(text).toMatch(/^GET \/login\?next=%2F HTTP\/1\.1$/m);
    expect(text).toMatch(/^Authorization: present, not shown$/m);
    expect(text).toMatch(/^Cookie: present, not shown$/m);
    expect(text).toMatch(/^Response: 302$/m);
    expect(text).toMatch(/^Location: \/home$/m);
    expect(text).toMatch(/request start +2023-11-14 22:13:21 UTC \(22:13:21\.250000\)/);
    expect(text).toMatch(/first response byte +22:13:21\.292500/);
    expect(text).toMatch(/latency +42\.5 ms|latency +43 ms/);
    expect(text).toMatch(/Connection: 10\.9\.9\.9:51000 → 10\.0\.0\.2:80/);
    expect(text).toMatch(/Client: 203\.0\.113\.5 \(forwarded by the trusted proxy 10\.9\.9\.9\)/);
  });

  it('l lists the slowest requests of the window; e shows errors only, with the filter', () => {
    const { dashboard, feed, panel, drawn, status } = setup();
    const events = traffic().map((e, i) => ({ ...e, latencyMs: i === 123 ? 3000 : e.latencyMs }));
    feed(events, T0 + 30);
    dashboard.handle('window'); // 5 min
    dashboard.handle('slowest');
    const shown = overlay(drawn);
    expect(shown.title).toMatch(/Slowest requests \(last 5 min\): 20, slowest first/);
    expect(shown.body[1]).toMatch(/3000ms|3\.0s/);
    dashboard.handle('back');
    dashboard.handle('errors');
    expect(status()).toContain('ERRORS ONLY');
    // Only the 503s are left: every section's error share is 100%.
    const rows = panel('sections').rows;
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).toMatch(/100\.0%$/);
    // Combined with the filter: the API's failures are in /v1; the shop has none.
    dashboard.applyFilter('api.example');
    expect(panel('sections').keys).toEqual(['/v1']);
    dashboard.applyFilter('shop.example');
    expect(panel('sections').keys).toEqual([]);
    dashboard.applyFilter('');
    dashboard.handle('errors');
    expect(status()).not.toContain('ERRORS ONLY');
  });

  it('t on a panel whose rows stand for no transactions says so', () => {
    const { dashboard, feed, status } = setup();
    feed(traffic(), T0 + 30);
    for (let i = 0; i < 20 && dashboard.focused.id !== 'rate'; i++) dashboard.handle('focusNext');
    dashboard.handle('transactions');
    expect(status()).toMatch(/select a row/);
  });
});

describe('TLS server names', () => {
  const overlay = (drawn: () => string[], rows = 40) => {
    const lines = drawn().slice(0, rows - 1);
    return { title: lines[0], body: lines.slice(1, -1).map((l) => l.slice(1, -1).trimEnd()) };
  };

  function connection(ts: number, serverName: string, src: string, version: string, alpn: string, decrypted = false): TlsConnection {
    return {
      ts, src, sport: 40000, dst: '10.0.0.2', dport: 443, serverName, versionsOffered: [version], version, cipher: 'TLS_AES_128_GCM_SHA256',
      alpnOffered: ['h2', 'http/1.1'], alpn, handshakeMs: 3.5, bytesToServer: 1000, bytesToClient: 9000, durationMs: 50, decrypted, requests: decrypted ? 1 : 0,
    };
  }

  it('shares the domains\' place: names by connections with version, ALPN and handshake time; Enter: clients and versions; t: decrypted requests', () => {
    const { run, dashboard, feed, panel, drawn } = setup();
    const connections = [
      ...Array.from({ length: 6 }, (_, i) => connection(T0 + 20 + i, 'api.example.com', `10.0.0.${1 + (i % 2)}`, i < 5 ? 'TLS 1.3' : 'TLS 1.2', 'h2')),
      connection(T0 + 21, 'shop.example.com', '10.0.0.9', 'TLS 1.2', 'http/1.1', true),
      connection(T0 + 23, 'shop.example.com', '10.0.0.9', 'TLS 1.2', 'http/1.1'),
      connection(T0 + 22, '', '10.0.0.7', 'TLS 1.3', ''),
    ];
    run.ingestTls(connections);
    feed([event(T0 + 21, { host: 'shop.example.com', src: '10.0.0.9', uri: '/secret', section: '/secret', https: true })], T0 + 30);
    // TLS connections are not requests.
    expect(run.stats.builtins.requests.total).toBe(1);
    for (let i = 0; i < 3; i++) dashboard.handle('focusNext'); // sections → endpoints → domains → TLS
    const names = panel('domains');
    expect(names.title).toMatch(/TLS server names \(last 10s\), 1 decrypted/);
    expect(names.lines[0]).toMatch(/^Server name\s+Conns\s+Bytes\s+TLS\s+ALPN\s+HS ms$/);
    // 6 connections of 10,000 bytes; the handshake p50 from a histogram (within ~10%).
    expect(names.rows[0]).toMatch(/^api\.example\.com\s+6\s+59K\s+TLS 1\.3\s+h2\s+3\.\d$/);
    expect(names.keys).toEqual(['api.example.com', 'shop.example.com', '(no']);
    dashboard.handle('drill');
    const drilled = panel('domains');
    expect(drilled.title).toContain('TLS clients of api.example.com');
    expect(drilled.lines[0]).toMatch(/^Client\s+Conns\s+Bytes$/);
    expect(drilled.rows).toEqual([
      expect.stringMatching(/^10\.0\.0\.1\s+3\s+29K$/), expect.stringMatching(/^10\.0\.0\.2\s+3\s+29K$/),
      expect.stringMatching(/^Version\s+Conns\s+Bytes$/), expect.stringMatching(/^TLS 1\.3\s+5\s+49K$/), expect.stringMatching(/^TLS 1\.2\s+1\s+9\.8K$/),
    ]);
    dashboard.handle('back');
    dashboard.handle('down'); // shop.example.com
    dashboard.handle('transactions');
    const list = overlay(drawn);
    expect(list.title).toMatch(/Transactions of shop\.example\.com: 1/);
    expect(list.body[1]).toMatch(/https:\/\/shop\.example\.com\/secret/);
    dashboard.handle('drill');
    expect(overlay(drawn).body.join('\n')).toMatch(/\(HTTPS, decrypted with the key log\)/);
  });
});

describe('what a newcomer meets first (issue 27)', () => {
  /** `count` requests to `section`, spread over the second starting at `second`. */
  const hitsOn = (section: string, second: number, count: number) =>
    Array.from({ length: count }, (_, i) => event(T0 + second + i / count, { uri: `${section}/x`, section }));

  it('the selection follows its key as the panel re-sorts, and t lists the highlighted row', () => {
    const { dashboard, feed, highlighted, drawn } = setup();
    feed([...hitsOn('/cart', 0, 9), ...hitsOn('/search', 1, 5), ...hitsOn('/about', 2, 2)], T0 + 3);
    expect(highlighted('sections')).toMatch(/^\/cart\s+9/);
    dashboard.handle('down');
    expect(highlighted('sections')).toMatch(/^\/search\s+5/);
    // /search overtakes /cart: it moves to the first row, and the selection goes with it.
    feed(hitsOn('/search', 3, 10), T0 + 4);
    expect(highlighted('sections')).toMatch(/^\/search\s+15/);
    expect(drawn().join('\n')).toMatch(/\/search\s+15[\s\S]*\/cart\s+9/);
    dashboard.handle('transactions');
    expect(drawn()[0]).toMatch(/Transactions of \/search: 15/);
    dashboard.handle('back');
    // A key that leaves the list: the row now at its place is selected.
    dashboard.handle('down');
    expect(highlighted('sections')).toMatch(/^\/cart/);
    feed(hitsOn('/about', 30, 1), T0 + 31);
    expect(highlighted('sections')).toMatch(/^\/about\s+1/);
  });

  it('a transaction list keeps its selected transaction as new ones push it down', () => {
    const { dashboard, feed, drawn } = setup();
    feed([event(T0 + 1, { uri: '/cart/first' }), event(T0 + 2, { uri: '/cart/second' })], T0 + 3);
    drawn();
    dashboard.handle('transactions');
    dashboard.handle('down'); // /cart/first, the older
    feed([event(T0 + 3, { uri: '/cart/third' })], T0 + 4);
    drawn();
    dashboard.handle('drill');
    expect(drawn().join('\n')).toMatch(/GET \/cart\/first HTTP/);
  });

  it('a single request shows in the tables at the next redraw, before its bucket is complete', () => {
    const { feed, panel } = setup();
    // Buckets of 10 s: second 3 closes mid-bucket.
    feed([event(T0 + 3.2, { uri: '/search/q', section: '/search' })], T0 + 4);
    const sections = panel('sections');
    expect(sections.rows[0]).toMatch(/^\/search\s+1\s/);
    // The last complete bucket and the 4 closed seconds of the open one.
    expect(sections.title).toContain('(last 14s)');
    expect(panel('domains').keys).toEqual(['shop.example.com']);
  });

  it('"now" is one number: the chart title and capture health show the same rates of the last 5 s', () => {
    const { run, feed, panel } = setup();
    // 10 req/s for 15 s, then 20 req/s: the last 10 s average 15, the last 5 s 20. Three packets a request.
    let packets = 0;
    for (let s = 0; s < 20; s++) {
      const rps = s < 15 ? 10 : 20;
      feed(Array.from({ length: rps }, (_, i) => event(T0 + s + i / rps)), T0 + s);
      packets += 3 * rps;
      run.updateCapture({ ...emptyCaptureStats(), packets, events: packets / 3 }, T0 + s + 0.99);
    }
    run.advanceTo(T0 + 20);
    expect(panel('rate').title).toMatch(/Requests\/s: 20 now/);
    const health = panel('health').lines.join('\n');
    expect(health).toMatch(/req\/s\s+20\b/);
    expect(health).toMatch(/pkts\/s\s+60\b/);
  });

  it('capture health shows the connections upgraded to a protocol not read once there are some', () => {
    const { run, panel } = setup();
    run.updateCapture({ ...emptyCaptureStats(), packets: 10 }, T0 + 1);
    run.advanceTo(T0 + 2);
    expect(panel('health').lines.join('\n')).not.toMatch(/upgraded/);
    run.updateCapture({ ...emptyCaptureStats(), packets: 20, upgradedFlows: 3 }, T0 + 2);
    run.advanceTo(T0 + 3);
    expect(panel('health').lines.join('\n')).toMatch(/upgraded\s+3\b/);
  });

  it.each([[80, 24], [200, 60]])('at %ix%i Tab visits the panels in reading order, Shift-Tab the other way', (columns, rows) => {
    const { dashboard } = setup(columns, rows);
    const slots = computeLayout(columns, rows).slots;
    const visited: string[] = [];
    for (let i = 0; i < dashboard.panels.length; i++) {
      dashboard.handle('focusNext');
      visited.push(dashboard.focused.id);
    }
    const start = visited.indexOf('rate');
    const order = [...visited.slice(start), ...visited.slice(0, start)];
    expect(order).toEqual(['rate', 'health', 'sections', 'endpoints', 'domains', 'tls', 'statuses', 'userAgents', 'visitors', 'clients', 'alerts']);
    // Each place is reached after every place above it, or left of it on its band.
    const corners = order.map((id) => slots[dashboard.panels.find((p) => p.id === id)!.slot]);
    for (let i = 1; i < corners.length; i++) {
      const [a, b] = [corners[i - 1], corners[i]];
      expect(a.top < b.top || (a.top === b.top && a.left <= b.left)).toBe(true);
    }
    const back: string[] = [];
    for (let i = 0; i < dashboard.panels.length; i++) {
      back.push(dashboard.focused.id);
      dashboard.handle('focusPrevious');
    }
    expect(back).toEqual([...visited].reverse());
  });

  it('at 80x24 the help shows every key, q / Ctrl-C included, wrapped within the screen', () => {
    const { dashboard, drawn, highlighted, feed } = setup(80, 24);
    feed([...hitsOn('/cart', 0, 3), ...hitsOn('/search', 1, 2)], T0 + 2);
    dashboard.handle('help');
    const screen = drawn();
    expect(screen.every((line) => line.length <= 80)).toBe(true);
    for (const line of helpLines(74)) expect(screen.join('\n')).toContain(line);
    expect(screen.join('\n')).toMatch(/q \/ Ctrl-C +quit/);
    // Arrows while the help is open scroll it (there is nothing to scroll here), not the panels.
    dashboard.handle('down');
    dashboard.handle('back');
    expect(highlighted('sections')).toMatch(/^\/cart/);
  });

  it('the help scrolls where the screen is shorter than it: every line can be reached', () => {
    const { dashboard, drawn } = setup(80, 16);
    dashboard.handle('help');
    const all = helpFrame({ width: 80, height: 16 }).lines;
    const lines = all.filter((line) => line !== '');
    let screen = drawn().join('\n');
    expect(screen).toMatch(new RegExp(`Keys \\(Esc or \\? to close\\) \\[1-13/${all.length}\\] ↑↓ PgUp PgDn scroll`));
    expect(screen).not.toContain('q / Ctrl-C');
    const seen = new Set<string>();
    for (let i = 0; i < lines.length; i++) {
      screen = drawn().join('\n');
      for (const line of lines) if (screen.includes(line)) seen.add(line);
      dashboard.handle('down');
    }
    expect([...seen].sort()).toEqual([...lines].sort());
    dashboard.handle('top');
    expect(drawn().join('\n')).toMatch(/\[1-13\//);
    dashboard.handle('pageDown');
    expect(drawn().join('\n')).toMatch(/q \/ Ctrl-C +quit/);
    dashboard.handle('bottom');
    expect(drawn().join('\n')).toMatch(/combine with and, or, not/);
    dashboard.handle('back');
    expect(drawn().join('\n')).not.toContain('Keys (Esc');
  });

  it('at 80 columns a transaction list gives the host and URI their room, and the user agents keep Hits', () => {
    const { dashboard, feed, drawn, panel } = setup(80, 24);
    feed([event(T0 + 1, { uri: '/products/item/27', section: '/products', src: '10.1.15.104', ua: 'Mozilla/5.0 (X11; Linux x86_64)' })], T0 + 2);
    expect(panel('userAgents').lines[0]).toMatch(/^User agent\s+Hits$/);
    expect(panel('userAgents').rows[0]).toMatch(/^Mozilla\/5\.0 \(X…\s+1$/);
    dashboard.handle('transactions');
    const [header, row] = drawn().slice(1, 3).map((l) => l.slice(1, -1));
    expect(header).toMatch(/^Time\s+Client\s+Method\s+Host and URI\s+Status\s+Latency$/);
    expect(row).toContain('shop.example.com/products/item/27');
    expect(row).toContain('10.1.15.104');
    expect(header.indexOf('Status') - header.indexOf('Host and URI')).toBeGreaterThanOrEqual(URI_MIN_WIDTH);
  });

  it('at 80 columns the status bar keeps the state and the filter whole, and gives up hints first', () => {
    const { dashboard, feed, status } = setup(80, 24);
    feed(traffic(), T0 + 30);
    dashboard.applyFilter('api.example');
    let bar = status().trimEnd();
    expect(bar).toMatch(/NORMAL \| filter: api\.example/);
    expect(bar).not.toContain('…');
    expect(bar).toMatch(/\| \? keys( {2}q quit)?$/);
    dashboard.applyFilter('/(a/');
    bar = status().trimEnd();
    expect(bar).toContain('NORMAL | bad regex: missing closing ): `(a`');
    expect(bar).not.toContain('…');
    expect(bar).not.toContain('error parsing regexp');
  });
});
