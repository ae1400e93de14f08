/**
 * The /proc scan (src/platform/procScan.ts) on a fake /proc tree, and once on the real one with
 * this test's own listening socket: sockets by inode, their owning processes, containers from
 * cgroup paths, addresses as the kernel writes them.
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import type { ScanMessage } from '../src/platform/procHelper';
import { chooseOwner, containerOf, fibLocalAddresses, inet6Addresses, parseProcNetTcp, procAddress, scanProc, TCP_LISTEN, type ProcessInfo } from '../src/platform/procScan';
import { scanMessage } from '../src/platform/procHelper';
import { ProcessAttribution, type ScanHelper } from '../src/run/processes';
import { compileFilter } from '../src/filter/filter';
import { processKeyOf } from '../src/stats/classify';
import { tempDir } from './helpers/conversation';
import { httpEvent } from './helpers/events';
import { manualClock } from './helpers/manualClock';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const DOCKER_ID = 'a'.repeat(64);

/** A /proc/net/tcp line. */
function tcpLine(n: number, local: string, remote: string, state: string, uid: number, inode: number): string {
  return `   ${n}: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000  ${uid}        0 ${inode} 1 0000000000000000 100 0 0 10 0\n`;
}

/** A fake /proc: nginx (pid 100, in a Docker container) listening on 8080 with one connection; python (200) on ::1 port 8000; 300 without readable descriptors. */
function fakeProc(): string {
  const root = tempDir();
  fs.mkdirSync(path.join(root, 'net'));
  fs.writeFileSync(path.join(root, 'net/tcp'), HEADER
    + tcpLine(0, '0100007F:1F90', '00000000:0000', '0A', 101, 555)
    + tcpLine(1, '0100007F:1F90', '0100007F:C350', '01', 101, 556)
    + tcpLine(2, '0100007F:C350', '0100007F:1F90', '01', 0, 557)
    + '   3: garbage line\n');
  fs.writeFileSync(path.join(root, 'net/tcp6'), HEADER + tcpLine(0, '00000000000000000000000001000000:1F40', '00000000000000000000000000000000:0000', '0A', 0, 777));
  const proc = (pid: number, comm: string, cmdline: string[], uid: number, cgroup: string, sockets: number[]) => {
    const dir = path.join(root, String(pid));
    fs.mkdirSync(path.join(dir, 'fd'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'comm'), `${comm}\n`);
    fs.writeFileSync(path.join(dir, 'status'), `Name:\t${comm}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\n`);
    fs.writeFileSync(path.join(dir, 'cmdline'), `${cmdline.join('\0')}\0`);
    fs.writeFileSync(path.join(dir, 'cgroup'), cgroup);
    fs.symlinkSync('/dev/null', path.join(dir, 'fd', '0'));
    sockets.forEach((inode, i) => fs.symlinkSync(`socket:[${inode}]`, path.join(dir, 'fd', String(3 + i))));
  };
  proc(100, 'nginx', ['nginx: worker process'], 101, `0::/system.slice/docker-${DOCKER_ID}.scope\n`, [555, 556]);
  proc(200, 'python3', ['python3', '-m', 'http.server', '8000'], 0, '0::/user.slice/user-0.slice/session-1.scope\n', [777]);
  fs.mkdirSync(path.join(root, '300'));
  return root;
}

describe('the /proc scan', () => {
  it('reads addresses as the kernel writes them', () => {
    expect(procAddress('0100007F')).toBe('127.0.0.1');
    expect(procAddress('00000000000000000000000001000000')).toBe('::1');
    expect(procAddress('0000000000000000FFFF00000100007F')).toBe('127.0.0.1');
    expect(procAddress('B80D0120000000000000000001000000')).toBe('2001:db8::1');
    expect(procAddress('zz')).toBeNull();
  });

  it('parses sockets, skipping what is not one', () => {
    const sockets = parseProcNetTcp(fs.readFileSync(path.join(fakeProc(), 'net/tcp'), 'utf8'));
    expect(sockets).toEqual([
      { local: '127.0.0.1', localPort: 8080, remote: '0.0.0.0', remotePort: 0, state: TCP_LISTEN, uid: 101, inode: 555 },
      { local: '127.0.0.1', localPort: 8080, remote: '127.0.0.1', remotePort: 50000, state: 1, uid: 101, inode: 556 },
      { local: '127.0.0.1', localPort: 50000, remote: '127.0.0.1', remotePort: 8080, state: 1, uid: 0, inode: 557 },
    ]);
  });

  it('names each socket\'s process, its user and its container; an unreadable process is counted', () => {
    const scan = scanProc(fakeProc());
    expect(scan.sockets).toHaveLength(4);
    expect(scan.owners.get(555)).toEqual({ pid: 100, command: 'nginx', commandLine: 'nginx: worker process', uid: 101, container: { runtime: 'docker', id: DOCKER_ID, pod: null } });
    expect(scan.owners.get(556)?.pid).toBe(100);
    expect(scan.owners.get(557)).toBeUndefined(); // the client end: no process of ours holds it
    expect(scan.owners.get(777)).toMatchObject({ pid: 200, command: 'python3', commandLine: 'python3 -m http.server 8000', container: null });
    expect(scan.unreadable).toBe(1);
  });

  it('finds containers in the cgroup paths of the runtimes, without asking any daemon', () => {
    const id = 'b'.repeat(64);
    expect(containerOf(`0::/system.slice/docker-${id}.scope`)).toEqual({ runtime: 'docker', id, pod: null });
    expect(containerOf(`12:memory:/docker/${id}`)).toEqual({ runtime: 'docker', id, pod: null });
    expect(containerOf(`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12345678_1234_1234_1234_123456789abc.slice/cri-containerd-${id}.scope`))
      .toEqual({ runtime: 'kubernetes', id, pod: '12345678-1234-1234-1234-123456789abc' });
    expect(containerOf(`0::/machine.slice/libpod-${id}.scope`)).toEqual({ runtime: 'podman', id, pod: null });
    expect(containerOf(`0::/system.slice/crio-${id}.scope`)).toEqual({ runtime: 'cri-o', id, pod: null });
    expect(containerOf('0::/lxc.payload.web1/init.scope')).toEqual({ runtime: 'lxc', id: 'web1', pod: null });
    expect(containerOf('0::/user.slice/user-1000.slice/session-2.scope')).toBeNull();
    expect(containerOf('0::/\n')).toBeNull();
  });

  it('finds this process behind its own listening socket in the real /proc', async () => {
    const server = http.createServer((_, res) => res.end('x'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const scan = scanProc();
      const listening = scan.sockets.find((s) => s.localPort === port && s.state === TCP_LISTEN);
      expect(listening).toBeDefined();
      expect(scan.owners.get(listening!.inode)?.pid).toBe(process.pid);
    } finally {
      server.close();
    }
  });
});

describe('naming the program of each transaction (--processes)', () => {
  /** A helper that answers each request with the next of `scans` (the last one again once they run out). */
  function fakeHelper(scans: ScanMessage[]) {
    let listener: (message: ScanMessage) => void = () => undefined;
    let asked = 0;
    const helper: ScanHelper = {
      request: () => { asked++; listener(scans[Math.min(asked - 1, scans.length - 1)]); },
      onScan: (l) => { listener = l; },
      stop: () => undefined,
    };
    return { helper, asked: () => asked };
  }
  const nginx: ProcessInfo = { pid: 100, command: 'nginx', commandLine: 'nginx: worker process', uid: 33, container: { runtime: 'docker', id: DOCKER_ID, pod: null } };
  const python: ProcessInfo = { pid: 200, command: 'python3', commandLine: 'python3 -m http.server 8000', uid: 0, container: null };
  const curl: ProcessInfo = { pid: 300, command: 'curl\u001b[31m', commandLine: 'curl http://10.9.9.9/', uid: 1000, container: null };
  const users = new Map([[33, 'www-data'], [0, 'root']]);

  it('names the server by its connection or its listening socket, a local client by its connection; the rest is unknown or not local', () => {
    const { helper } = fakeHelper([{
      listening: [['127.0.0.1', 8080, 100], ['0.0.0.0', 8000, 200]],
      connections: [['127.0.0.1', 8080, '127.0.0.1', 50000, 100], ['127.0.0.1', 41000, '10.9.9.9', 80, 300]],
      processes: [nginx, python, curl], unreadable: 2, skipped: 0,
    }]);
    const naming = new ProcessAttribution(helper, manualClock(), 2000, users);
    naming.start();
    const events = [
      httpEvent(1, { src: '127.0.0.1', sport: 50000, dst: '127.0.0.1', dport: 8080 }),
      httpEvent(1, { src: '127.0.0.1', sport: 50001, dst: '127.0.0.1', dport: 8080 }), // closed before a scan: its listener
      httpEvent(1, { src: '127.0.0.1', sport: 50002, dst: '127.0.0.1', dport: 8000 }), // on the wildcard listener
      httpEvent(1, { src: '127.0.0.1', sport: 41000, dst: '10.9.9.9', dport: 80 }), // this host's client
      httpEvent(1, { src: '127.0.0.1', sport: 41001, dst: '10.9.9.9', dport: 80 }), // a client no scan saw
      httpEvent(1, { src: '10.1.1.1', sport: 1, dst: '10.9.9.9', dport: 80 }), // neither end here
    ];
    naming.attribute(events);
    expect(events.map((e) => [e.owner?.process, e.owner?.pid, e.owner?.user, e.owner?.container])).toEqual([
      ['nginx', 100, 'www-data', `docker:${DOCKER_ID.slice(0, 12)}`],
      ['nginx', 100, 'www-data', `docker:${DOCKER_ID.slice(0, 12)}`],
      ['python3', 200, 'root', ''],
      ['curl\\x1b[31m', 300, '1000', ''],
      [undefined, undefined, undefined, undefined],
      [undefined, undefined, undefined, undefined],
    ]);
    expect(events[2].owner?.commandLine).toBe('python3 -m http.server 8000');
    expect(naming.stats).toEqual({ scans: 1, named: 4, unknown: 1, unreadable: 2, failure: null });
    // The fields of the filter, and the breakdown's key.
    const matching = (expression: string) => events.filter(compileFilter(expression).matches).length;
    expect(matching('process = nginx and container ~ ^docker:')).toBe(2);
    expect(matching('user = root or pid = 300')).toBe(2);
    expect(matching('cmdline ~ "http\\.server"')).toBe(1);
    expect(matching('process = ""')).toBe(2);
    expect(events.map(processKeyOf)).toEqual([`nginx docker:${DOCKER_ID.slice(0, 12)}`, `nginx docker:${DOCKER_ID.slice(0, 12)}`, 'python3', 'curl\\x1b[31m', '', '']);
  });

  it('scans on its timer and soon after a miss, and keeps the names of what has gone', () => {
    const clock = manualClock();
    const first: ScanMessage = { listening: [['127.0.0.1', 8000, 200]], connections: [], processes: [python], unreadable: 0, skipped: 0 };
    const empty: ScanMessage = { listening: [], connections: [], processes: [], unreadable: 0, skipped: 0 };
    const { helper, asked } = fakeHelper([empty, first, empty]);
    const naming = new ProcessAttribution(helper, clock, 2000, users);
    naming.start();
    expect(asked()).toBe(1);
    const early = httpEvent(1, { src: '127.0.0.1', sport: 1, dst: '127.0.0.1', dport: 8000 });
    naming.attribute([early]);
    expect(early.owner).toBeUndefined();
    expect(asked()).toBe(1); // a miss right after a scan waits
    clock.advance(1000);
    naming.attribute([httpEvent(1, { src: '127.0.0.1', sport: 2, dst: '127.0.0.1', dport: 8000 })]);
    expect(asked()).toBe(2); // the miss asked again: the server is now known
    clock.advance(2000);
    expect(asked()).toBe(3); // the timer; this scan no longer sees python (it exited)
    const late = httpEvent(2, { src: '127.0.0.1', sport: 3, dst: '127.0.0.1', dport: 8000 });
    naming.attribute([late]);
    expect(late.owner?.process).toBe('python3');
    naming.stop();
    clock.advance(10_000);
    expect(asked()).toBe(3);
  });
});

describe('what the review found', () => {
  const nginx: ProcessInfo = { pid: 100, command: 'nginx', commandLine: 'nginx: worker process', uid: 33, container: null };
  const curl: ProcessInfo = { pid: 300, command: 'curl', commandLine: 'curl http://10.9.9.9/', uid: 1000, container: null };
  const node: ProcessInfo = { pid: 400, command: 'node', commandLine: 'node server.js', uid: 1000, container: null };
  const scanOf = (listening: ScanMessage['listening'], connections: ScanMessage['connections'], processes: ProcessInfo[]): ScanMessage => ({ listening, connections, processes, unreadable: 0, skipped: 0 });
  function naming(scans: ScanMessage[]) {
    let listener: (message: ScanMessage) => void = () => undefined;
    let asked = 0;
    const clock = manualClock();
    const attribution = new ProcessAttribution({ request: () => { listener(scans[Math.min(asked++, scans.length - 1)]); }, onScan: (l) => { listener = l; }, stop: () => undefined }, clock, 1000, new Map());
    attribution.start();
    return { attribution, clock };
  }

  it('names a wildcard listener only for this host\'s addresses, after this host\'s client end, and IPv4 through a dual-stack one', () => {
    const { attribution } = naming([scanOf([['0.0.0.0', 80, 100], ['::', 3000, 400]], [['127.0.0.1', 41000, '10.9.9.9', 80, 300]], [nginx, curl, node])]);
    const events = [
      httpEvent(1, { src: '127.0.0.1', sport: 41000, dst: '10.9.9.9', dport: 80 }), // this host's curl to a remote :80
      httpEvent(1, { src: '10.1.1.1', sport: 5, dst: '10.9.9.9', dport: 80 }), // two other hosts
      httpEvent(1, { src: '127.0.0.1', sport: 6, dst: '127.0.0.1', dport: 80 }), // to the local wildcard listener
      httpEvent(1, { src: '127.0.0.1', sport: 7, dst: '127.0.0.1', dport: 3000 }), // IPv4 to a `::` listener
    ];
    attribution.attribute(events);
    expect(events.map((e) => e.owner?.process)).toEqual(['curl', undefined, 'nginx', 'node']);
  });

  it('forgets what two scans no longer saw: a port\'s new program is not named after its old one', () => {
    const python: ProcessInfo = { pid: 200, command: 'python3', commandLine: 'python3 app.py', uid: 0, container: null };
    const { attribution, clock } = naming([
      scanOf([['127.0.0.1', 8080, 200]], [['127.0.0.1', 8080, '127.0.0.1', 50000, 200]], [python]),
      scanOf([['127.0.0.1', 8080, 400]], [], [node]),
      scanOf([['127.0.0.1', 8080, 400]], [], [node]),
    ]);
    const first = httpEvent(1, { src: '127.0.0.1', sport: 50000, dst: '127.0.0.1', dport: 8080 });
    attribution.attribute([first]);
    expect(first.owner?.process).toBe('python3');
    clock.advance(1000);
    clock.advance(1000);
    const again = httpEvent(2, { src: '127.0.0.1', sport: 50000, dst: '127.0.0.1', dport: 8080 });
    attribution.attribute([again]);
    expect(again.owner?.process).toBe('node');
  });

  it('names a shared listening socket after the process that serves on it, never init', () => {
    const root = tempDir();
    fs.mkdirSync(path.join(root, 'net'));
    fs.writeFileSync(path.join(root, 'net/tcp'), HEADER + tcpLine(0, '0100007F:0050', '00000000:0000', '0A', 0, 900) + tcpLine(1, '0100007F:0050', '0100007F:C351', '01', 33, 901));
    const proc = (pid: number, comm: string, sockets: number[]) => {
      const dir = path.join(root, String(pid));
      fs.mkdirSync(path.join(dir, 'fd'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'comm'), `${comm}\n`);
      fs.writeFileSync(path.join(dir, 'status'), 'Uid:\t33\t33\t33\t33\n');
      sockets.forEach((inode, i) => fs.symlinkSync(`socket:[${inode}]`, path.join(dir, 'fd', String(3 + i))));
    };
    proc(1, 'systemd', [900]);
    proc(10, 'nginx-master', [900]);
    proc(11, 'nginx-worker', [900, 901]);
    proc(12, 'nginx-idle', [900]);
    const message = scanMessage(root);
    expect(message.listening).toEqual([['127.0.0.1', 80, 11]]);
    expect(chooseOwner([{ ...nginx, pid: 1 }, { ...nginx, pid: 7 }, { ...nginx, pid: 5 }]).pid).toBe(7);
  });

  it('reads a container\'s own network namespace, its wildcard listeners on the container\'s addresses', () => {
    const root = fakeProc();
    const container = path.join(root, '500');
    fs.mkdirSync(path.join(container, 'fd'), { recursive: true });
    fs.mkdirSync(path.join(container, 'net'));
    fs.mkdirSync(path.join(container, 'ns'));
    fs.symlinkSync('net:[4026532999]', path.join(container, 'ns/net'));
    fs.writeFileSync(path.join(container, 'net/tcp'), HEADER + tcpLine(0, '00000000:0050', '00000000:0000', '0A', 0, 990));
    fs.writeFileSync(path.join(container, 'net/fib_trie'), 'Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 172.17.0.2\n        /32 host LOCAL\n     |-- 127.0.0.1\n        /32 host LOCAL\n');
    fs.writeFileSync(path.join(container, 'comm'), 'nginx\n');
    fs.writeFileSync(path.join(container, 'status'), 'Uid:\t0\t0\t0\t0\n');
    fs.writeFileSync(path.join(container, 'cgroup'), `0::/system.slice/docker-${DOCKER_ID}.scope\n`);
    fs.symlinkSync('socket:[990]', path.join(container, 'fd', '3'));
    const message = scanMessage(root);
    expect(message.listening).toContainEqual(['172.17.0.2', 80, 500]);
    expect(message.listening.some(([address, port]) => port === 80 && address === '0.0.0.0')).toBe(false);
    expect(inet6Addresses('fe800000000000000000000000000001 02 40 20 80 eth0\n00000000000000000000000000000001 01 80 10 80 lo\n')).toEqual(['fe80::1']);
    expect(fibLocalAddresses('')).toEqual([]);
  });

  it('parses a table of a few hundred thousand sockets without keeping the ones no process holds', () => {
    const lines = Array.from({ length: 200_000 }, (_, i) => tcpLine(i, '0100007F:1F90', '0100007F:C350', '06', 0, 0)).join('');
    expect(parseProcNetTcp(HEADER + lines + tcpLine(1, '0100007F:1F90', '00000000:0000', '0A', 0, 7))).toHaveLength(1);
  });
});

describe('where the scan runs', () => {
  it('is never the capture thread: nothing under src/capture reads /proc for processes', () => {
    const root = path.join(__dirname, '..', 'src', 'capture');
    const files = (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = fs.readFileSync(path.join(root, file), 'utf8');
      expect([file, /procScan|procHelper|run\/processes|\/proc\/net\/tcp/.test(text)]).toEqual([file, false]);
    }
  });
});
