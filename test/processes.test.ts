/**
 * `--processes` live on loopback with real servers (root: the capture and the scanner's
 * capabilities): nginx (HTTP/2 by prior knowledge, curl), Python's http.server and a Node
 * server on three ports; every transaction names its server's process, and one that exits
 * mid-run keeps its name on the transactions it finished. A container runtime is used where
 * the machine has one (skipped with the reason where it has none).
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { repoRoot } from './helpers/corpus';
import { tempDir } from './helpers/conversation';
import { Nginx, nginxAvailable } from './helpers/nginx';
import { freePort } from './helpers/ports';
import { runProcess, startWiretop } from './helpers/runCli';

const canCapture = process.getuid?.() === 0 && fs.existsSync(path.join(repoRoot(), 'node_modules/pcap/build/Release/pcap_binding.node'));
const hasServers = nginxAvailable() && spawnSync('python3', ['--version']).status === 0 && spawnSync('curl', ['--version']).status === 0;

interface Line { dport: number; uri: string; status: number | null; process?: string; pid?: number; user?: string; container?: string; cmdline?: string }

/** Waits until something answers HTTP on `port` (bounded). */
async function answering(port: number): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    const ok = await new Promise<boolean>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => { res.resume(); resolve(true); }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing answers on ${port}`);
}

function get(port: number, uri: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: uri, agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); }).on('error', reject);
  });
}

function commOf(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

(canCapture && hasServers ? describe : describe.skip)('--processes live on lo (root, nginx, python3, curl)', () => {
  const children: ChildProcess[] = [];
  let nginx: Nginx | null = null;
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await nginx?.stop();
  });

  it('names nginx, Python and Node behind their ports, and keeps the name of a server that exited', async () => {
    nginx = await Nginx.start();
    const site = tempDir();
    fs.writeFileSync(path.join(site, 'hello.txt'), 'hello');
    const pythonPort = await freePort();
    const python = spawn('python3', ['-m', 'http.server', String(pythonPort), '--bind', '127.0.0.1'], { cwd: site, stdio: 'ignore' });
    children.push(python);
    const nodePort = await freePort();
    // Its last answer has no length: it ends when the process has exited and the kernel closes the connection.
    const script = `require('net').createServer((socket) => socket.on('data', (d) => {`
      + `if (!String(d).startsWith('GET /last ')) return socket.write('HTTP/1.1 200 OK\\r\\nContent-Length: 4\\r\\n\\r\\nnode');`
      + `socket.write('HTTP/1.1 200 OK\\r\\nConnection: close\\r\\n\\r\\nbye'); setTimeout(() => process.exit(0), 100); })).listen(${nodePort}, '127.0.0.1');`;
    const node = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    children.push(node);
    await answering(pythonPort);
    await answering(nodePort);

    const ports = [nginx.port, pythonPort, nodePort];
    const wiretop = startWiretop(['-i', 'lo', '-p', ports.join(','), '--ndjson', '--processes', '--processes-interval', '0.5']);
    await wiretop.waitFor({ stderr: /listening on lo/ });
    // The scan runs in a process of its own (never on the capture thread), as the drop account with only the two capabilities it needs.
    const helpers = fs.readFileSync(`/proc/${wiretop.child.pid}/task/${wiretop.child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
      .filter((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('procHelper.js'));
    expect(helpers).toHaveLength(1);
    const status = fs.readFileSync(`/proc/${helpers[0]}/status`, 'utf8');
    expect(/^Uid:\s+65534\s/m.test(status)).toBe(true);
    expect(/^CapEff:\s+(\w+)/m.exec(status)?.[1]).toBe('0000000000080004'); // CAP_SYS_PTRACE (19) and CAP_DAC_READ_SEARCH (2)
    // A scan has seen every server (the first runs at the start; one more to be sure).
    await new Promise((resolve) => setTimeout(resolve, 1200));
    // Once running (it has answered scans by now), SIGUSR1 — which any process of the same user
    // may send — does not open Node's inspector there. (Node opens it on SIGUSR1 from its own
    // start until the helper's first statement: the README says so, and what narrows it.)
    process.kill(Number(helpers[0]), 'SIGUSR1');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const inspector = await new Promise<boolean>((resolve) => {
      const socket = net.connect(9229, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    expect(inspector).toBe(false);
    expect(fs.existsSync(`/proc/${helpers[0]}`)).toBe(true);

    const sent = { nginx: 0, python: 0, node: 0 };
    for (let i = 0; i < 8; i++) {
      const curl = await runProcess('curl', ['-s', '-o', '/dev/null', '--http2-prior-knowledge', `http://127.0.0.1:${nginx.port}/style.css?i=${i}`]);
      expect(curl.code).toBe(0);
      sent.nginx++;
      expect(await get(pythonPort, `/hello.txt?i=${i}`)).toBe(200);
      sent.python++;
      expect(await get(nodePort, `/n/${i}`)).toBe(200);
      sent.node++;
    }
    // The Node server's last transaction finishes only when the server has exited.
    const nodePid = node.pid!;
    const gone = new Promise((resolve) => node.once('exit', resolve));
    expect(await get(nodePort, '/last')).toBe(200);
    sent.node++;
    await gone;
    for (let tries = 0; tries < 100 && wiretop.output().stdout.split('\n').filter(Boolean).length < 25; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    wiretop.child.kill('SIGINT');
    const result = await wiretop.exited;
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Line).filter((l) => !l.uri.startsWith('/?') && l.uri !== '/');
    const by = (port: number) => lines.filter((l) => l.dport === port);
    expect(by(nginx.port)).toHaveLength(sent.nginx);
    expect(by(pythonPort)).toHaveLength(sent.python);
    expect(by(nodePort)).toHaveLength(sent.node);
    const pythonComm = commOf(python.pid!);
    for (const line of by(nginx.port)) expect([line.process, line.user, line.container]).toEqual(['nginx', 'root', '']);
    for (const line of by(pythonPort)) {
      expect([line.process, line.pid]).toEqual([pythonComm, python.pid]);
      expect(line.cmdline).toMatch(new RegExp(`python3 -m http\\.server ${pythonPort} --bind 127\\.0\\.0\\.1$`));
    }
    for (const line of by(nodePort)) expect([line.process, line.pid]).toEqual(['node', nodePid]);
    expect(by(nodePort).map((l) => l.uri)).toContain('/last');
    // nginx runs as one process here (master_process off): its pid is the child's.
    expect(new Set(by(nginx.port).map((l) => l.pid)).size).toBe(1);
  }, 90_000);

  it('names a container by its runtime and id where the machine has a container runtime', async () => {
    const runtime = ['docker', 'podman'].find((name) => spawnSync(name, ['info'], { stdio: 'ignore' }).status === 0);
    if (runtime === undefined) {
      // eslint-disable-next-line no-console
      console.warn('skipped: no container runtime (docker or podman) on this machine; the cgroup paths of each runtime are checked on a fake /proc in procScan.test.ts');
      return;
    }
    const port = await freePort();
    const started = spawnSync(runtime, ['run', '-d', '--rm', '-p', `127.0.0.1:${port}:80`, 'nginx:alpine'], { encoding: 'utf8' });
    if (started.status !== 0) {
      // eslint-disable-next-line no-console
      console.warn(`skipped: ${runtime} could not start nginx:alpine (${started.stderr.trim().split('\n')[0]})`);
      return;
    }
    const id = started.stdout.trim();
    try {
      await answering(port);
      const wiretop = startWiretop(['-i', 'any', '-p', '80', '--ndjson', '--processes', '--processes-interval', '0.5']);
      await wiretop.waitFor({ stderr: /listening on any/ });
      await new Promise((resolve) => setTimeout(resolve, 1200));
      for (let i = 0; i < 3; i++) await get(port, `/c/${i}`);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      wiretop.child.kill('SIGINT');
      const lines = (await wiretop.exited).stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Line).filter((l) => l.uri.startsWith('/c/'));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line.container).toBe(`${runtime}:${id.slice(0, 12)}`);
    } finally {
      spawnSync(runtime, ['rm', '-f', id]);
    }
  }, 120_000);
});
