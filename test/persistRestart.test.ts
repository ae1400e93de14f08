/**
 * `--persist` through bin/wiretop: a run killed with SIGKILL in the middle of a capture and
 * started again gives the report of one uninterrupted run; a file read again is not counted
 * twice; a damaged, foreign or other-settings snapshot is one line and a fresh start; one run
 * per directory.
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { repoRoot } from './helpers/corpus';
import { Conversation, interleave, request, response, tempDir, writePcap } from './helpers/conversation';
import { runProcess, runWiretop, startProcess, startWiretop } from './helpers/runCli';

const dir = tempDir();
// As a state directory's parent would be (/var/lib): a root run saves as the account it drops to.
fs.chmodSync(dir, 0o755);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * Twelve seconds of traffic: 40 clients, a request every 0.1 s each way round, a burst of three
 * times the rate from second 8 (after a 4-second learning: an alert and its recovery), statuses
 * and paths mixed.
 */
function capture(): string {
  const conversations: Conversation[] = [];
  const T0 = 1_700_000_000;
  for (let c = 0; c < 40; c++) {
    const conv = new Conversation({ addr: `10.0.1.${c + 1}`, port: 40000 + c }, { addr: '10.0.0.2', port: 80 }, T0 + c * 0.0025).handshake();
    for (let i = 0; conv.clock < T0 + 12; i++) {
      const burst = conv.clock >= T0 + 8 && conv.clock < T0 + 9.5;
      conv.send('client', request(i % 5 === 0 ? 'POST' : 'GET', `/s${c % 7}/item/${i % 13}`, `h${c % 3}.example`, `User-Agent: ${c % 2 === 0 ? 'curl/8.5.0' : 'GPTBot/1.1'}\r\n`), 1460, burst ? 0.004 : 0.02);
      conv.send('server', response([200, 200, 404, 500][i % 4], 'x'.repeat(i % 50)), 1460, burst ? 0.004 : 0.05);
      conv.clock += burst ? 0.01 : 0.03;
    }
    conversations.push(conv.close());
  }
  return writePcap(path.join(dir, 'twelve-seconds.pcap'), interleave(...conversations));
}

const config = path.join(dir, 'config.json');
fs.writeFileSync(config, JSON.stringify({ average_learning_duration: 4, average_bucket_size: 2, average_threshold: 50 }));

/** The report without what describes this one run (the capture's health, the run's own source line). */
function statistics(stdout: string): unknown {
  const report = JSON.parse(stdout) as Record<string, unknown>;
  delete report.capture;
  delete report.loss;
  return report;
}

/** The header line of a snapshot (inputs counted, settings). */
function header(file: string): { inputs: Array<{ events: number }> } | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'latin1').split('\n')[1]) as { inputs: Array<{ events: number }> };
  } catch {
    return null;
  }
}

describe('--persist', () => {
  const file = capture();

  it('gives the report of one uninterrupted run after a SIGKILL and a restart, and does not count a file read again', async () => {
    const whole = await runWiretop(['-r', file, '--report', 'json', '--config', config]);
    expect(whole.code).toBe(0);
    const expected = statistics(whole.stdout) as { requests: number; alerts: { history: unknown[] } };
    expect(expected.requests).toBeGreaterThan(5000);
    expect(expected.alerts.history.length).toBeGreaterThan(0);

    const state = path.join(dir, 'killed');
    const snapshot = path.join(state, 'state.wiretop');
    // In capture time (--speed 1), saving every second: killed once a snapshot holds part of the file.
    const first = startWiretop(['-r', file, '--report', 'json', '--config', config, '--persist', state, '--persist-interval', '1', '--speed', '1']);
    let taken = 0;
    for (let waited = 0; waited < 30_000 && taken === 0; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      taken = header(snapshot)?.inputs[0]?.events ?? 0;
    }
    first.child.kill('SIGKILL');
    const killed = await first.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(taken).toBeGreaterThan(0);
    expect(taken).toBeLessThan(expected.requests);
    expect(fs.existsSync(path.join(state, 'lock'))).toBe(true); // left behind by the kill: taken over below

    const again = await runWiretop(['-r', file, '--report', 'json', '--config', config, '--persist', state]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/statistics and alert state taken back from .*state\.wiretop; twelve-seconds\.pcap was counted up to transaction [\d,]+: only what follows counts/);
    expect(statistics(again.stdout)).toEqual(expected);
    expect(fs.existsSync(path.join(state, 'lock'))).toBe(false);

    // The same file once more (and a copy of it): nothing new.
    const copy = path.join(dir, 'copy.pcap');
    fs.copyFileSync(file, copy);
    const twice = await runWiretop(['-r', copy, '--report', 'json', '--config', config, '--persist', state]);
    expect(twice.code).toBe(0);
    expect(statistics(twice.stdout)).toEqual({ ...(expected as object), source: copy });
  }, 120_000);

  it('gives the uninterrupted report after a stop mid-file (SIGTERM) and a restart: the requests open at the stop are read answered', async () => {
    const whole = statistics((await runWiretop(['-r', file, '--report', 'json', '--config', config])).stdout);
    const state = path.join(dir, 'stopped');
    const first = startWiretop(['-r', file, '--report', 'json', '--config', config, '--persist', state, '--speed', '1']);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    first.child.kill('SIGTERM');
    const stopped = await first.exited;
    expect(stopped.code).toBe(0);
    const partial = JSON.parse(stopped.stdout) as { requests: number; statusClasses: { none: number } };
    expect(partial.requests).toBeLessThan((whole as { requests: number }).requests);
    const again = await runWiretop(['-r', file, '--report', 'json', '--config', config, '--persist', state]);
    expect(again.code).toBe(0);
    expect(statistics(again.stdout)).toEqual(whole);
  }, 60_000);

  it('reads a FIFO with --persist as new traffic, without stopping its writer', async () => {
    const fifo = path.join(dir, 'fifo');
    fs.rmSync(fifo, { force: true });
    expect((await runProcess('mkfifo', [fifo])).code).toBe(0);
    const writer = startProcess('sh', ['-c', `cat ${file} > ${fifo}`]);
    const run = await runWiretop(['-r', fifo, '--report', 'json', '--config', config, '--persist', path.join(dir, 'fifo-state')]);
    const wrote = await writer.exited;
    expect(wrote.code).toBe(0);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { requests: number }).requests).toBeGreaterThan(5000);
  }, 60_000);

  it('counts a small capture once when it grows: the second run reads only what was added', async () => {
    const conv = new Conversation().handshake();
    let cut = 0;
    for (let i = 0; i < 20; i++) {
      conv.send('client', request('GET', `/grow/${i}`));
      conv.send('server', response(200, 'ok'));
      if (i === 9) cut = conv.frames.length;
    }
    const grown = writePcap(path.join(dir, 'grown.pcap'), conv.frames);
    const part = writePcap(path.join(dir, 'part.pcap'), conv.frames.slice(0, cut));
    expect(fs.statSync(grown).size).toBeLessThan(64 * 1024);
    const growing = path.join(dir, 'growing.pcap');
    fs.copyFileSync(part, growing);
    const state = path.join(dir, 'grow-state');
    const first = JSON.parse((await runWiretop(['-r', growing, '--report', 'json', '--persist', state])).stdout) as { requests: number };
    expect(first.requests).toBe(10);
    fs.copyFileSync(grown, growing);
    const second = await runWiretop(['-r', growing, '--report', 'json', '--persist', state]);
    expect(second.stderr).toContain('growing.pcap was counted up to transaction 10: only what follows counts');
    expect((JSON.parse(second.stdout) as { requests: number }).requests).toBe(20);
  }, 60_000);

  it('reports a damaged snapshot in one line and starts fresh, keeping the damaged file aside', async () => {
    const state = path.join(dir, 'damaged');
    expect((await runWiretop(['-r', file, '--report', 'json', '--config', config, '--persist', state])).code).toBe(0);
    const snapshot = path.join(state, 'state.wiretop');
    const bytes = fs.readFileSync(snapshot);
    bytes[bytes.length - 100] ^= 0xff;
    fs.writeFileSync(snapshot, bytes);
    const run = await runWiretop(['-r', file, '--report', 'json', '--config', config, '--persist', state]);
    expect(run.code).toBe(0);
    expect(run.stderr.trim().split('\n')).toEqual([`wiretop: --persist ${state}: state.wiretop is not taken back: its checksum does not match; starting fresh (kept as state.wiretop.damaged)`]);
    expect((statistics(run.stdout) as { requests: number }).requests).toBeGreaterThan(5000);
    expect(fs.existsSync(`${snapshot}.damaged`)).toBe(true);
    expect(header(snapshot)).not.toBeNull(); // a good snapshot again

    fs.writeFileSync(snapshot, 'not ours\n');
    const foreign = await runWiretop(['-r', file, '--report', 'json', '--config', config, '--persist', state]);
    expect(foreign.stderr).toContain('state.wiretop is not taken back: not a wiretop snapshot; starting fresh (kept as state.wiretop.foreign)');

    const other = path.join(dir, 'other.json');
    fs.writeFileSync(other, JSON.stringify({ average_learning_duration: 4, average_bucket_size: 3, average_threshold: 50 }));
    const changed = await runWiretop(['-r', file, '--report', 'json', '--config', other, '--persist', state]);
    expect(changed.code).toBe(0);
    expect(changed.stderr).toContain('it was made with other settings (average_bucket_size 2 → 3); starting fresh (kept as state.wiretop.old)');
  }, 120_000);

  (process.getuid?.() === 0 ? it : it.skip)('refuses, before the capture, a directory the account it drops to cannot write or others can (root)', async () => {
    const rootOwned = path.join(dir, 'root-owned');
    fs.mkdirSync(rootOwned, { mode: 0o755 });
    fs.chmodSync(rootOwned, 0o755);
    const run = await runWiretop(['-r', file, '--report', 'json', '--persist', rootOwned]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`wiretop: --persist ${rootOwned}: not writable by uid 65534 (the account wiretop runs as after opening the capture, --user); chown it to that account or name another directory`);
    expect(fs.readdirSync(rootOwned)).toEqual([]);
    const shared = path.join(dir, 'group-writable');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o775);
    const open = await runWiretop(['-r', file, '--report', 'json', '--persist', shared, '--user', 'root']);
    expect(open.code).toBe(1);
    expect(open.stderr.trim()).toBe(`wiretop: --persist ${shared}: other users can write it; chmod go-w it or name a private directory`);
  }, 60_000);

  it('is one run per directory, and says so', async () => {
    const state = path.join(dir, 'shared');
    const holder = startWiretop(['-r', file, '--report', 'json', '--persist', state, '--speed', '0.5']);
    for (let waited = 0; waited < 20_000 && !fs.existsSync(path.join(state, 'lock')); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await runWiretop(['-r', file, '--report', 'json', '--persist', state]);
    holder.child.kill('SIGTERM');
    await holder.exited;
    expect(second.code).toBe(1);
    expect(second.stderr.trim()).toBe(`wiretop: --persist ${state}: in use by another wiretop (pid ${holder.child.pid}); give each run its own directory`);
    expect(second.stdout).toBe('');
  }, 60_000);
});

const canCapture = process.getuid?.() === 0 && fs.existsSync(path.join(repoRoot(), 'node_modules/pcap/build/Release/pcap_binding.node'));

(canCapture ? describe : describe.skip)('--persist on a live capture (root)', () => {
  it('continues the same statistics after a restart: the second run reports both runs\' requests', async () => {
    const server = http.createServer((req, res) => { res.statusCode = req.url === '/missing' ? 404 : 200; res.end('ok'); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const state = path.join(dir, 'live');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = async (count: number, url: string) => {
      for (let i = 0; i < count; i++) {
        await new Promise<void>((resolve, reject) => {
          http.get({ host: '127.0.0.1', port, path: url, agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
        });
      }
    };
    const session = async (count: number, url: string) => {
      const wiretop = startWiretop(['-i', 'lo', '-p', String(port), '--report', 'json', '--persist', state]);
      await wiretop.waitFor({ stderr: /listening on lo/ });
      await send(count, url);
      await new Promise((resolve) => setTimeout(resolve, 500));
      wiretop.child.kill('SIGINT');
      const result = await wiretop.exited;
      expect(result.code).toBe(0);
      return { report: JSON.parse(result.stdout) as { requests: number; statuses: Array<{ key: string; count: number }> }, stderr: result.stderr };
    };
    try {
      const first = await session(30, '/items/1');
      expect(first.report.requests).toBe(30);
      const second = await session(12, '/missing');
      expect(second.stderr).toContain(`statistics and alert state taken back from ${state}/state.wiretop`);
      expect(second.report.requests).toBe(42);
      expect(JSON.stringify(second.report.statuses)).toMatch(/"404".*12|12.*"404"/);
    } finally {
      agent.destroy();
      server.close();
    }
  }, 60_000);
});
