/** The command line end to end: outputs, errors, and stopping on every path. */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { PcapWriter } from './fixtures/pcapWriter';
import { generateTraffic } from '../src/capture/sources/demo/traffic';
import type { HttpEvent } from '../src/types';
import type { Report } from '../src/sinks/report';
import { Conversation, interleave, request, response, tempDir, writePcap, writePcapng } from './helpers/conversation';
import { runProcess, runWiretop, startProcess, startWiretop, WIRETOP } from './helpers/runCli';
import { freePort } from './helpers/ports';
import { tmuxAvailable, TmuxSession } from './helpers/tmux';

const dir = tempDir();

function fixture(): string {
  const a = new Conversation({ addr: '10.0.0.1', port: 40000 }).handshake();
  a.send('client', request('GET', '/pages/create') + request('POST', '/api/v1', 'api.example.com', 'Content-Length: 4\r\n') + 'data');
  a.send('server', response(200, 'page') + response(500, 'oops'));
  a.close();
  const b = new Conversation({ addr: '10.0.0.7', port: 40001 }, { addr: '10.0.0.2', port: 8080 }, 1_700_000_000.0015).handshake();
  b.send('client', request('GET', '/pages/list', 'example.com:8080'));
  b.send('server', response(404));
  b.close();
  return writePcap(path.join(dir, 'fixture.pcap'), interleave(a, b));
}

/** A capture of generated traffic: `seconds` at `rps` from `startTs` (its first request). */
function generatedCapture(name: string, startTs: number, seconds: number, rps: number): string {
  const file = path.join(dir, name);
  const writer = new PcapWriter(file);
  for (const { ts, frame } of generateTraffic({ startTs, phases: [{ seconds, rps }], seed: 3, connections: 8, requestsPerConnection: 50 })) {
    writer.write(ts, frame);
  }
  writer.close();
  return file;
}

/** A capture long enough that a paced replay is surely still running when stopped. */
function longCapture(): string {
  return generatedCapture('long.pcap', 1_700_000_000, 600, 20);
}

/** The summary lines of --text output (a date, the alert state, the requests). */
function summaryHeads(text: string): string[] {
  return text.split('\n').filter((line) => /^\d{4}-\d\d-\d\d /.test(line));
}

/** The request count of a summary line. */
function summaryRequests(head: string): number {
  return Number(/ {2}(\d+) req/.exec(head)![1]);
}

/** Resolves once `url` answers 200 (tried every 50 ms, for up to 20 s). */
async function untilServing(url: string): Promise<void> {
  for (let tries = 0; tries < 400; tries++) {
    const ok = await new Promise<boolean>((resolve) => {
      http.get(url, (response) => { response.resume(); resolve(response.statusCode === 200); }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} never answered`);
}

describe('outputs', () => {
  const file = fixture();

  it('--ndjson prints one transaction per line, in request-time order', async () => {
    const result = await runWiretop(['-r', file, '--ndjson']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as HttpEvent);
    expect(events.map((e) => [e.method, e.host, e.uri, e.status])).toEqual([
      ['GET', 'example.com', '/pages/create', 200],
      ['POST', 'api.example.com', '/api/v1', 500],
      ['GET', 'example.com', '/pages/list', 404],
    ]);
    const times = events.map((e) => e.ts);
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    // Each line carries its route and client, never the headers kept for the dashboard.
    expect(events.map((e) => [e.route, e.client === e.src])).toEqual([['/pages/create', true], ['/api/v1', true], ['/pages/list', true]]);
    expect(result.stdout).not.toMatch(/requestHeaders|responseHeaders|uriTruncated/);
  });

  it('--text on a file prints every period, the partial first and last ones with their real span, none before the data', async () => {
    // 33 s of traffic from 3 s past a bucket boundary (22:13:20): 7 s, then whole 10 s periods, then the rest.
    const file = generatedCapture('periods.pcap', 1_700_000_003, 33, 30);
    const [text, json] = await Promise.all([runWiretop(['-r', file, '--text']), runWiretop(['-r', file, '--report', 'json'])]);
    expect(text.code).toBe(0);
    const heads = summaryHeads(text.stdout);
    expect(heads[0]).toMatch(/^2023-11-14 22:13:30 UTC .* \d+ req in 7s, partial \(/);
    expect(heads.slice(1, -1).map((head) => / req \(/.test(head))).toEqual(heads.slice(1, -1).map(() => true));
    expect(heads[heads.length - 1]).toMatch(/ \d+ req in \ds, partial \(/);
    // Every request is in exactly one summary, and no summary is empty.
    const counts = heads.map(summaryRequests);
    expect(counts.every((count) => count > 0)).toBe(true);
    expect(counts.reduce((a, b) => a + b, 0)).toBe((JSON.parse(json.stdout) as Report).requests);
  });

  it('--text on a file shorter than a period prints its one summary, partial', async () => {
    const file = generatedCapture('short.pcap', 1_700_000_000, 3, 5);
    const result = await runWiretop(['-r', file, '--text']);
    expect(result.code).toBe(0);
    const heads = summaryHeads(result.stdout);
    expect(heads).toHaveLength(1);
    expect(heads[0]).toMatch(/^2023-11-14 22:13:2\d UTC {2}LEARNING \(\d+s left\) {2}15 req in \ds, partial \(/);
  });

  it('--node adds a health line a second of data time: what the capture dropped', async () => {
    const result = await runWiretop(['-r', longCapture(), '--ndjson', '--node', 'web-9']);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { kind?: string; node: string; kernelDrops?: number });
    const health = lines.filter((l) => l.kind === 'health');
    expect(health.length).toBeGreaterThan(0);
    expect(health[0]).toMatchObject({ node: 'web-9', kernelDrops: 0 });
    expect(lines.filter((l) => l.kind === undefined).length).toBeGreaterThan(1000);
  });

  it('--node names the server in every --ndjson line', async () => {
    const result = await runWiretop(['-r', file, '--ndjson', '--node', 'web-1']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as HttpEvent & { node: string; kind?: string });
    const transactions = lines.filter((e) => e.kind === undefined);
    expect(transactions.map((e) => e.node)).toEqual(['web-1', 'web-1', 'web-1']);
    expect(transactions[0].uri).toBe('/pages/create');
  });

  it('--report json lists endpoints with latency, clients and the slowest requests; a config routes and trusts proxies', async () => {
    const config = path.join(dir, 'routes.json');
    fs.writeFileSync(config, JSON.stringify({ routes: ['/pages/:page'], trusted_proxies: ['10.0.0.0/8'] }));
    const result = await runWiretop(['-r', file, '--report', 'json', '--config', config]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.endpoints.map((e) => [e.key, e.hits])).toEqual([['GET /pages/:page', 2], ['POST /api/v1', 1]]);
    expect(report.endpoints[0].latencyMs?.p95).not.toBeNull();
    expect(report.clients.reduce((sum, c) => sum + c.hits, 0)).toBe(3);
    expect(report.slowest).toHaveLength(3);
    expect(report.slowest[0].latencyMs).toBeGreaterThanOrEqual(report.slowest[2].latencyMs);
    // A bad route or proxy is one line naming the key, exit 1.
    fs.writeFileSync(config, JSON.stringify({ trusted_proxies: ['10.0.0.0/99'] }));
    const bad = await runWiretop(['-r', file, '--report', '--config', config]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^wiretop: .*routes\.json: "trusted_proxies": .*prefix.*\n$/);
  });

  it('--report json counts by method, status, section and host, with capture health', async () => {
    const result = await runWiretop(['-r', file, '--report', 'json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.requests).toBe(3);
    expect(report.methods).toEqual([{ key: 'GET', hits: 2, bytes: 4, errors: 0 }, { key: 'POST', hits: 1, bytes: 8, errors: 1 }]);
    expect(report.statusClasses).toMatchObject({ '2xx': 1, '4xx': 1, '5xx': 1 });
    expect(report.sections[0]).toMatchObject({ key: '/pages', hits: 2 });
    expect(report.hosts.map((h) => h.key).sort()).toEqual(['api.example.com', 'example.com']);
    expect(report.capture).toMatchObject({ flowsTotal: 2, decodeErrors: 0, gaps: 0, events: 3 });
    expect(report.capture!.packets).toBeGreaterThan(10);
  });

  it('--report prints a readable summary', async () => {
    const result = await runWiretop(['-r', file, '--report']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/requests\s+3 /);
    expect(result.stdout).toMatch(/Top sections:\n\s+\/pages\s+2/);
    expect(result.stdout).toMatch(/Capture:/);
  });

  it('reads pcapng (either byte order) and standard input the same as pcap', async () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/ng'));
    conv.send('server', response(200, 'x'));
    conv.close();
    const little = writePcapng(path.join(dir, 'le.pcapng'), conv.frames);
    const big = writePcapng(path.join(dir, 'be.pcapng'), conv.frames, 1, true);
    for (const f of [little, big]) {
      const result = await runWiretop(['-r', f, '--ndjson']);
      expect(result.code).toBe(0);
      const event = JSON.parse(result.stdout) as HttpEvent;
      expect(event).toMatchObject({ uri: '/ng', status: 200 });
      expect(event.ts).toBeCloseTo(conv.frames[3].ts, 6);
    }
    const piped = await runWiretop(['-r', '-', '--ndjson'], { input: fs.readFileSync(writePcap(path.join(dir, 'stdin.pcap'), conv.frames)) });
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ uri: '/ng' });
  });

  it('-p keeps only the named ports when reading a file', async () => {
    const result = await runWiretop(['-r', file, '-p', '8080', '--ndjson']);
    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as HttpEvent);
    expect(events.map((e) => e.uri)).toEqual(['/pages/list']);
  });
});

describe('start', () => {
  // Which heavy modules a run loaded: a preload script lists them at exit, in every thread.
  async function heavyModulesLoaded(args: string[]): Promise<string[]> {
    // The run drops root: its listing goes where the account it becomes can write.
    const open = tempDir();
    fs.chmodSync(open, 0o777);
    const preload = path.join(open, 'list-modules.js');
    const listing = path.join(open, 'modules.txt');
    fs.writeFileSync(preload, `process.on('exit', () => require('fs').appendFileSync(${JSON.stringify(listing)}, Object.keys(require.cache).join('\\n') + '\\n'));\n`);
    fs.writeFileSync(listing, '');
    fs.chmodSync(listing, 0o666);
    const result = await runProcess(process.execPath, ['-r', preload, WIRETOP, ...args]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const loaded = fs.readFileSync(listing, 'utf8');
    return ['blessed', 'prom-client', 're2js'].filter((name) => loaded.includes(`/node_modules/${name}/`));
  }

  it('a headless run on a file loads neither the dashboard, the exporter nor RE2 (each loads when the run uses it)', async () => {
    const file = fixture();
    expect(await heavyModulesLoaded(['-r', file, '--report', 'json'])).toEqual([]);
    expect(await heavyModulesLoaded(['-r', file, '--report', 'json', '--where', 'path ~ "^/pages"'])).toEqual(['re2js']);
  });
});

/** A copy of the checkout in a new 0700 directory of root's, with or without wiretop's native module (as when it could not be built); returns its bin/wiretop. */
function checkoutCopy(native: boolean): string {
  const copy = path.join(tempDir(), 'wiretop');
  const checkout = path.join(path.dirname(WIRETOP), '..');
  for (const part of ['bin', 'dist', 'config', 'data', 'package.json']) fs.cpSync(path.join(checkout, part), path.join(copy, part), { recursive: true });
  if (native) fs.cpSync(path.join(checkout, 'native/build'), path.join(copy, 'native/build'), { recursive: true });
  fs.symlinkSync(path.join(checkout, 'node_modules'), path.join(copy, 'node_modules'));
  return path.join(copy, 'bin/wiretop');
}

describe('a checkout the account wiretop drops to cannot read', () => {
  // As root wiretop gives up root once the capture is open; what it loads later must have been
  // loaded before (the watchdog thread, the dashboard, RE2), or such a checkout fails then.
  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  asRoot('runs on a file as root every time, live with its threads locked down, and the dashboard opens with a regex filter', async () => {
    const wiretop = checkoutCopy(true);
    const file = fixture();
    const expected = (await runWiretop(['-r', file, '--report', 'json'])).stdout;
    for (let i = 0; i < 4; i++) {
      const result = await runProcess(process.execPath, [wiretop, '-r', file, '--report', 'json']);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(expected);
    }
    // Live: every thread but Node's idle SIGUSR1 one still gets no_new_privs (the native module is read before the drop).
    const live = startProcess(process.execPath, [wiretop, '-i', 'lo', '-p', '9', '--report', 'json']);
    await live.waitFor({ stderr: /listening on lo/ });
    expect(live.output().stderr).toMatch(/dropped privileges to user nobody \(.*no new privileges in \d+ of \d+ threads\)/);
    live.child.kill('SIGINT');
    expect((await live.exited).code).toBe(0);
    if (!tmuxAvailable()) return;
    const session = new TmuxSession(`${process.execPath} ${wiretop} -r ${file}`, 120, 40);
    try {
      await session.waitFor(/Requests\/s/);
      session.keys('/');
      session.keys('path ~ "^/pages/(create|list)$"', 'Enter');
      await session.waitFor(/filter: path ~/);
      expect(session.screen()).not.toMatch(/bad regex|Cannot find module/);
      session.keys('q');
      await session.waitFor(/EXIT=0/);
    } finally {
      session.kill();
    }
  });
});

describe('absurd timestamps', () => {
  it('a frame dated far past any plausible time is skipped and counted, and the run ends at once', async () => {
    const conv = new Conversation().handshake();
    conv.send('client', request('GET', '/ok'));
    conv.send('server', response(200, 'x'));
    conv.close();
    const frames = conv.frames.map((f) => ({ ...f }));
    // Year ~2540 (a corrupt clock): between two frames of a normal exchange, and at the end.
    const absurd = { ts: 1.8e10, frame: frames[2].frame };
    const file = writePcapng(path.join(dir, 'absurd.pcapng'), [...frames.slice(0, 3), absurd, ...frames.slice(3), absurd], 1);
    const result = await runWiretop(['-r', file, '--report', 'json'], { timeoutMs: 20000 });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.requests).toBe(1);
    expect(report.capture?.badTimestamps).toBe(2);
    expect(report.lastTs).toBeLessThan(2e9);
  });
});

describe('help and version', () => {
  it('--version prints the package version and exits 0', async () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    const result = await runWiretop(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${manifest.version}\n`);
    expect(result.stderr).toBe('');
  });

  it('--help lists the flags and ends with examples: live on ports, a file, jq, the demo', async () => {
    const result = await runWiretop(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--buffer-size');
    const examples = result.stdout.slice(result.stdout.indexOf('Examples:'));
    expect(result.stdout.indexOf('Examples:')).toBeGreaterThan(result.stdout.indexOf('--version'));
    for (const command of ['wiretop -i eth0 -p 80,8080', 'wiretop -r capture.pcap --report', '--ndjson | jq', 'wiretop --demo']) {
      expect(examples).toContain(command);
    }
  });
});

describe('errors: one line on stderr, exit status 1, nothing on stdout', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a missing file', ['-r', '/nonexistent/x.pcap', '--ndjson'], /^wiretop: \/nonexistent\/x\.pcap: No such file or directory\n$/],
    ['a file that is not a capture', ['-r', __filename, '--report'], /unknown file format \(not a pcap or pcapng capture\)\n$/],
    ['an unknown flag', ['--frobnicate'], /Unknown argument: frobnicate.*wiretop --help/],
    ['a bad port list', ['-p', '80,http'], /-p\/--port: "80,http" is not a port/],
    ['two outputs', ['--ndjson', '--report', '-r', 'x'], /choose one output/],
    ['a bad --report format', ['--report', 'xml', '-r', 'x'], /--report takes "json"/],
    ['a setting flag out of range', ['--window', '0', '-r', 'x'], /^wiretop: --window: "average_bucket_size" is 0, out of range 1\.\.86400\n$/],
    ['a setting flag that is not a number', ['--threshold', 'lots', '-r', 'x'], /--threshold: "average_threshold" must be a number/],
    ['text and ndjson together', ['--text', '--ndjson', '-r', 'x'], /choose one output/],
  ];
  it.each(cases)('%s', async (_name, args, message) => {
    const result = await runWiretop(args);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a config file with an unknown key names the key', async () => {
    const config = path.join(dir, 'bad.json');
    fs.writeFileSync(config, JSON.stringify({ average_treshold: 5 }));
    const result = await runWiretop(['--config', config, '-r', fixture(), '--report']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/unknown key "average_treshold"/);
  });

  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  // Run as `nobody` to see the no-permission path (where the clone is readable by nobody).
  const nobodyCanRun = process.getuid?.() === 0
    && spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', WIRETOP]).status === 0;
  (nobodyCanRun ? it : it.skip)('no permission says how to get it', async () => {
    const result = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, WIRETOP, '-i', 'lo', '--ndjson'], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^wiretop: cannot capture on lo: permission denied \(run as root, or grant the capability: sudo setcap cap_net_raw,cap_net_admin\+eip .*\), or read a file with -r\n$/);
  });

  asRoot('no such interface lists the interfaces', async () => {
    const result = await runWiretop(['-i', 'nosuch0', '--ndjson']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^wiretop: no such interface: nosuch0 \(interfaces: .*\blo\b.*\)\n$/);
  });

  asRoot('a bad BPF filter', async () => {
    const result = await runWiretop(['-i', 'lo', '-f', 'port banana', '--ndjson']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^wiretop: bad capture filter "port banana"/);
  });
});

describe('a BPF filter on a file', () => {
  const file = fixture();

  it('keeps what it matches, through libpcap, with the same transactions as wiretop\'s own reader', async () => {
    const all = await runWiretop(['-r', file, '--ndjson']);
    const port80 = await runWiretop(['-r', file, '-f', 'tcp port 80', '--ndjson']);
    const port8080 = await runWiretop(['-r', file, '-f', 'tcp port 8080', '--ndjson']);
    const none = await runWiretop(['-r', file, '-f', 'tcp port 9999', '--ndjson']);
    const uris = (text: string) => text.trim().split('\n').filter(Boolean).map((line) => (JSON.parse(line) as HttpEvent).uri);
    expect(uris(all.stdout)).toEqual(['/pages/create', '/api/v1', '/pages/list']);
    expect(uris(port80.stdout)).toEqual(['/pages/create', '/api/v1']);
    expect(uris(port8080.stdout)).toEqual(['/pages/list']);
    expect(none.stdout).toBe('');
    expect([port80.code, port8080.code, none.code]).toEqual([0, 0, 0]);
    expect(port80.stdout.split('\n')[0]).toBe(all.stdout.split('\n')[0]);
  });

  it('says which filter is bad', async () => {
    const result = await runWiretop(['-r', file, '-f', 'port banana', '--ndjson']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^wiretop: bad capture filter "port banana"/);
  });
});

describe('stopping', () => {
  const file = longCapture();

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('%s mid-file stops the replay, prints the report, exits 0', async (signal) => {
    const wiretop = startWiretop(['-r', file, '--speed', '1', '--report', 'json']);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    wiretop.child.kill(signal);
    const result = await wiretop.exited;
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    // About 1.5 s of a 600 s capture at 20 req/s: some requests, far from all.
    expect(report.requests).toBeGreaterThan(0);
    expect(report.requests).toBeLessThan(1000);
  });

  it('--metrics alone (an exporter) ends on SIGTERM with a line: it stopped, and what it had captured', async () => {
    const port = await freePort();
    const wiretop = startWiretop(['-r', file, '--speed', '1', '--metrics', String(port)]);
    // Stopped once it serves (no sleep: the exporter answering is the sign it runs).
    await untilServing(`http://127.0.0.1:${port}/metrics`);
    wiretop.child.kill('SIGTERM');
    const result = await wiretop.exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^wiretop: stopped serving metrics on http://127\\.0\\.0\\.1:${port}/metrics; \\d+ transactions in \\d+ packets from ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n$`));
  });

  it('a file read through libpcap (-f) is paced and stopped like any other', async () => {
    const wiretop = startWiretop(['-r', file, '-f', 'tcp port 80', '--speed', '1', '--report', 'json']);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    wiretop.child.kill('SIGINT');
    const result = await wiretop.exited;
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.requests).toBeGreaterThan(0);
    expect(report.requests).toBeLessThan(1000);
  });

  it('Ctrl-C stops a capture waiting on a stalled pipe (a writer that never writes), with its report', async () => {
    const fifo = path.join(dir, 'stalled.fifo');
    spawnSync('mkfifo', [fifo]);
    // A writer that never writes: wiretop waits for the header.
    const writer = fs.openSync(fifo, fs.constants.O_RDWR);
    try {
      // Hung if it has not ended 8 s after the Ctrl-C: killed, and its status is not 0.
      const wiretop = startWiretop(['-r', fifo, '--report', 'json'], { timeoutMs: 1000 + 8000 });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      wiretop.child.kill('SIGINT');
      const result = await wiretop.exited;
      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as Report).requests).toBe(0);
    } finally {
      fs.closeSync(writer);
    }
  });

  it.each([['--ndjson'], ['--report']])('a full disk on stdout (%s) is one line on stderr and exit 1', async (output) => {
    const full = fs.openSync('/dev/full', 'w');
    try {
      const result = await runWiretop(['-r', file, output], { stdout: full });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('wiretop: cannot write the output: no space left on device (ENOSPC)\n');
    } finally {
      fs.closeSync(full);
    }
  });

  it('under a heap limit too small for memory_budget_mb, lowers the budget, says so in one line, and reports', async () => {
    const result = await runWiretop(['-r', fixture(), '--report', 'json'], { env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=100' } });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^wiretop: memory_budget_mb lowered from 160 to \d+ to fit the heap limit of \d+ MB\n$/);
    expect((JSON.parse(result.stdout) as Report).requests).toBeGreaterThan(0);
  });

  describe.each([
    ['the native thread', () => WIRETOP],
    ['the worker, where the native module was not built', () => checkoutCopy(false)],
  ])('a plug-in stuck in an endless loop: the watchdog (%s)', (_, wiretop) => {
    const stalled = 'wiretop: the main thread has not answered for 2 s (a plug-in in an endless loop?): stopping';
    /** A plug-in that loops for good when it takes transactions in, or 1.5 s after it is made (the dashboard is up by then). */
    function loopingPlugin(when: 'ingest' | 'later' = 'ingest'): string {
      const plugin = path.join(dir, `loop-${when}.js`);
      const later = when === 'later' ? 'setTimeout(() => { for (;;) {} }, 1500);' : '';
      fs.writeFileSync(plugin, `module.exports = () => { ${later} return { name: 'loop', ingest() { ${when === 'ingest' ? 'for (;;) {}' : ''} }, tick() {}, rows() { return { title: 'L', columns: [], rows: [] }; }, report() { return {}; } }; };`);
      return plugin;
    }

    it('ends the process with one line', async () => {
      const result = await runProcess(process.execPath, [wiretop(), '-r', fixture(), '--report', '--plugin', loopingPlugin()], { env: { ...process.env, WIRETOP_WATCHDOG_SECONDS: '2' }, timeoutMs: 20000 });
      expect(result.signal).toBe('SIGKILL');
      expect(result.stderr).toBe(`${stalled}\n`);
    });

    (tmuxAvailable() ? it : it.skip)('gives the terminal back from the dashboard: main screen, its settings as before', async () => {
      const settings = path.join(dir, `stty-${Math.random().toString(36).slice(2)}`);
      const session = new TmuxSession(`stty -g > ${settings}.before; WIRETOP_WATCHDOG_SECONDS=2 ${process.execPath} ${wiretop()} -r ${fixture()} --plugin ${loopingPlugin('later')}; stty -g > ${settings}.after`, 120, 40);
      try {
        const screen = await session.waitFor(/EXIT=\d+/, 30000);
        expect(screen).toContain(stalled);
        expect(screen).toContain('EXIT=0'); // the shell's last command, stty
        expect(session.display('#{alternate_on}')).toBe('0');
        expect(fs.readFileSync(`${settings}.after`, 'utf8')).toBe(fs.readFileSync(`${settings}.before`, 'utf8'));
      } finally {
        session.kill();
      }
    });

    (tmuxAvailable() ? it : it.skip)('puts the terminal\'s own settings back itself, before the process ends', async () => {
      // No `sh` on the PATH, so no keeper process (sinks/terminalGuard) restores them after the
      // process is gone: the settings the shell reads next are the watchdog's alone.
      const settings = path.join(dir, `stty-${Math.random().toString(36).slice(2)}`);
      // Where the account a root run drops to can reach it (the test's folder is root's alone).
      const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretop-path-'));
      fs.chmodSync(bin, 0o755);
      fs.symlinkSync(execFileSync('sh', ['-c', 'command -v stty'], { encoding: 'utf8' }).trim(), path.join(bin, 'stty'));
      const session = new TmuxSession(`stty -g > ${settings}.before; PATH=${bin} WIRETOP_WATCHDOG_SECONDS=2 ${process.execPath} ${wiretop()} -r ${fixture()} --plugin ${loopingPlugin('later')}; stty -g > ${settings}.after`, 120, 40);
      try {
        const screen = await session.waitFor(/EXIT=\d+/, 30000);
        expect(screen).toContain(stalled);
        expect(screen).not.toContain('the terminal is given back');
        expect(fs.readFileSync(`${settings}.after`, 'utf8')).toBe(fs.readFileSync(`${settings}.before`, 'utf8'));
      } finally {
        session.kill();
        fs.rmSync(bin, { recursive: true, force: true });
      }
    });
  });

  it('a closed stdout pipe ends the run quietly', async () => {
    const result = await runProcess('bash', ['-c', `set -o pipefail; "${process.execPath}" "${WIRETOP}" -r "${file}" --ndjson | head -n 2 >/dev/null; echo "status=\${PIPESTATUS[0]}" >&2`]);
    expect(result.stderr).toMatch(/status=0/);
    expect(result.stderr).not.toMatch(/EPIPE|Error/);
  });
});

describe('alerts that reach people', () => {
  it('--log gets every alert and recovery, and goes on in a new file after a rename and SIGHUP; --on-alert gets the events', async () => {
    // Started as root, wiretop runs as nobody by then: the directory must let nobody create the new file.
    const logs = fs.mkdtempSync('/tmp/wiretop-log-');
    fs.chmodSync(logs, 0o1777);
    const log = path.join(logs, 'alerts.log');
    const events = path.join(logs, 'events.jsonl');
    // The demo learns for 20 s of data and spikes at 35 s: at --speed 10, an alert within seconds, then its recovery.
    const wiretop = startWiretop(['--demo', '--text', '--speed', '10', '--log', log, '--on-alert', `cat >> ${events}`]);
    await wiretop.waitFor({ stdout: /High traffic generated an alert/ }, 30000);
    fs.renameSync(log, `${log}.1`);
    wiretop.child.kill('SIGHUP');
    await wiretop.waitFor({ stdout: /Traffic recovered/ }, 30000);
    // What comes after the reopen goes to the new file: the recovery (or, when a loaded machine
    // let it land before the SIGHUP was handled, the next cycle's, 9 s of wall time later).
    const newLogHas = (pattern: RegExp) => fs.existsSync(log) && pattern.test(fs.readFileSync(log, 'utf8'));
    for (let i = 0; i < 300 && !newLogHas(/Traffic recovered/); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    // SIGHUP reopened the log: the run goes on; SIGINT ends it.
    wiretop.child.kill('SIGINT');
    expect((await wiretop.exited).code).toBe(0);
    expect(fs.readFileSync(`${log}.1`, 'utf8')).toMatch(/^\S+Z High traffic generated an alert - hits = \d+/);
    expect(fs.readFileSync(log, 'utf8')).toMatch(/^\S+Z Traffic recovered - hits = \d+/m);
    const sent = fs.readFileSync(events, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { state: string; rule: string });
    expect(sent.map((e) => e.state).slice(0, 2)).toEqual(['alert', 'recovered']);
  }, 60000);

  it('--text says each notification that failed, as it says the alerts', async () => {
    const result = await runWiretop(['--demo', '--speed', '0', '--text', '--on-alert', 'exit 3'], { timeoutMs: 60000 });
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const notices = lines.filter((line) => /generated an alert|Traffic recovered/.test(line));
    const failures = lines.filter((line) => line.includes('notification failed'));
    expect(notices.length).toBeGreaterThan(0);
    expect(failures.length).toBe(notices.length);
    expect(failures[0]).toMatch(/^\S+Z notification failed \(High traffic\): --on-alert command exited 3$/);
  }, 60000);

  it('a --log path that cannot be written is one line and exit 1 before anything starts', async () => {
    const result = await runWiretop(['--demo', '--text', '--log', '/nonexistent/dir/alerts.log']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('wiretop: --log /nonexistent/dir/alerts.log: cannot be written (ENOENT); name a file in a writable directory\n');
    expect(result.stdout).toBe('');
  });
});

describe('many servers', () => {
  it('-r of several --ndjson streams merges them: one node each, a malformed line counted and skipped, a skewed clock and an early end said', async () => {
    const line = (ts: number, fields: Record<string, unknown> = {}) => JSON.stringify({
      ts, src: '10.0.0.1', sport: 1, dst: '10.0.0.2', dport: 80, method: 'GET', host: 'shop.example', uri: '/a/1', section: '/a',
      status: 200, reqBytes: 0, respBytes: 10, ua: 'ua', latencyMs: 5, version: '1.1', route: '/a/{id}', client: '10.0.0.1', ...fields,
    });
    const T = 1_700_000_000;
    const web1 = path.join(dir, 'web1.ndjson');
    const web2 = path.join(dir, 'web2.ndjson');
    const skewed = path.join(dir, 'web3.ndjson');
    const health = JSON.stringify({ kind: 'health', node: 'web1', ts: T + 5, packets: 1000, kernelDrops: 7, ifDrops: 0, eventsDropped: 3 });
    fs.writeFileSync(web1, [...Array.from({ length: 300 }, (_, i) => line(T + i / 10, { node: 'web1' })), health].join('\n') + '\n');
    // web2 ends early (10 s of 30), with a malformed line in the middle.
    fs.writeFileSync(web2, [...Array.from({ length: 50 }, (_, i) => line(T + i / 5, { node: 'web2', status: i % 5 === 0 ? 503 : 200 })), '{"ts": "nope"', line(T + 10.5, { node: 'web2' })].join('\n') + '\n');
    // web3's clock is an hour ahead.
    fs.writeFileSync(skewed, Array.from({ length: 20 }, (_, i) => line(T + 3600 + i, { node: 'web3' })).join('\n') + '\n');
    const result = await runWiretop(['-r', web1, '-r', web2, '-r', skewed, '--report', 'json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.requests).toBe(300 + 51 + 20);
    expect(report.nodes?.map((n) => [n.key, n.hits, n.errors])).toEqual([['web1', 300, 0], ['web2', 51, 10], ['web3', 20, 0]]);
    expect(report.capture?.parseErrors).toBe(1);
    // web1's health line: what its capture dropped.
    expect(report.nodeDrops).toEqual({ web1: 10 });
    expect(result.stderr).toMatch(/^wiretop: source web3: clock off by more than 120 s; the other sources go on$/m);
    expect(result.stderr).toMatch(/^wiretop: source web2: ended$/m);
    // --format ndjson reads a single stream; a missing source is one line, exit 1.
    const single = await runWiretop(['-r', web1, '--ndjson']);
    expect(single.stdout.trim().split('\n')).toHaveLength(300);
    const missing = await runWiretop(['-r', path.join(dir, 'nope.ndjson'), '--format', 'ndjson', '--report']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^wiretop: .*nope\.ndjson: no such file/);
  });
});
