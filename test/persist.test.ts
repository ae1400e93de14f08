/**
 * Persistence of the statistics and the alert state (src/persist): a run saved and taken back
 * by a new run reads exactly as the run did, and goes on exactly as it would have; snapshot
 * files that are damaged, foreign, of another format or of other settings are refused with
 * their reason.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import { defaultConfig, type Config } from '../src/config';
import { restoreRun, saveRun, settingsOf, STATE_CODEC } from '../src/persist/runSnapshot';
import { readSnapshot, SnapshotError, STATE_FORMAT, writeSnapshot } from '../src/persist/snapshotFile';
import { StateCodec, StateFormatError } from '../src/persist/stateCodec';
import { RunState } from '../src/run/runState';
import { buildReport } from '../src/sinks/report';
import { moduleRows } from '../src/stats/statModule';
import { WINDOWS } from '../src/stats/windows';
import type { HttpEvent } from '../src/types';
import { runPipelineOnFile, zeekCases } from './helpers/corpus';
import { httpEvent } from './helpers/events';

const T0 = 1_700_000_000;

/**
 * The held-out transactions between 30,000 made ones (more distinct hosts, paths, clients and
 * User-Agents than the summaries hold, so they evict), spread over three hours so that every
 * tier of the summaries rolls, in time order, with a burst in the third hour for the alerts.
 */
function traffic(): HttpEvent[] {
  const real = zeekCases().flatMap((c) => runPipelineOnFile(c.trace).events);
  let seed = 7;
  const next = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const agents = ['Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0', 'curl/8.5.0', 'GPTBot/1.0', 'Googlebot/2.1', 'python-requests/2.31'];
  const made = Array.from({ length: 30_000 }, (_, i) => httpEvent(0, {
    host: `h${next(400)}.example`, uri: `/p${next(9000)}/x?q=${i % 7}`, section: `/p${next(300)}`, route: `/p${next(3000)}`,
    client: `10.0.${next(50)}.${next(250)}`, ua: `${agents[next(5)]} v${next(900)}`, status: [200, 200, 404, 500, 302][next(5)],
    latencyMs: next(4000) / 10, respBytes: next(100_000), method: ['GET', 'POST', 'PUT'][next(3)],
  }));
  const all = [...made];
  real.forEach((e, i) => all.splice(i * 200, 0, e));
  const span = 3 * 3600;
  const times = all.map((_, i) => (i < all.length * 0.8 ? (i * span * 0.9) / (all.length * 0.8) : span * 0.9 + ((i - all.length * 0.8) * 60) / (all.length * 0.2)));
  return all.map((e, i) => ({ ...e, ts: T0 + times[i] + (e.ts % 1) * 0.001 }));
}

function runOf(config: Config): RunState {
  return new RunState(config, 'test');
}

/** Feeds `events` in batches of 50, closing seconds behind them as a capture does. */
function feed(run: RunState, events: readonly HttpEvent[]): void {
  for (let i = 0; i < events.length; i += 50) {
    const batch = events.slice(i, i + 50);
    run.ingest(batch);
    run.advanceTo(batch[batch.length - 1].ts - 2);
  }
}

/** Everything outputs read: the report, and every module's rows in every window. */
function readings(run: RunState): unknown {
  const report = buildReport(run) as unknown as Record<string, unknown>;
  const now = run.stats.lastClosed;
  const rows = run.stats.modules.map((m) => WINDOWS.map((w) => moduleRows(m, w, now, 20)));
  const tlsRows = WINDOWS.map((w) => run.stats.tls.names.view(w, now));
  return JSON.parse(JSON.stringify({ report: { ...report, capture: undefined, run: undefined }, rows, tlsRows, alerts: run.alerts.summary(), state: run.alerts.state }));
}

/** Saves `run` through the file format and takes it back into a new run. */
function throughFile(run: RunState, config: Config): RunState {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretop-persist-'));
  const file = path.join(dir, 'state.wiretop');
  writeSnapshot(file, { version: 'test', written: 0, settings: settingsOf(config, true), inputs: [] }, saveRun(run.stats, run.alerts));
  const read = readSnapshot(file)!;
  const next = runOf(config);
  restoreRun(read.parts, next.stats, next.alerts);
  fs.rmSync(dir, { recursive: true });
  return next;
}

describe('a saved run taken back', () => {
  const events = traffic();
  const half = events.findIndex((e) => e.ts >= T0 + 5400);
  const alertConfig = { ...defaultConfig(), average_learning_duration: 600 };
  const config = { ...defaultConfig(), alerts: [{ name: 'API errors', type: 'error_rate', above: 5, window: 60 }] } as Config;

  it('reads exactly as the run it was saved from, then goes on exactly as that run does', () => {
    expect(events.length).toBeGreaterThan(30_000);
    const whole = runOf(config);
    feed(whole, events.slice(0, half));
    const restored = throughFile(whole, config);
    expect(readings(restored)).toEqual(readings(whole));
    // The rest of the traffic into both: the restored summaries, rings and alert state carry on alike.
    feed(whole, events.slice(half));
    feed(restored, events.slice(half));
    whole.end();
    restored.end();
    expect(readings(restored)).toEqual(readings(whole));
    expect(restored.stats.builtins.requests.total).toBe(events.length);
  });

  it('keeps the learned baseline: a restarted monitor is not learning again', () => {
    const quick = { ...defaultConfig(), average_learning_duration: 60 };
    const run = runOf(quick);
    feed(run, events.slice(0, half));
    expect(run.alerts.stateName).not.toBe('LEARNING');
    const restored = throughFile(run, quick);
    expect(restored.alerts.stateName).toBe(run.alerts.stateName);
    expect(restored.alerts.baseline).toBe(run.alerts.baseline);
    expect(restored.alerts.learningLeft()).toBe(0);
  });

  it('is one snapshot whatever the run held, with the store and the monitor of the new run in place', () => {
    const run = runOf(config);
    feed(run, events.slice(0, 500));
    const restored = throughFile(run, config);
    // The new run's own objects were filled in, so its outputs' references hold.
    expect(restored.stats.modules[0]).toBe(restored.stats.builtins.requests);
    expect(restored.stats.keys.used).toBe(run.stats.keys.used);
  });
});

describe('the saved classes', () => {
  it('are the ones this format was made for (a change of fields needs STATE_FORMAT bumped)', () => {
    const run = runOf({ ...defaultConfig(), alerts: [{ name: 'p90', type: 'latency', quantile: 'p95', above: 100, window: 30 }] } as Config);
    feed(run, traffic().slice(0, 2000));
    const saved = [...saveRun(run.stats, run.alerts)];
    const fields = new Map<string, Set<string>>();
    const visit = (node: unknown): void => {
      if (!Array.isArray(node)) return;
      if (node[0] === 'C') {
        const names = fields.get(node[1] as string) ?? new Set<string>();
        fields.set(node[1] as string, names);
        const flat = node[2] as unknown[];
        for (let i = 0; i < flat.length; i += 2) { names.add(flat[i] as string); visit(flat[i + 1]); }
        return;
      }
      for (const item of node) visit(item);
    };
    for (const part of saved) if (part.part !== 'clock') visit(part.state);
    const shape = Object.fromEntries([...fields].map(([name, set]) => [name, [...set].sort().join(' ')]).sort());
    expect({ format: STATE_FORMAT, shape }).toMatchSnapshot();
  });

  it('refuses an object of a class it does not know, naming it', () => {
    class Unknown { x = 1; twice(): number { return 2 * this.x; } }
    class Record { x = 1; }
    const codec = new StateCodec([]);
    expect(() => codec.encode({ a: [new Unknown()] }, new Map())).toThrow('cannot save a Unknown at root.a[0]: register its class');
    // A class with no methods is a record (the transactions decoded from a batch): a plain object back.
    expect(codec.decode(codec.encode(new Record(), new Map()), undefined, new Map())).toEqual({ x: 1 });
  });

  it('keeps shared objects shared and cycles whole', () => {
    const shared = { n: 1 };
    const cyclic: Record<string, unknown> = { shared, again: shared, list: [shared], map: new Map([['k', shared]]) };
    cyclic.self = cyclic;
    const codec = new StateCodec([]);
    const back = codec.decode(v8.deserialize(v8.serialize(codec.encode(cyclic, new Map()))), undefined, new Map()) as Record<string, unknown>;
    expect(back.self).toBe(back);
    expect(back.again).toBe(back.shared);
    expect((back.list as unknown[])[0]).toBe(back.shared);
    expect((back.map as Map<string, unknown>).get('k')).toBe(back.shared);
  });

  it('refuses encoded values that do not fit, as a format error', () => {
    const codec = STATE_CODEC;
    for (const bad of [['R', 5], ['X', 'nope'], ['F'], ['C', 'Nope', []], ['C', 'TopModule', []], ['O', ['a']], ['Q'], ['A', 3], ['M', [1]]]) {
      expect(() => codec.decode(bad, undefined, new Map())).toThrow(StateFormatError);
    }
  });
});

describe('the snapshot file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretop-snapshot-'));
  const file = path.join(dir, 'state.wiretop');
  const header = { version: 'test', written: 0, settings: { a: '1' }, inputs: [{ id: 'x', heads: [100], name: 'f.pcap', events: 3, tls: 0 }] };
  afterAll(() => fs.rmSync(dir, { recursive: true }));

  const problem = (): SnapshotError => {
    try {
      readSnapshot(file);
    } catch (error) {
      return error as SnapshotError;
    }
    throw new Error('read without a problem');
  };

  it('reads back what was written, and nothing when there is none', () => {
    expect(readSnapshot(path.join(dir, 'none'))).toBeNull();
    writeSnapshot(file, header, [{ hello: [1, 2, 3] }, 'two', new Map([[3, 4]])]);
    const read = readSnapshot(file)!;
    expect([...read.parts]).toEqual([{ hello: [1, 2, 3] }, 'two', new Map([[3, 4]])]);
    expect(read.header.inputs).toEqual(header.inputs);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['state.wiretop']);
  });

  it('calls a flipped byte, a cut file and a bad header damaged', () => {
    writeSnapshot(file, header, [{ hello: 'x'.repeat(1000) }]);
    const good = fs.readFileSync(file);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 5] ^= 0x40;
    fs.writeFileSync(file, flipped);
    expect(problem().kind).toBe('damaged');
    expect(problem().message).toBe('its checksum does not match');
    fs.writeFileSync(file, good.subarray(0, good.length - 10));
    expect(problem().kind).toBe('damaged');
    fs.writeFileSync(file, Buffer.concat([Buffer.from('wiretop-state\n{"format":'), good.subarray(40)]));
    expect(problem().kind).toBe('damaged');
    // The header is checksummed too: one digit of a position would count an input twice.
    fs.writeFileSync(file, Buffer.from(good.toString('latin1').replace('"events":3', '"events":4'), 'latin1'));
    expect(problem().message).toBe('its checksum does not match');
    fs.writeFileSync(file, Buffer.from(good.toString('latin1').replace('"a":"1"', '"a":1'), 'latin1'));
    expect(problem().message).toBe('its header is incomplete');
  });

  it('calls another file foreign and another format by its number', () => {
    fs.writeFileSync(file, 'GET / HTTP/1.1\r\n\r\n');
    expect(problem().kind).toBe('foreign');
    fs.writeFileSync(file, '');
    expect(problem().kind).toBe('foreign');
    fs.writeFileSync(file, `wiretop-state\n${JSON.stringify({ ...header, format: STATE_FORMAT + 1, parts: [], sha256: '' })}\n`);
    expect(problem().kind).toBe('format');
  });
});
