/**
 * `npm run bench:live`: wiretop live on the loopback interface under full load, the way users
 * run it on a busy server. nginx on 127.0.0.1 serves generated content (static files of several
 * sizes, API documents, 404s, a few Host names, GET and POST) and wrk drives it at full rate,
 * while `./bin/wiretop -i lo` runs in one of three modes (--ndjson, --report json, the dashboard
 * in tmux) and httpry listens beside it in the same run as the yardstick.
 *
 * For each run it prints: completeness against nginx's access log, kernel drops, CPU per
 * request (from /proc, every thread), peak RSS, wrk's achieved rate, and httpry's figures. The
 * CPU per request is over the whole run (from a second before wrk starts to 3 s after it ends,
 * so the JIT's first compilations and the idle dashboard are in it); `steady` is the ratio of
 * the two tools' CPU per request in the middle of the load alone (from its 4th second to 2 s
 * before its end, requests counted by nginx's status page).
 * Installs nginx, wrk, httpry and tmux with apt-get when they are missing (as root).
 *
 * Settings (environment): LIVE_MODES (ndjson,report,tui), LIVE_RUNS (3), LIVE_SECONDS (8, the
 * wrk run of the headless modes), LIVE_TUI_SECONDS (15), LIVE_SOAK (seconds of one long
 * dashboard run sampling RSS every 10 s; 0 = none), LIVE_WORKERS (0,1,2,4: the --workers of each
 * run, a column of the table; 0 is wiretop's default, which on 1 or 2 cores captures on the main thread), LIVE_ARGS (extra wiretop flags),
 * WRK_THREADS (2), WRK_CONNECTIONS (64), LIVE_HTTPRY=0 (leave httpry out), LIVE_WIRETOP (the command,
 * e.g. "node --cpu-prof --cpu-prof-dir=prof bin/wiretop" to profile both threads), LIVE_VERBOSE=1,
 * LIVE_KEEP=1 (keep the run's folder: outputs, logs), LIVE_TLS=1 (HTTPS: nginx with a self-signed
 * certificate, every request a TLS connection of its own (`Connection: close`), wiretop's TLS
 * connection records counted against the connections nginx accepted; modes ndjson and report,
 * no httpry), LIVE_TLS=keylog (HTTPS decrypted: bench/tlsClient's keep-alive requests from
 * WRK_CONNECTIONS sockets write a key log that wiretop follows with --keylog; its decrypted
 * transactions counted against nginx's access log).
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { CaptureStats } from '../src/types';

const ROOT = path.resolve(__dirname, __filename.endsWith('.ts') ? '..' : '../..');
/** The command that runs wiretop: LIVE_WIRETOP replaces it, e.g. to profile ("node --cpu-prof bin/wiretop"). */
const WIRETOP = (process.env.LIVE_WIRETOP ?? path.join(ROOT, 'bin/wiretop')).split(' ').filter(Boolean);
const PORT = 18_080;
const TMUX_SOCKET = 'wiretop-bench-live';
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

const env = process.env;
const MODES = (env.LIVE_MODES ?? (env.LIVE_TLS !== undefined ? 'ndjson,report' : 'ndjson,report,tui')).split(',').map((m) => m.trim()).filter(Boolean) as Mode[];
const RUNS = Number(env.LIVE_RUNS ?? 3);
const SECONDS = Number(env.LIVE_SECONDS ?? 8);
const TUI_SECONDS = Number(env.LIVE_TUI_SECONDS ?? 15);
const SOAK_SECONDS = Number(env.LIVE_SOAK ?? 0);
const EXTRA_ARGS = (env.LIVE_ARGS ?? '').split(' ').filter(Boolean);
/** The capture workers of each run (`--workers`; 0: wiretop's default). */
const WORKER_COUNTS = (env.LIVE_WORKERS ?? '0,1,2,4').split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 0);
const WRK_THREADS = Number(env.WRK_THREADS ?? 2);
const WRK_CONNECTIONS = Number(env.WRK_CONNECTIONS ?? 64);
const TLS = env.LIVE_TLS === '1' || env.LIVE_TLS === 'keylog';
/** Decrypting: wiretop gets the load generator's key log, and counts requests (not connections). */
const DECRYPT = env.LIVE_TLS === 'keylog';
const WITH_HTTPRY = env.LIVE_HTTPRY !== '0' && !TLS;

/** `none` runs the load (and httpry) without wiretop: the machine's rate with no sniffer of ours. */
type Mode = 'ndjson' | 'report' | 'tui' | 'none';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/** nginx, wrk (needed), httpry and tmux (wanted): installed from Debian when missing. */
function ensureTools(): void {
  const packages: Record<string, string> = { nginx: 'nginx', wrk: 'wrk', httpry: 'httpry', tmux: 'tmux' };
  const missing = Object.keys(packages).filter((c) => !has(c));
  if (missing.length > 0 && process.getuid?.() === 0) {
    process.stdout.write(`installing ${missing.join(', ')} (apt-get) ...\n`);
    spawnSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing.map((c) => packages[c]).join(' ')}`],
      { stdio: 'ignore' });
  }
  for (const needed of ['nginx', 'wrk']) {
    if (!has(needed)) throw new Error(`${needed} is missing: apt-get install ${packages[needed]} (as root), then run again`);
  }
  if (process.getuid?.() !== 0) throw new Error('live capture needs root (or the capabilities in the README): run as root');
}

/** The site nginx serves: files of several sizes in several sections. */
function writeSite(dir: string): string[] {
  const www = path.join(dir, 'www');
  const files: Array<[string, number]> = [['/index.html', 3000], ['/about.html', 1200]];
  for (let i = 1; i <= 40; i++) files.push([`/api/v1/items/${i}.json`, 150 + i * 7]);
  for (let i = 1; i <= 10; i++) files.push([`/docs/page-${i}.html`, 5000 + i * 400]);
  for (const [name, size] of [['app.js', 24_000], ['style.css', 8000], ['vendor.js', 90_000]] as const) files.push([`/static/${name}`, size]);
  for (let i = 1; i <= 5; i++) files.push([`/img/photo-${i}.jpg`, 12_000 * i]);
  files.push(['/downloads/big.bin', 400_000]);
  for (const [name, size] of files) {
    const file = path.join(www, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.alloc(size, 0x61));
  }
  fs.chmodSync(dir, 0o755);
  spawnSync('chmod', ['-R', 'a+rX', www]);
  return files.map(([name]) => name);
}

function nginxConfig(dir: string): string {
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log ${dir}/access.log combined buffer=256k flush=1s;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${PORT}${TLS ? ` ssl; ssl_certificate ${dir}/cert.pem; ssl_certificate_key ${dir}/key.pem; ssl_session_tickets off` : ''}; server_name _; root ${dir}/www; log_not_found off; }
  # The status page's own requests are not the load's: not in the log counted against wiretop.
  server { listen 127.0.0.1:${PORT + 1}; access_log off; location = /status { stub_status; } }
}
`);
  return file;
}

/** A wrk script cycling through a fixed, deterministic mix of requests. */
function wrkScript(dir: string, paths: string[]): string {
  const hosts = ['shop.example.com', 'api.example.com', 'static.example.com', 'www.example.com'];
  const agents = ['Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', 'curl/8.5.0', 'python-requests/2.32.3', 'Go-http-client/1.1'];
  const lines: string[] = [];
  let seed = 12345;
  const random = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
  for (let i = 0; i < 1000; i++) {
    const r = random();
    // No HEAD: wrk's parser would wait for a body that never comes.
    const method = r < 0.95 ? 'GET' : 'POST';
    // A bias towards small documents, as on a real site; 1 in 10 is a 404.
    let target = random() < 0.1 ? `/missing/${Math.floor(random() * 500)}` : paths[Math.floor(random() ** 2 * paths.length)];
    if (target === '/downloads/big.bin' && random() < 0.8) target = '/index.html';
    const host = hosts[Math.floor(random() * hosts.length)];
    const agent = agents[Math.floor(random() * agents.length)];
    const body = method === 'POST' ? `, "${'x'.repeat(64)}"` : '';
    const close = TLS && !DECRYPT ? ', ["Connection"] = "close"' : '';
    lines.push(`  requests[${i + 1}] = wrk.format("${method}", "${target}", { ["Host"] = "${host}", ["User-Agent"] = "${agent}"${close} }${body})`);
  }
  const file = path.join(dir, 'mix.lua');
  fs.writeFileSync(file, `local requests = {}
local n = 0
init = function(args)
${lines.join('\n')}
  n = #requests
end
local i = 0
request = function()
  i = i % n + 1
  return requests[i]
end
`);
  return file;
}

/**
 * CPU seconds (all threads, and its running child processes': --processes' scanner) and
 * resident memory of a process, from /proc.
 */
interface ProcessSample { cpuSeconds: number; rssMb: number; peakRssMb: number }

/** utime + stime of a process, in seconds (0 when it is gone). */
function cpuOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state is [0], utime [11], stime [12].
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

function sampleProcess(pid: number): ProcessSample | null {
  try {
    fs.accessSync(`/proc/${pid}/stat`);
    let children: number[] = [];
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      // No children file (an old kernel): the process alone.
    }
    const cpuSeconds = cpuOf(pid) + children.reduce((sum, child) => sum + cpuOf(child), 0);
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { cpuSeconds, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) { resolve(child.exitCode); return; }
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
}

async function waitFor(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function tmux(...args: string[]): string {
  const result = spawnSync('tmux', ['-L', TMUX_SOCKET, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** Packets and transactions wiretop says it lost. */
interface Lost { packets: number; transactions: number }

/** The losses a summary line names ("the capture lost 1,234 packets (0.3%) and 5 transactions (0.1%)"). */
function lostFrom(text: string): Lost {
  const number = (pattern: RegExp) => Number((pattern.exec(text)?.[1] ?? '0').replace(/,/g, ''));
  return { packets: number(/lost ([\d,]+) packets/), transactions: number(/([\d,]+) transactions \(/) };
}

/** One wiretop run under way, whatever its mode. */
interface WiretopRun {
  pid: number;
  /** Stops it the way a user would; resolves to what it reported. */
  stop(): Promise<{ transactions: number; lost: Lost | null; exitCode: number | null; detail: string }>;
}

/** wiretop's flags beyond the mode: LIVE_ARGS, and the run's --workers. */
function extraArgs(workers: number): string[] {
  return [...EXTRA_ARGS, '--workers', String(workers)];
}

async function startHeadless(mode: 'ndjson' | 'report', dir: string, workers: number): Promise<WiretopRun> {
  const outFile = path.join(dir, `wiretop-${mode}.out`);
  const out = fs.openSync(outFile, 'w');
  let stderr = '';
  const args = ['-i', 'lo', '-p', String(PORT), ...(mode === 'ndjson' ? ['--ndjson'] : ['--report', 'json']), ...(DECRYPT ? ['--keylog', path.join(dir, 'sslkeys.log')] : []), ...extraArgs(workers)];
  const child = spawn(WIRETOP[0], [...WIRETOP.slice(1), ...args], { stdio: ['ignore', out, 'pipe'], cwd: ROOT });
  fs.closeSync(out);
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  await waitFor(() => /listening on/.test(stderr) || child.exitCode !== null, 15_000, 'wiretop to listen');
  if (child.exitCode !== null) throw new Error(`wiretop exited: ${stderr}`);
  return {
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGINT');
      const exitCode = await waitForExit(child, 30_000);
      fs.writeFileSync(path.join(dir, `wiretop-${mode}.err`), stderr);
      if (mode === 'ndjson') {
        const summary = /wiretop: \d+ transactions.*/.exec(stderr)?.[0] ?? '';
        return { transactions: countLines(outFile, DECRYPT ? '"https":true' : TLS ? '"kind":"tls"' : '"method"'), lost: summary === '' ? null : lostFrom(summary), exitCode, detail: lastLine(stderr) };
      }
      const report = JSON.parse(fs.readFileSync(outFile, 'utf8')) as { requests: number; tls: { connections: number }; capture: CaptureStats | null; loss: { packetsLost: number; transactionsLost: number } };
      return { transactions: TLS && !DECRYPT ? report.tls.connections : report.requests, lost: { packets: report.loss.packetsLost, transactions: report.loss.transactionsLost }, exitCode, detail: JSON.stringify(report.capture) };
    },
  };
}

function withoutWiretop(): WiretopRun {
  return { pid: process.pid, stop: async () => ({ transactions: 0, lost: null, exitCode: 0, detail: '' }) };
}

async function startDashboard(dir: string, workers: number): Promise<WiretopRun> {
  const session = 'bench';
  spawnSync('tmux', ['-L', TMUX_SOCKET, 'kill-server'], { stdio: 'ignore' });
  const shellPid = path.join(dir, 'shell.pid');
  const command = `echo $$ > ${shellPid}; cd ${ROOT}; ${[...WIRETOP, '-i', 'lo', '-p', String(PORT), ...extraArgs(workers)].join(' ')} 2>${dir}/tui.err; echo "EXIT=$?"; sleep 600`;
  tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', `export TERM=xterm-256color; ${command}`);
  await waitFor(() => /Requests\/s/.test(tmux('capture-pane', '-p', '-t', session)), 20_000, 'the dashboard');
  const shell = fs.readFileSync(shellPid, 'utf8').trim();
  const pid = Number(spawnSync('pgrep', ['-P', shell], { encoding: 'utf8' }).stdout.trim().split('\n')[0]);
  return {
    pid,
    stop: async () => {
      const lastScreen = tmux('capture-pane', '-p', '-t', session);
      if (env.LIVE_VERBOSE === '1') process.stdout.write(lastScreen);
      tmux('send-keys', '-t', session, 'q');
      let screen = '';
      await waitFor(() => /EXIT=\d+/.test(screen = tmux('capture-pane', '-p', '-J', '-t', session)), 30_000, 'the dashboard to quit');
      tmux('kill-server');
      if (env.LIVE_VERBOSE === '1') process.stdout.write(fs.readFileSync(path.join(dir, 'tui.err'), 'utf8'));
      const summary = /wiretop: (\d+) requests[^\n]*/.exec(screen);
      return {
        transactions: summary ? Number(summary[1]) : 0,
        lost: summary ? lostFrom(summary[0]) : null,
        exitCode: Number(/EXIT=(\d+)/.exec(screen)![1]),
        detail: summary ? summary[0] : screen.trim().split('\n').slice(-3).join(' | '),
      };
    },
  };
}

/** Lines of `file` that contain `needle` (streamed by grep: a long run's logs are gigabytes). */
function countLines(file: string, needle: string): number {
  if (!fs.existsSync(file)) return 0;
  const result = spawnSync('grep', ['-c', '-F', needle, file], { encoding: 'utf8' });
  return Number(result.stdout.trim()) || 0;
}

/** Requests nginx has handled so far, from its status page (the third number of its third line). */
async function handledRequests(): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${PORT + 1}/status`);
  const text = await response.text();
  return Number(/\n\s*\d+\s+\d+\s+(\d+)/.exec(text)?.[1] ?? NaN);
}

/** Both tools' CPU and nginx's request count at one moment of the load. */
interface LoadSample { wiretop: ProcessSample | null; httpry: ProcessSample | null; requests: number }

async function sampleLoad(wiretopPid: number, httpryPid: number | undefined): Promise<LoadSample> {
  const requests = await handledRequests();
  return { wiretop: sampleProcess(wiretopPid), httpry: httpryPid === undefined ? null : sampleProcess(httpryPid), requests };
}

/** wiretop's CPU per request over httpry's between two samples; null when either is missing. */
function steadyRatioOf(from: LoadSample | null, to: LoadSample | null): number | null {
  if (!from?.wiretop || !from.httpry || !to?.wiretop || !to.httpry || !(to.requests > from.requests)) return null;
  const httpry = to.httpry.cpuSeconds - from.httpry.cpuSeconds;
  return httpry > 0 ? (to.wiretop.cpuSeconds - from.wiretop.cpuSeconds) / httpry : null;
}

/** Connections nginx has accepted so far, from its status page (this request's own included). */
async function acceptedConnections(): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${PORT + 1}/status`);
  const text = await response.text();
  return Number(/\n\s*(\d+)\s+\d+\s+\d+/.exec(text)?.[1] ?? NaN);
}

function lastLine(text: string): string {
  return text.trim().split('\n').slice(-1)[0] ?? '';
}

interface RunResult {
  mode: Mode;
  workers: number;
  logged: number;
  seen: number;
  lost: Lost | null;
  cpuPerRequestUs: number;
  peakRssMb: number;
  wrkRate: number;
  httpry: { seen: number; cpuPerRequestUs: number; peakRssMb: number } | null;
  /** wiretop's CPU per request over httpry's in the middle of the load; null without httpry or for a short load. */
  steadyRatio: number | null;
  exitCode: number | null;
  rssSeries: number[];
  detail: string;
}

/** Runs wrk to its end; resolves to what it printed. */
function runWrk(args: string[], seconds: number): Promise<{ stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('exit', () => { clearTimeout(timer); resolve({ stdout }); });
  });
}

/** bench/tlsClient as the load (LIVE_TLS=keylog); its output in wrk's form, for the rate column. */
function runTlsClient(dir: string, seconds: number, paths: string[]): Promise<{ stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'tlsClient.js'), String(PORT), String(seconds), String(WRK_CONNECTIONS), path.join(dir, 'sslkeys.log'), paths.join(',')], { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.on('exit', () => resolve({ stdout: `Requests/sec: ${Number(stdout.trim()) / seconds}` }));
  });
}

async function runOnce(mode: Mode, dir: string, paths: string[], seconds: number, workers: number, sampleEveryMs = 0): Promise<RunResult> {
  const accessLog = path.join(dir, 'access.log');
  fs.rmSync(accessLog, { force: true });
  const nginx = spawn('nginx', ['-p', dir, '-c', nginxConfig(dir)], { stdio: 'ignore' });
  await waitFor(() => fs.existsSync(path.join(dir, 'nginx.pid')), 10_000, 'nginx');
  await sleep(300);
  const wiretop = mode === 'tui' ? await startDashboard(dir, workers) : mode === 'none' ? withoutWiretop() : await startHeadless(mode, dir, workers);
  let httpry: ChildProcess | null = null;
  const httpryOut = path.join(dir, 'httpry.log');
  if (WITH_HTTPRY && has('httpry')) {
    fs.rmSync(httpryOut, { force: true });
    httpry = spawn('httpry', ['-i', 'lo', '-q', '-o', httpryOut, `tcp port ${PORT}`], { stdio: 'ignore' });
  }
  await sleep(1000);
  const acceptedBefore = TLS && !DECRYPT ? await acceptedConnections() : 0;
  const before = sampleProcess(wiretop.pid);
  const httpryBefore = httpry ? sampleProcess(httpry.pid!) : null;
  const rssSeries: number[] = [];
  const sampler = sampleEveryMs > 0
    ? setInterval(() => { const s = sampleProcess(wiretop.pid); if (s) rssSeries.push(Math.round(s.rssMb)); }, sampleEveryMs)
    : null;
  // The middle of the load: past the JIT's first compilations, before the end (see steadyRatioOf).
  let steadyFrom: LoadSample | null = null;
  let steadyTo: LoadSample | null = null;
  const steadyTimers = httpry && seconds >= 8
    ? [
      // A failed sample (nginx's status page unreachable) leaves the column empty: `-`.
      setTimeout(() => { sampleLoad(wiretop.pid, httpry!.pid).then((s) => { steadyFrom = s; }, () => {}); }, 4000),
      setTimeout(() => { sampleLoad(wiretop.pid, httpry!.pid).then((s) => { steadyTo = s; }, () => {}); }, (seconds - 2) * 1000),
    ]
    : [];
  // Not spawnSync: the samplers must run meanwhile.
  const wrk = DECRYPT
    ? await runTlsClient(dir, seconds, paths)
    : await runWrk(['-t' + WRK_THREADS, '-c' + WRK_CONNECTIONS, `-d${seconds}s`, '-s', wrkScript(dir, paths), `${TLS ? 'https' : 'http'}://127.0.0.1:${PORT}/`], seconds);
  if (sampler) clearInterval(sampler);
  for (const timer of steadyTimers) clearTimeout(timer);
  // Let the last transactions through the worker's hold time before stopping.
  await sleep(3000);
  const after = sampleProcess(wiretop.pid);
  const httpryAfter = httpry ? sampleProcess(httpry.pid!) : null;
  if (httpry) { httpry.kill('SIGINT'); await waitForExit(httpry, 10_000); }
  const acceptedAfter = TLS && !DECRYPT ? await acceptedConnections() : 0;
  const result = await wiretop.stop();
  nginx.kill('SIGQUIT');
  await waitForExit(nginx, 10_000);
  // With TLS, what is counted is connections: those nginx accepted during the run (its status
  // page, on another port, counts every one, with or without a request; less the status request).
  const logged = TLS && !DECRYPT ? acceptedAfter - acceptedBefore - 1 : countLines(accessLog, 'HTTP/1.1"');
  const cpu = before && after ? after.cpuSeconds - before.cpuSeconds : NaN;
  let httpryResult: RunResult['httpry'] = null;
  if (httpry && httpryBefore && httpryAfter) {
    // Request lines carry the direction ">" in the fourth field.
    const seen = countLines(httpryOut, '\t>\t');
    httpryResult = { seen, cpuPerRequestUs: ((httpryAfter.cpuSeconds - httpryBefore.cpuSeconds) / Math.max(1, logged)) * 1e6, peakRssMb: httpryAfter.peakRssMb };
  }
  return {
    mode,
    workers,
    logged,
    seen: result.transactions,
    lost: result.lost,
    cpuPerRequestUs: (cpu / Math.max(1, logged)) * 1e6,
    peakRssMb: after?.peakRssMb ?? NaN,
    wrkRate: Number(/Requests\/sec:\s+([\d.]+)/.exec(wrk.stdout ?? '')?.[1] ?? NaN),
    httpry: httpryResult,
    steadyRatio: steadyRatioOf(steadyFrom, steadyTo),
    exitCode: result.exitCode,
    rssSeries,
    detail: result.detail,
  };
}

const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(2)}%` : '-');

function formatRow(r: RunResult, run: number): string {
  const h = r.httpry;
  const cells = [
    r.mode.padEnd(6), String(r.workers).padStart(7), String(run).padStart(3), String(r.logged).padStart(9), String(r.seen).padStart(9), pct(r.seen, r.logged).padStart(8),
    (r.lost === null ? '?' : `${r.lost.packets}/${r.lost.transactions}`).padStart(9), r.cpuPerRequestUs.toFixed(1).padStart(7), r.peakRssMb.toFixed(0).padStart(6),
    Math.round(r.wrkRate).toString().padStart(7),
    h ? pct(h.seen, r.logged).padStart(8) : '       -', h ? h.cpuPerRequestUs.toFixed(1).padStart(7) : '      -',
    h ? (r.cpuPerRequestUs / h.cpuPerRequestUs).toFixed(2).padStart(6) : '     -',
    r.steadyRatio === null ? '     -' : r.steadyRatio.toFixed(2).padStart(6),
    String(r.exitCode).padStart(4),
  ];
  return cells.join(' ');
}

async function main(): Promise<void> {
  ensureTools();
  if (!fs.existsSync(path.join(ROOT, 'dist/src/main.js'))) throw new Error('build first: npm run build');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretop-live-'));
  const paths = writeSite(dir);
  if (DECRYPT) fs.writeFileSync(path.join(dir, 'sslkeys.log'), '', { mode: 0o600 });
  if (TLS) {
    spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-days', '2',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  }
  process.stdout.write(`${TLS ? 'HTTPS, a TLS connection per request, counting connections; ' : ''}nginx 127.0.0.1:${PORT} (1 worker), wrk -t${WRK_THREADS} -c${WRK_CONNECTIONS}, wiretop -i lo -p ${PORT} ${EXTRA_ARGS.join(' ')}`
    + `${WITH_HTTPRY && has('httpry') ? ', httpry beside it' : ''}; ${os.cpus().length} cores\n`);
  process.stdout.write('mode   workers run    logged      seen     seen  lost pk/tx  µs/req  RSSMB   wrk/s   httpry httpry-µs ratio steady exit\n');
  try {
    for (const mode of MODES) {
      for (const workers of WORKER_COUNTS) {
        for (let run = 1; run <= RUNS; run++) {
          const result = await runOnce(mode, dir, paths, mode === 'tui' ? TUI_SECONDS : SECONDS, workers);
          process.stdout.write(formatRow(result, run) + '\n');
          if (env.LIVE_VERBOSE === '1') process.stdout.write(`       ${result.detail}\n`);
        }
      }
    }
    if (SOAK_SECONDS > 0) {
      const result = await runOnce('tui', dir, paths, SOAK_SECONDS, WORKER_COUNTS[0] ?? 0, 10_000);
      process.stdout.write(formatRow(result, 1) + `  (soak, ${SOAK_SECONDS} s)\n`);
      process.stdout.write(`  RSS every 10 s (MB): ${result.rssSeries.join(' ')}\n`);
      const half = Math.floor(result.rssSeries.length / 2);
      const firstHalf = Math.max(...result.rssSeries.slice(0, half));
      const secondHalf = Math.max(...result.rssSeries.slice(half));
      process.stdout.write(`  max RSS first half ${firstHalf} MB, second half ${secondHalf} MB: ${secondHalf <= firstHalf * 1.1 ? 'flat' : 'GROWING'}\n`);
    }
  } finally {
    spawnSync('tmux', ['-L', TMUX_SOCKET, 'kill-server'], { stdio: 'ignore' });
    if (env.LIVE_KEEP === '1') process.stdout.write(`kept ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:live: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
