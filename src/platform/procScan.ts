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
function readBounded(file: string, bytes = SCAN_LIMITS.fileBytes): string | null {
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
    return Buffer.concat(chunks, length).toString('latin1');
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
    if (fields.length < 10 || !fields[0].endsWith(':')) continue;
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
}

/** Reads the process `pid`'s name, user, command line and container; null when it is gone. */
export function processInfo(procRoot: string, pid: number): ProcessInfo | null {
  const dir = path.join(procRoot, String(pid));
  const comm = readBounded(path.join(dir, 'comm'), 256);
  const status = readBounded(path.join(dir, 'status'));
  if (comm === null || status === null) return null;
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
  const cmdline = (readBounded(path.join(dir, 'cmdline'), MAX_CMDLINE * 4) ?? '').split('\0').filter((part) => part !== '').join(' ');
  const cgroup = readBounded(path.join(dir, 'cgroup'));
  return {
    pid, command: comm.replace(/\n$/, ''), commandLine: cmdline.slice(0, MAX_CMDLINE), uid,
    container: cgroup === null ? null : containerOf(cgroup),
  };
}

/** Scans `procRoot` (/proc): every TCP socket, and which process holds each. */
export function scanProc(procRoot = '/proc'): ProcScan {
  const sockets = [
    ...parseProcNetTcp(readBounded(path.join(procRoot, 'net/tcp'), 64 * 1024 * 1024) ?? ''),
    ...parseProcNetTcp(readBounded(path.join(procRoot, 'net/tcp6'), 64 * 1024 * 1024) ?? ''),
  ];
  const wanted = new Set(sockets.map((s) => s.inode).filter((inode) => inode !== 0));
  const owners = new Map<number, ProcessInfo>();
  let unreadable = 0;
  let skipped = 0;
  let pids: number[] = [];
  try {
    pids = fs.readdirSync(procRoot).filter((name) => /^\d+$/.test(name)).map(Number).sort((a, b) => a - b);
  } catch {
    return { sockets, owners, unreadable, skipped };
  }
  if (pids.length > SCAN_LIMITS.processes) {
    skipped = pids.length - SCAN_LIMITS.processes;
    pids = pids.slice(0, SCAN_LIMITS.processes);
  }
  for (const pid of pids) {
    if (owners.size >= wanted.size) break;
    let descriptors: string[];
    try {
      descriptors = fs.readdirSync(path.join(procRoot, String(pid), 'fd')).slice(0, SCAN_LIMITS.descriptorsPerProcess);
    } catch {
      unreadable++;
      continue;
    }
    let info: ProcessInfo | null | undefined;
    for (const fd of descriptors) {
      let target: string;
      try {
        target = fs.readlinkSync(path.join(procRoot, String(pid), 'fd', fd));
      } catch {
        continue; // closed meanwhile
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode === undefined || !wanted.has(Number(inode)) || owners.has(Number(inode))) continue;
      info ??= processInfo(procRoot, pid);
      if (info === null) break; // gone
      owners.set(Number(inode), info);
    }
  }
  return { sockets, owners, unreadable, skipped };
}
