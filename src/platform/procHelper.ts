/**
 * The process scanner as a small process of its own (`--processes`): it reads a line on stdin,
 * scans /proc (procScan.ts) and writes the result as one JSON line on stdout; it ends with
 * its stdin. wiretop starts it before it drops root, under `setpriv` with only the two
 * capabilities a scan needs (CAP_SYS_PTRACE to read other users' descriptor links,
 * CAP_DAC_READ_SEARCH to list their descriptor directories), so the main process can give up
 * everything, and the capture thread never waits on /proc. What it reads never comes from the
 * wire: its input is only "scan".
 */
// First of all: SIGUSR1 would open Node's inspector, and any process of the same user could
// then run code here, with this process's two capabilities. Taken, it does nothing.
process.on('SIGUSR1', () => undefined);
import * as readline from 'readline';
import { chooseOwner, scanProc, TCP_LISTEN, type ProcessInfo } from './procScan';

/** One scan as the helper writes it: only sockets with an owner, processes once each. */
export interface ScanMessage {
  /** [local address, local port, pid] of listening sockets. */
  listening: Array<[string, number, number]>;
  /** [local address, local port, remote address, remote port, pid] of connections. */
  connections: Array<[string, number, string, number, number]>;
  processes: ProcessInfo[];
  /** Processes whose descriptors could not be read, and processes past the bound. */
  unreadable: number;
  skipped: number;
}

/** A scan, in the helper's message shape. */
export function scanMessage(procRoot = '/proc'): ScanMessage {
  const scan = scanProc(procRoot);
  const message: ScanMessage = { listening: [], connections: [], processes: [], unreadable: scan.unreadable, skipped: scan.skipped };
  const seen = new Set<number>();
  // A listening socket shared by several processes (a master and its workers) is named after one
  // that also holds connections on its port: the one that serves.
  const serving = new Map<number, Set<number>>();
  for (const socket of scan.sockets) {
    const owner = scan.owners.get(socket.inode);
    if (owner === undefined || socket.state === TCP_LISTEN) continue;
    let pids = serving.get(socket.localPort);
    if (pids === undefined) serving.set(socket.localPort, pids = new Set());
    pids.add(owner.pid);
  }
  for (const socket of scan.sockets) {
    let owner = scan.owners.get(socket.inode);
    if (owner === undefined) continue;
    const holders = scan.holders?.get(socket.inode) ?? [];
    if (socket.state === TCP_LISTEN && holders.length > 1) {
      const servers = holders.filter((h) => serving.get(socket.localPort)?.has(h.pid) === true);
      if (servers.length > 0) owner = chooseOwner(servers);
    }
    if (socket.state === TCP_LISTEN) {
      // A container's wildcard listener listens on the container's addresses, not the host's.
      const wildcard = socket.local === '0.0.0.0' || socket.local === '::';
      const addresses = wildcard && (socket.namespace ?? 0) > 0 ? scan.namespaceAddresses?.get(socket.namespace!) ?? [] : [socket.local];
      for (const address of addresses) message.listening.push([address, socket.localPort, owner.pid]);
    }
    else message.connections.push([socket.local, socket.localPort, socket.remote, socket.remotePort, owner.pid]);
    if (!seen.has(owner.pid)) {
      seen.add(owner.pid);
      message.processes.push(owner);
    }
  }
  return message;
}

if (require.main === module) {
  // It ends when wiretop closes its stdin: a terminal's Ctrl-C or a service manager's stop is wiretop's to handle.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', () => {
    let out: string;
    try {
      out = JSON.stringify(scanMessage());
    } catch (error) {
      out = JSON.stringify({ error: (error as Error).message });
    }
    process.stdout.write(`${out}\n`);
  });
  lines.on('close', () => process.exit(0));
}
