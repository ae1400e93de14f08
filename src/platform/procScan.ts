/**
 * Which process owns which TCP socket on this host, read from /proc as `ss -p` reads it:
 * `/proc/net/tcp{,6}` lists the sockets (local and remote address, state, inode), each
 * `/proc/PID/fd` links to the socket inodes the process holds, and `/proc/PID/{comm,cmdline,
 * status,cgroup}` name the process, its user and its container. A scan is a snapshot: a process
 * or connection that came and went between two scans is not in it (unknown, never guessed).
 *
 * Reads only, each bounded (processes, descriptors, sockets, bytes of a file); a file that
 * vanishes or cannot be read mid-scan (a process exiting, another user's without the
 * privilege) is skipped and counted. The root is a parameter so tests run on a fake tree.
 */
import * as fs from 'fs';
import * as path from 'path';

/** A TCP socket of /proc/net/tcp{,6}. */
export interface ProcSocket {
  /** The network namespace's table it was read from: 0 is the scanner's own (the host's). */
  namespace?: number;
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
  /** The kernel's state number: 0x0A is LISTEN, 0x01 ESTABLISHED. */
  state: number;
  uid: number;
  inode: number;
}

/** A process as it is shown. */
export interface ProcessInfo {
  pid: number;
  /** `comm`: the command name (≤ 15 characters, as the kernel keeps it). */
  command: string;
  /** The command line, arguments joined by spaces, within MAX_CMDLINE characters. */
  commandLine: string;
  uid: number;
  /** The container, from the cgroup path; null on the host. */
  container: ContainerInfo | null;
}

/** A container as its cgroup path names it (no daemon is asked). */
export interface ContainerInfo {
  /** `docker`, `containerd`, `cri-o`, `podman`, `kubernetes`, `lxc`. */
  runtime: string;
  /** The container id (64 hex characters; shown cut to 12), or the LXC name. */
  id: string;
  /** A Kubernetes pod's uid, when the path has one. */
  pod: string | null;
}

/** The state number of a listening socket. */
export const TCP_LISTEN = 0x0a;

/** Bounds of one scan. */
export const SCAN_LIMITS = { processes: 16_384, descriptorsPerProcess: 65_536, sockets: 262_144, fileBytes: 64 * 1024 };
const MAX_CMDLINE = 512;
const READ_STEP = 64 * 1024;

/** Reads `file` up to the bound (in 64 KiB steps: /proc files say no size); null when it cannot be read. */
function readBounded(file: string, bytes = SCAN_LIMITS.fileBytes, encoding: BufferEncoding = 'latin1'): string | null {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'r');
    const chunks: Buffer[] = [];
    let length = 0;
    while (length < bytes) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_STEP, bytes - length));
      const read = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(read === chunk.length ? chunk : chunk.subarray(0, read));
      length += read;
    }
    return Buffer.concat(chunks, length).toString(encoding);
  } catch {
    return null;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** `0100007F` → 127.0.0.1; IPv6 as four little-endian words → its compressed text. */
export function procAddress(hex: string): string | null {
  if (hex.length === 8) {
    const word = Number.parseInt(hex, 16);
    if (!Number.isFinite(word)) return null;
    return [word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24].join('.');
  }
  if (hex.length !== 32 || !/^[0-9A-Fa-f]+$/.test(hex)) return null;
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(Number.parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  // ::ffff:a.b.c.d is the IPv4 address (a dual-stack socket seen by an IPv4 packet).
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return compressIpv6(groups);
}

function compressIpv6(groups: string[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) { best = i; bestLength = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

/** The sockets of a /proc/net/tcp or tcp6 text (the header line and malformed lines skipped). */
export function parseProcNetTcp(text: string, limit = SCAN_LIMITS.sockets): ProcSocket[] {
  const sockets: ProcSocket[] = [];
  for (const line of text.split('\n')) {
    if (sockets.length >= limit) break;
    const fields = line.trim().split(/\s+/);
    // Sockets no process holds (TIME_WAIT, SYN_RECV: inode 0) are most of a busy table: skipped before anything is made of them.
    if (fields.length < 10 || !fields[0].endsWith(':') || fields[9] === '0') continue;
    const [localHex, localPortHex] = fields[1].split(':');
    const [remoteHex, remotePortHex] = fields[2].split(':');
    const local = procAddress(localHex ?? '');
    const remote = procAddress(remoteHex ?? '');
    const inode = Number(fields[9]);
    if (local === null || remote === null || !Number.isSafeInteger(inode)) continue;
    sockets.push({
      local, localPort: Number.parseInt(localPortHex ?? '', 16), remote, remotePort: Number.parseInt(remotePortHex ?? '', 16),
      state: Number.parseInt(fields[3], 16), uid: Number(fields[7]), inode,
    });
  }
  return sockets;
}

/** The container a cgroup file's paths name, or null (the host, or a path of no known runtime). */
export function containerOf(cgroup: string): ContainerInfo | null {
  for (const line of cgroup.split('\n')) {
    const cgroupPath = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    if (cgroupPath === '' || cgroupPath === '/') continue;
    const pod = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/.exec(cgroupPath)?.[1].replace(/_/g, '-') ?? null;
    const patterns: Array<[string, RegExp]> = [
      ['docker', /docker[-/]([0-9a-f]{64})/],
      ['containerd', /cri-containerd[-:]([0-9a-f]{64})/],
      ['cri-o', /crio[-:]([0-9a-f]{64})/],
      ['podman', /libpod[-/]([0-9a-f]{64})/],
    ];
    for (const [runtime, pattern] of patterns) {
      const id = pattern.exec(cgroupPath)?.[1];
      if (id !== undefined) return { runtime: pod !== null ? 'kubernetes' : runtime, id, pod };
    }
    // A pod's container by a runtime not named above: the last 64-hex segment.
    if (pod !== null) {
      const id = /([0-9a-f]{64})(?:\.scope)?$/.exec(cgroupPath)?.[1];
      if (id !== undefined) return { runtime: 'kubernetes', id, pod };
    }
    const lxc = /\/lxc(?:\.payload)?[./]([A-Za-z0-9_.-]{1,64})/.exec(cgroupPath)?.[1];
    if (lxc !== undefined) return { runtime: 'lxc', id: lxc, pod: null };
  }
  return null;
}

/** What one scan found: sockets by inode, their owners, and what it could not read. */
export interface ProcScan {
  sockets: ProcSocket[];
  /** Socket inode → the process that holds it (the lowest pid when several share it). */
  owners: Map<number, ProcessInfo>;
  /** Processes whose descriptors could not be read (another user's, without the privilege; or gone). */
  unreadable: number;
  /** Processes past the bound, not looked at. */
  skipped: number;
  /** Every process that holds each socket (see chooseOwner). */
  holders?: Map<number, ProcessInfo[]>;
  /** The addresses of each other network namespace (a container's), by its number: where its wildcard listeners listen. */
  namespaceAddresses?: Map<number, string[]>;
}

/** Reads the process `pid`'s name, user, command line and container; null when it is gone. */
export function processInfo(procRoot: string, pid: number): ProcessInfo | null {
  const dir = path.join(procRoot, String(pid));
  const comm = readBounded(path.join(dir, 'comm'), 256, 'utf8');
  const status = readBounded(path.join(dir, 'status'));
  if (comm === null || status === null) return null;
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
  const cmdline = (readBounded(path.join(dir, 'cmdline'), MAX_CMDLINE * 4, 'utf8') ?? '').split('\0').filter((part) => part !== '').join(' ');
  const cgroup = readBounded(path.join(dir, 'cgroup'));
  return {
    pid, command: comm.replace(/\n$/, ''), commandLine: cmdline.slice(0, MAX_CMDLINE), uid,
    container: cgroup === null ? null : containerOf(cgroup),
  };
}

/** Bytes of a socket table read at most (~400,000 sockets). */
const MAX_TABLE_BYTES = 64 * 1024 * 1024;
/** Network namespaces whose tables are read, at most. */
const MAX_NAMESPACES = 256;

/** Scans `procRoot` (/proc): every TCP socket of every network namespace (containers have their own), and which processes hold each. */
export function scanProc(procRoot = '/proc'): ProcScan {
  const owners = new Map<number, ProcessInfo>();
  let unreadable = 0;
  let skipped = 0;
  let pids: number[] = [];
  try {
    pids = fs.readdirSync(procRoot).filter((name) => /^\d+$/.test(name)).map(Number).sort((a, b) => a - b);
  } catch {
    return { sockets: [], owners, unreadable, skipped };
  }
  if (pids.length > SCAN_LIMITS.processes) {
    skipped = pids.length - SCAN_LIMITS.processes;
    pids = pids.slice(0, SCAN_LIMITS.processes);
  }
  // One table per network namespace, read through a process in it (the scanner's own first).
  const tables: string[] = [path.join(procRoot, 'net')];
  const namespaces = new Set<string>([readLink(path.join(procRoot, 'self/ns/net')) ?? 'self']);
  for (const pid of pids) {
    if (namespaces.size >= MAX_NAMESPACES) break;
    const namespace = readLink(path.join(procRoot, String(pid), 'ns/net'));
    if (namespace === null || namespaces.has(namespace)) continue;
    namespaces.add(namespace);
    tables.push(path.join(procRoot, String(pid), 'net'));
  }
  const sockets: ProcSocket[] = [];
  const namespaceAddresses = new Map<number, string[]>();
  tables.forEach((table, namespace) => {
    for (const name of ['tcp', 'tcp6']) {
      for (const socket of parseProcNetTcp(readBounded(path.join(table, name), MAX_TABLE_BYTES) ?? '', SCAN_LIMITS.sockets - sockets.length)) {
        socket.namespace = namespace;
        sockets.push(socket);
      }
    }
    if (namespace > 0) namespaceAddresses.set(namespace, [...fibLocalAddresses(readBounded(path.join(table, 'fib_trie'), 1024 * 1024) ?? ''), ...inet6Addresses(readBounded(path.join(table, 'if_inet6')) ?? '')]);
  });
  const wanted = new Set(sockets.map((s) => s.inode));
  // Several processes may hold one socket (a server's workers share its listening socket): all are noted, the caller chooses.
  const holders = new Map<number, ProcessInfo[]>();
  for (const pid of pids) {
    let descriptors: string[];
    try {
      descriptors = fs.readdirSync(path.join(procRoot, String(pid), 'fd')).slice(0, SCAN_LIMITS.descriptorsPerProcess);
    } catch {
      unreadable++;
      continue;
    }
    let info: ProcessInfo | null | undefined;
    for (const fd of descriptors) {
      const target = readLink(path.join(procRoot, String(pid), 'fd', fd));
      const inode = target === null ? undefined : /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode === undefined || !wanted.has(Number(inode))) continue;
      info ??= processInfo(procRoot, pid);
      if (info === null) break; // gone
      const list = holders.get(Number(inode));
      if (list === undefined) holders.set(Number(inode), [info]);
      else if (list.length < MAX_HOLDERS) list.push(info);
    }
  }
  for (const [inode, list] of holders) owners.set(inode, chooseOwner(list));
  return { sockets, owners, unreadable, skipped, holders, namespaceAddresses };
}

/** The IPv4 addresses of a namespace (its fib_trie's `/32 host LOCAL` entries), loopback left out. */
export function fibLocalAddresses(text: string): string[] {
  const addresses = new Set<string>();
  let last: string | null = null;
  for (const line of text.split('\n')) {
    const leaf = /\|-- (\d+\.\d+\.\d+\.\d+)/.exec(line);
    if (leaf !== null) last = leaf[1];
    else if (last !== null && line.includes('/32 host LOCAL') && !last.startsWith('127.')) addresses.add(last);
  }
  return [...addresses];
}

/** The IPv6 addresses of a namespace (if_inet6: 32 hex digits a line), loopback left out. */
export function inet6Addresses(text: string): string[] {
  const addresses: string[] = [];
  for (const line of text.split('\n')) {
    const hex = line.trim().split(/\s+/)[0];
    if (hex === undefined || !/^[0-9a-f]{32}$/.test(hex)) continue;
    const groups = Array.from({ length: 8 }, (_, i) => Number.parseInt(hex.slice(i * 4, i * 4 + 4), 16).toString(16));
    const address = compressIpv6(groups);
    if (address !== '::1') addresses.push(address);
  }
  return addresses;
}

/** Processes noted per socket, at most. */
const MAX_HOLDERS = 64;

/**
 * The process a shared socket is named after: not init (socket activation hands it on), and of
 * the others the newest (a server's master starts first, its workers, which serve, after).
 */
export function chooseOwner(holders: readonly ProcessInfo[]): ProcessInfo {
  const candidates = holders.length > 1 ? holders.filter((h) => h.pid !== 1) : holders;
  return (candidates.length > 0 ? candidates : holders).reduce((best, h) => (h.pid > best.pid ? h : best));
}

function readLink(file: string): string | null {
  try {
    return fs.readlinkSync(file);
  } catch {
    return null;
  }
}
