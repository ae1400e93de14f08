/**
 * Live capture on the loopback interface, as root: a local HTTP server, a known number of
 * requests (keep-alive and pipelined, a few, then thousands a second), exactly that many
 * transactions, then a clean stop; and what wiretop says when the kernel drops packets
 * (a capture frozen with SIGSTOP while a burst fills its buffer).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';
import type { HttpEvent } from '../src/types';
import { repoRoot } from './helpers/corpus';
import { startWiretop, WIRETOP } from './helpers/runCli';
import { TmuxSession, tmuxAvailable } from './helpers/tmux';

const ROOT = repoRoot();
const canCapture = process.getuid?.() === 0 && fs.existsSync(path.join(ROOT, 'node_modules/pcap/build/Release/pcap_binding.node'));
const describeLive = canCapture ? describe : describe.skip;

/** 4 MB, for bursts that overflow a small capture buffer. */
const BLOB = Buffer.alloc(4 * 1024 * 1024, 0x62);

function startServer(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let body = 0;
    req.on('data', (chunk: Buffer) => { body += chunk.length; });
    req.on('end', () => {
      if (req.url === '/blob') {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        res.end(BLOB);
        return;
      }
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'Content-Type': 'text/plain' });
      res.end(`you sent ${body} bytes to ${req.url}`);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function get(port: number, agent: http.Agent, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: url, agent, headers: { 'User-Agent': 'live-test' } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    }).on('error', reject);
  });
}

/**
 * `connections` keep-alive connections, each sending `rounds` rounds of `depth` pipelined
 * requests (waiting for a round's responses before the next): returns the URIs sent.
 */
async function pipelinedLoad(port: number, connections: number, rounds: number, depth: number): Promise<string[]> {
  const sent: string[] = [];
  await Promise.all(Array.from({ length: connections }, (_, c) => new Promise<void>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let round = 0;
    let seen = 0;
    const sendRound = () => {
      const urls = Array.from({ length: depth }, (_, i) => `/load/c${c}/r${round}/${i}`);
      sent.push(...urls);
      socket.write(urls.map((u) => `GET ${u} HTTP/1.1\r\nHost: load.test\r\nUser-Agent: load\r\n\r\n`).join(''));
    };
    socket.on('connect', sendRound);
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1').split('HTTP/1.1 200').length - 1;
      if (seen < depth) return;
      seen -= depth;
      if (++round < rounds) sendRound();
      else socket.end();
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  })));
  return sent;
}

/** Fetches /blob `times` times over one connection (a burst of ~4 MB each). */
async function blobs(port: number, times: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < times; i++) await get(port, agent, '/blob');
  agent.destroy();
}

function pipelined(port: number, urls: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(urls.map((u) => `GET ${u} HTTP/1.1\r\nHost: pipelined.test\r\n\r\n`).join(''));
    });
    let seen = '';
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if ((seen.match(/HTTP\/1\.1 /g) ?? []).length === urls.length) socket.end();
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

describeLive('live capture on lo', () => {
  let server: http.Server;
  beforeAll(async () => { server = await startServer(); });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each([
    ['in place in the ring', []],
    ['through libpcap (--no-zero-copy)', ['--no-zero-copy']],
  ])('sees every request sent, keep-alive and pipelined, then stops cleanly: packets read %s', async (_, flags) => {
    const port = (server.address() as AddressInfo).port;
    const wiretop = startWiretop(['-i', 'lo', '-p', String(port), '--ndjson', ...flags]);
    await wiretop.waitFor({ stderr: /listening on lo/ });

    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      const url = i % 5 === 4 ? '/missing' : `/items/${i}`;
      sent.push(url);
      await get(port, agent, url);
    }
    agent.destroy();
    const piped = ['/p/1', '/p/2', '/p/3'];
    await pipelined(port, piped);
    sent.push(...piped);

    // Wait until every transaction has come through (bounded), then stop with SIGINT.
    for (let tries = 0; tries < 100 && wiretop.output().stdout.split('\n').filter(Boolean).length < sent.length; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    wiretop.child.kill('SIGINT');
    const { code, stdout } = await wiretop.exited;
    expect(code).toBe(0);

    const events = stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as HttpEvent);
    expect(events).toHaveLength(sent.length);
    expect(events.map((e) => e.uri).sort()).toEqual([...sent].sort());
    expect(events.filter((e) => e.status === 404)).toHaveLength(4);
    expect(events.filter((e) => e.host === 'pipelined.test').map((e) => e.uri)).toEqual(piped);
    expect(new Set(events.filter((e) => e.ua === 'live-test').map((e) => e.sport)).size).toBeLessThanOrEqual(2);
  });

  it('puts the interface in promiscuous mode unless --no-promisc says not to', async () => {
    const promiscuity = () => Number(/promiscuity (\d+)/.exec(spawnSync('ip', ['-d', 'link', 'show', 'lo']).stdout.toString())?.[1] ?? NaN);
    const before = promiscuity();
    const during = async (flags: string[]): Promise<number> => {
      const wiretop = startWiretop(['-i', 'lo', '-p', '9', '--ndjson', ...flags]);
      await wiretop.waitFor({ stderr: /listening on lo/ });
      const value = promiscuity();
      wiretop.child.kill('SIGINT');
      expect((await wiretop.exited).code).toBe(0);
      return value;
    };
    expect(await during([])).toBe(before + 1);
    expect(await during(['--no-promisc'])).toBe(before);
  });

  it('gives up root once the capture is open: every thread becomes nobody, with no groups and no capabilities', async () => {
    const threads = (pid: number) => fs.readdirSync(`/proc/${pid}/task`).map((tid) => {
      const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(status)?.[1].trim() ?? '';
      return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups'), caps: field('CapEff') };
    });
    // no_new_privs per thread, and whether the thread blocks every signal (Node's inspector-signal thread).
    const lockdown = (pid: number) => fs.readdirSync(`/proc/${pid}/task`).map((tid) => {
      const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      return { noNewPrivs: /^NoNewPrivs:\s*(\d)/m.exec(status)?.[1], blocksSignals: /^SigBlk:\s*fffffffe7ffbfeff$/m.test(status) };
    });
    const run = async (flags: string[]) => {
      const wiretop = startWiretop(['-i', 'lo', '-p', '9', '--ndjson', ...flags]);
      const { child } = wiretop;
      await wiretop.waitFor({ stderr: /listening on lo/ });
      const seen = threads(child.pid!);
      const taskStatus = (tid: string) => fs.readFileSync(`/proc/${child.pid}/task/${tid}/status`, 'utf8');
      const noNewPrivsOf = (tid: string | undefined) => (tid === undefined ? 'none' : /^NoNewPrivs:\s*(\d)/m.exec(taskStatus(tid))?.[1] ?? '?');
      // The capture thread is the one at nice -5, or the main thread where it captures (2 cores).
      const captureTid = fs.readdirSync(`/proc/${child.pid}/task`).find((tid) => fs.readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16] === '-5')
        ?? (os.availableParallelism() <= 2 ? String(child.pid) : undefined);
      const noNewPrivs = { main: noNewPrivsOf(String(child.pid)), capture: noNewPrivsOf(captureTid) };
      const locked = lockdown(child.pid!);
      // SIGUSR1 no longer opens Node's inspector once the privileges are gone.
      child.kill('SIGUSR1');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const inspectorOpen = /:9229 /.test(spawnSync('ss', ['-ltnp']).stdout.toString().split('\n').filter((line) => line.includes(`pid=${child.pid},`)).join('\n'));
      child.kill('SIGINT');
      const { code, stderr } = await wiretop.exited;
      expect(code).toBe(0);
      return { seen, stderr, noNewPrivs, locked, inspectorOpen };
    };
    const dropped = await run([]);
    expect(dropped.stderr).toMatch(/^wiretop: dropped privileges to user nobody \(uid 65534, gid 65534, no supplementary groups, no new privileges( in \d+ of \d+ threads)?\)\n/);
    expect(dropped.inspectorOpen).toBe(false);
    // Every thread may gain no privileges by any exec, the runtime's helpers included; the one
    // exception allowed is the thread of Node's that blocks every signal (it runs no code of ours).
    const unlocked = dropped.locked.filter((thread) => thread.noNewPrivs !== '1');
    expect(unlocked.length).toBeLessThanOrEqual(1);
    for (const thread of unlocked) expect(thread.blocksSignals).toBe(true);
    // The main thread and the capture thread (the one at nice -5) may gain no privileges by any exec.
    expect(dropped.noNewPrivs.main).toBe('1');
    expect(dropped.noNewPrivs.capture).toBe('1');
    expect(dropped.seen.length).toBeGreaterThan(2);
    for (const thread of dropped.seen) expect(thread).toEqual({ uid: '65534\t65534\t65534\t65534', gid: '65534\t65534\t65534\t65534', groups: '', caps: '0000000000000000' });
    const kept = await run(['--user', 'root']);
    expect(kept.stderr).not.toMatch(/dropped privileges/);
    expect(kept.seen.every((t) => t.uid.startsWith('0\t'))).toBe(true);
  });

  it('says when the interface goes down, and a headless capture gives up after a grace period', async () => {
    // A veth pair of our own (removed at the end); skipped where the kernel has no veth.
    if (spawnSync('ip', ['link', 'add', 'wtt0', 'type', 'veth', 'peer', 'name', 'wtt1']).status !== 0) return;
    try {
      spawnSync('ip', ['link', 'set', 'wtt1', 'up']);
      spawnSync('ip', ['link', 'set', 'wtt0', 'up']);
      const wiretop = startWiretop(['-i', 'wtt0', '--text', '--bucket', '1']);
      await wiretop.waitFor({ stderr: /listening on wtt0/ });
      spawnSync('ip', ['link', 'set', 'wtt0', 'down']);
      const { code, stdout: out, stderr } = await wiretop.exited;
      expect(code).toBe(1);
      expect(out).toContain('WARNING: the interface is down: no traffic can be seen');
      expect(stderr.trim().split('\n').pop()).toBe('wiretop: wtt0: the interface is down, nothing can be captured (bring it up, or capture on another with -i)');
    } finally {
      spawnSync('ip', ['link', 'del', 'wtt0']);
    }
  }, 30_000);

  it.each([
    ['deleted', [], false], ['deleted', ['--no-zero-copy'], false],
    ['taken down, then deleted', [], true], ['taken down, then deleted', ['--no-zero-copy'], true],
  ])('ends with one line when the interface disappears: %s (%j)', async (_, flags, downFirst) => {
    if (spawnSync('ip', ['link', 'add', 'wtt2', 'type', 'veth', 'peer', 'name', 'wtt3']).status !== 0) return;
    try {
      spawnSync('ip', ['link', 'set', 'wtt3', 'up']);
      spawnSync('ip', ['link', 'set', 'wtt2', 'up']);
      const wiretop = startWiretop(['-i', 'wtt2', '--ndjson', ...flags]);
      await wiretop.waitFor({ stderr: /listening on wtt2/ });
      if (downFirst) {
        // The kernel says the interface went down once, and nothing when it is deleted after.
        spawnSync('ip', ['link', 'set', 'wtt2', 'down']);
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
      spawnSync('ip', ['link', 'del', 'wtt2']);
      const { code, stderr } = await wiretop.exited;
      expect(code).toBe(1);
      expect(stderr.trim().split('\n').pop()).toBe('wiretop: capture failed: The interface disappeared');
    } finally {
      spawnSync('ip', ['link', 'del', 'wtt2']);
    }
  }, 30_000);

  // On a machine of 1 or 2 cores (this one), wiretop's default captures on the main thread.
  const inline = os.availableParallelism() <= 2;
  it.each([
    ...(inline ? [['on the main thread (the default on 2 cores)', [], true] as const] : []),
    ['in a capture thread (--workers 1)', ['--workers', '1'], false] as const,
  ])('sees every request at thousands of requests a second, keep-alive and pipelined: captured %s', async (_, flags, onMainThread) => {
    const port = (server.address() as AddressInfo).port;
    const autogroup = fs.existsSync('/proc/self/autogroup') ? fs.readFileSync('/proc/self/autogroup', 'utf8') : null;
    const wiretop = startWiretop(['-i', 'lo', '-p', String(port), '--ndjson', ...flags]);
    const { child } = wiretop;
    /** The complete lines printed so far (a line still being written is not one yet). */
    const completeLines = (stdout: string) => stdout.split('\n').slice(0, -1);
    await wiretop.waitFor({ stderr: /listening on lo/ });
    // A capture thread, and only it, runs at capture_nice (-5 by default; root may); captured on
    // the main thread, no thread does (its statistics, display and children keep theirs).
    const tasks = fs.readdirSync(`/proc/${child.pid}/task`);
    const nices = tasks.map((tid) => Number(fs.readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]));
    expect(nices.filter((n) => n === -5)).toHaveLength(onMainThread ? 0 : 1);
    expect(nices.filter((n) => n !== -5 && n !== 0)).toHaveLength(0);
    if (!onMainThread) expect(tasks[nices.indexOf(-5)]).not.toBe(String(child.pid));
    // Where the kernel shares the CPU between sessions first, the session's group too, until the end.
    if (autogroup !== null && /nice 0/.test(autogroup)) expect(fs.readFileSync(`/proc/${child.pid}/autogroup`, 'utf8')).toMatch(/nice -5/);
    const started = Date.now();
    const sent = await pipelinedLoad(port, 8, 250, 10);
    const seconds = (Date.now() - started) / 1000;
    for (let tries = 0; tries < 100 && completeLines(wiretop.output().stdout).length < sent.length; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGINT');
    const { code, stdout, stderr } = await wiretop.exited;
    expect(code).toBe(0);
    const lines = completeLines(stdout);
    const count = lines.length;
    const uris = new Set(lines.map((line) => (JSON.parse(line) as HttpEvent).uri));
    if (autogroup !== null) expect(fs.readFileSync('/proc/self/autogroup', 'utf8')).toBe(autogroup);
    expect(sent).toHaveLength(20_000);
    expect(count).toBe(sent.length);
    expect([...uris].sort()).toEqual([...sent].sort());
    expect(stderr).toMatch(/wiretop: 20000 transactions in \d+ packets from lo; dropped: 0 packets by the kernel, 0 by the interface, 0 transactions by wiretop\n/);
    // Not a timing assertion: printed so that a slow run is visible in the log.
    process.stdout.write(`live load: ${sent.length} requests in ${seconds.toFixed(1)} s (${Math.round(sent.length / seconds)}/s)\n`);
  });

  it('splits the capture among workers by connection (PACKET_FANOUT): every request seen once, both directions paired', async () => {
    const port = (server.address() as AddressInfo).port;
    const wiretop = startWiretop(['-i', 'lo', '-p', String(port), '--ndjson', '--workers', '3']);
    const { child } = wiretop;
    const completeLines = (stdout: string) => stdout.split('\n').slice(0, -1);
    await wiretop.waitFor({ stderr: /listening on lo/ });
    // Three capture threads, each at capture_nice, each with its socket in the fanout group.
    const nices = fs.readdirSync(`/proc/${child.pid}/task`).map((tid) => Number(fs.readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]));
    expect(nices.filter((n) => n === -5)).toHaveLength(3);
    const sent = await pipelinedLoad(port, 12, 100, 10);
    for (let tries = 0; tries < 100 && completeLines(wiretop.output().stdout).length < sent.length; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGINT');
    const { code, stdout, stderr } = await wiretop.exited;
    expect(code).toBe(0);
    const events = completeLines(stdout).map((line) => JSON.parse(line) as HttpEvent);
    expect(events).toHaveLength(sent.length);
    expect(events.map((e) => e.uri).sort()).toEqual([...sent].sort());
    // Every request met its response: both directions of each connection went to one worker.
    expect(events.filter((e) => e.status !== 200)).toEqual([]);
    expect(stderr).toMatch(/wiretop: 12000 transactions in \d+ packets from lo; dropped: 0 packets by the kernel, 0 by the interface, 0 transactions by wiretop\n/);
  });

  it('with workers, counts no request twice when traffic already flows as the capture starts', async () => {
    const port = (server.address() as AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    let sending = true;
    let sent = 0;
    // Requests with unique URIs, before, while and after the workers' sockets join the fanout group (bounded).
    const load = Promise.all(Array.from({ length: 4 }, async (_, c) => {
      for (let i = 0; sending && i < 20_000; i++) {
        await get(port, agent, `/flow/${c}/${i}`);
        sent++;
      }
    }));
    const wiretop = startWiretop(['-i', 'lo', '-p', String(port), '--ndjson', '--workers', '2']);
    await wiretop.waitFor({ stderr: /listening on lo/ });
    const atStart = sent;
    for (let tries = 0; tries < 50 && sent < atStart + 2000; tries++) await new Promise((resolve) => setTimeout(resolve, 50));
    sending = false;
    await load;
    agent.destroy();
    await new Promise((resolve) => setTimeout(resolve, 500));
    wiretop.child.kill('SIGINT');
    const { code, stdout } = await wiretop.exited;
    expect(code).toBe(0);
    const uris = stdout.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as HttpEvent).uri);
    expect(uris.length).toBeGreaterThan(1000);
    expect(new Set(uris).size).toBe(uris.length);
  });

  it('says it is losing, in --text and at the end, when the kernel drops packets', async () => {
    const port = (server.address() as AddressInfo).port;
    const wiretop = startWiretop(['-i', 'lo', '-p', String(port), '--text', '--bucket', '1', '--buffer-size', '1']);
    const { child } = wiretop;
    await wiretop.waitFor({ stderr: /listening on lo/ });
    // Frozen while ~20 MB cross the interface: the 1 MB capture buffer must overflow. The
    // signal is delivered on its own time: the load waits until the process is seen stopped.
    child.kill('SIGSTOP');
    const stateOf = () => fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1][0];
    for (let tries = 0; tries < 100 && stateOf() !== 'T'; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(stateOf()).toBe('T');
    await blobs(port, 5);
    child.kill('SIGCONT');
    for (let tries = 0; tries < 100 && !/WARNING: the capture lost/.test(wiretop.output().stdout); tries++) {
      await get(port, new http.Agent(), '/after');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGINT');
    const { code, stdout: out, stderr } = await wiretop.exited;
    expect(code).toBe(0);
    // Its end line says what the capture counted, should the summaries not show the loss.
    expect({ out, stderr }).toEqual({ out: expect.stringMatching(/WARNING: the capture lost [\d,]+ packets \(\d+(\.\d)?%(; est\. \d+(\.\d)?% of requests incomplete)?\) in these 1s: counts are incomplete/), stderr });
    expect(stderr).toMatch(/dropped: [1-9]\d* packets by the kernel.*WARNING: the capture lost/);
  });

  (tmuxAvailable() ? it : it.skip)('shows LOSING in the dashboard status bar when the kernel drops packets', async () => {
    const port = (server.address() as AddressInfo).port;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretop-live-'));
    const tmux = new TmuxSession(`echo $$ > ${dir}/pid; ${process.execPath} ${WIRETOP} -i lo -p ${port} --buffer-size 1`, 120, 40);
    try {
      await tmux.waitFor(/Requests\/s/);
      const shell = fs.readFileSync(path.join(dir, 'pid'), 'utf8').trim();
      const pid = Number(spawnSync('pgrep', ['-P', shell], { encoding: 'utf8' }).stdout.trim().split('\n')[0]);
      process.kill(pid, 'SIGSTOP');
      await blobs(port, 5);
      process.kill(pid, 'SIGCONT');
      const screen = await tmux.waitFor(/LOSING \d+(\.\d)?% of packets/);
      expect(screen).toMatch(/wiretop( lo)? \| \S+.* \| LOSING \d+(\.\d)?% of packets( \(est\. \d+(\.\d)?% of requests incomplete\))?/);
      tmux.keys('q');
      const after = await tmux.waitFor(/EXIT=\d+/);
      expect(after).toMatch(/the capture lost [\d,]+ packets/);
      expect(after).toMatch(/EXIT=0/);
    } finally {
      tmux.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
