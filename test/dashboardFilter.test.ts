/**
 * The filter language on the dashboard (no terminal: a fake screen): `/` with an expression
 * narrows every panel, list and the rate chart to exactly what the filter matches on the
 * held-out captures; --where starts it; saved views cycle; `x` and `c` write their files.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { defaultConfig, type Config } from '../src/config';
import { compileFilter } from '../src/filter/filter';
import { RunState } from '../src/run/runState';
import type { HttpEvent } from '../src/types';
import { Dashboard } from '../widgets/dashboard';
import { runPipelineOnFile, zeekCases } from './helpers/corpus';
import { fakeScreen } from './helpers/fakeScreen';
import { manualClock } from './helpers/manualClock';
import { harValidator } from './helpers/harSchema';

/** Every held-out capture's transactions, moved onto one minute so the dashboard's windows hold them all. */
function heldOut(): HttpEvent[] {
  const T0 = 1_700_000_000;
  return zeekCases().flatMap((c, i) => runPipelineOnFile(c.trace).events.map((e) => ({ ...e, ts: T0 + i + (e.ts % 1) })));
}

function setup(overrides: Partial<Config> = {}) {
  const config = { ...defaultConfig(), ...overrides };
  const run = new RunState(config, 'test');
  const screen = fakeScreen(120, 40);
  const written: string[] = [];
  const dashboard = new Dashboard({ run, screen, onQuit: () => undefined, color: false, clock: manualClock(), writeToTerminal: (s) => written.push(s) });
  const feed = (events: HttpEvent[]) => {
    run.ingest(events);
    dashboard.observe(events);
    run.advanceTo(Math.max(...events.map((e) => e.ts)) + 1);
  };
  const status = () => { dashboard.render(); return dashboard.drawnText()[39]; };
  return { run, dashboard, feed, status, written };
}

const EXPRESSIONS = [
  'status = 3xx and host = *.wikimedia.org',
  'method in (POST, PUT) or unanswered',
  'not (status >= 400) and path ~ "\\.(png|css|js)$"',
  'client = 192.168.0.0/16 or server_port != 80',
  'latency > 50ms',
  'resp_bytes > 1k',
];

describe('the dashboard\'s filter on the held-out captures', () => {
  const events = heldOut();

  it.each(EXPRESSIONS)('%s: its statistics count exactly what the filter matches', (where) => {
    const { run, dashboard, feed } = setup();
    feed(events);
    dashboard.applyFilter(where);
    const want = events.filter(compileFilter(where).matches);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(events.length);
    const store = dashboard.filter.store!;
    expect(store.builtins.requests.totals('all', run.stats.lastClosed).requests).toBe(want.length);
    // The rate chart draws the same store.
    expect(dashboard.context().stats).toBe(store);
  });

  it('filters what comes after it is set as it filtered what was there', () => {
    const where = EXPRESSIONS[0];
    const { run, dashboard, feed } = setup();
    dashboard.applyFilter(where);
    feed(events);
    expect(dashboard.filter.store!.builtins.requests.totals('all', run.stats.lastClosed).requests).toBe(events.filter(compileFilter(where).matches).length);
  });

  it('--where is the starting filter, shown, and Esc clears it', () => {
    const { dashboard, status } = setup({ where: 'status = 5xx' });
    expect(dashboard.filter.text).toBe('status = 5xx');
    expect(status()).toContain('filter: status = 5xx');
    dashboard.handle('back');
    expect(dashboard.filter.text).toBeNull();
  });

  it('v cycles the saved views and says which is on', () => {
    const { dashboard, status } = setup({ views: [{ name: 'errors', where: 'error' }, { name: 'api', where: 'path ~ ^/api' }] });
    dashboard.handle('view');
    expect(status()).toContain('view errors: error');
    dashboard.handle('view');
    expect(status()).toContain('view api: path ~ ^/api');
    dashboard.handle('view');
    expect(dashboard.filter.text).toBeNull();
  });
});

describe('exports from the dashboard', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretop-exports-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('x says to open a list first; on a list writes it, oldest first; c copies the open transaction through OSC 52 and to a file', () => {
    const { dashboard, feed, status, written } = setup({ export_dir: dir });
    feed(heldOut());
    dashboard.handle('exportHar');
    expect(status()).toContain('x writes a list of transactions: open one first');
    dashboard.handle('slowest');
    dashboard.render();
    dashboard.handle('exportHar');
    const line = status();
    expect(line).toMatch(/wrote \d+ transactions to /);
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.har'))!;
    const har = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    expect(harValidator()(har)).toBe(true);
    expect(har.log.entries.length).toBeGreaterThan(1);
    dashboard.handle('copyCurl');
    expect(status()).toContain('c copies one transaction: open it first');
    dashboard.handle('drill');
    dashboard.render();
    dashboard.handle('copyCurl');
    expect(status()).toContain('copied as curl');
    expect(written).toHaveLength(1);
    const copied = Buffer.from(/^\x1b\]52;c;([A-Za-z0-9+/=]+)\x07$/.exec(written[0])![1], 'base64').toString('utf8');
    expect(copied).toMatch(/^curl .*'https?:\/\/\S+'/);
    const sh = fs.readdirSync(dir).find((f) => f.endsWith('.sh'))!;
    expect(fs.readFileSync(path.join(dir, sh), 'utf8')).toMatch(new RegExp(`^#!/bin/sh\n(# .*\n)*${copied.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n$`));
  });

  it('an export that cannot be written says why, in one line', () => {
    const { dashboard, feed, status } = setup({ export_dir: path.join(dir, 'missing') });
    feed(heldOut());
    dashboard.handle('slowest');
    dashboard.render();
    dashboard.handle('exportHar');
    expect(status()).toMatch(/HAR not written: could not write in .*missing: ENOENT/);
  });
});
