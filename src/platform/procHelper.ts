/**
 * The process scanner as a small process of its own (`--processes`): it reads a line on stdin,
 * scans /proc (procScan.ts) and writes the result as one JSON line on stdout; it ends with
 * its stdin. wiretop starts it before it drops root, under `setpriv` with only the two
 * capabilities a scan needs (CAP_SYS_PTRACE to read other users' descriptor links,
 * CAP_DAC_READ_SEARCH to list their descriptor directories), so the main process can give up
 * everything, and the capture thread never waits on /proc. What it reads never comes from the
 * wire: its input is only "scan".
 */
import * as readline from 'readline';
import { scanProc, TCP_LISTEN, type ProcessInfo } from './procScan';

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
  for (const socket of scan.sockets) {
    const owner = scan.owners.get(socket.inode);
    if (owner === undefined) continue;
    if (socket.state === TCP_LISTEN) message.listening.push([socket.local, socket.localPort, owner.pid]);
    else message.connections.push([socket.local, socket.localPort, socket.remote, socket.remotePort, owner.pid]);
    if (!seen.has(owner.pid)) {
      seen.add(owner.pid);
      message.processes.push(owner);
    }
  }
  return message;
}

if (require.main === module) {
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
