/**
 * `--processes`: which program on this host each transaction's connection belongs to. The
 * scanner runs in a helper process (src/platform/procHelper.ts) on a timer, and sooner after
 * a miss; its answers fill bounded maps here, and each transaction is looked up as it reaches
 * the main thread: the connection itself (server end first: on loopback both ends are here),
 * else the socket listening on the server's address and port (a server that accepted it; found
 * even after the connection closed), else the client's end. A connection whose local end was
 * never seen in a scan (it came and went between two) is unknown, never guessed. Entries stay
 * after their process exits, so its last transactions keep its name.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import type { ProcessInfo } from '../platform/procScan';
import type { ScanMessage } from '../platform/procHelper';
import { escapeControls } from '../protocol/sanitize';
import type { HttpEvent, ProcessOwner } from '../types';
import type { Clock } from './clock';

/** The helper as the attribution uses it (a child process, or a fake in tests). */
export interface ScanHelper {
  /** Asks for a scan; the answer comes to `onScan`. */
  request(): void;
  onScan(listener: (message: ScanMessage) => void): void;
  stop(): void;
}

/** Counts for the capture health and the report. */
export interface AttributionStats {
  scans: number;
  /** Transactions with a local end that no scan had seen. */
  unknown: number;
  /** Transactions named. */
  named: number;
  /** Processes the last scan could not read (another user's, without the privilege). */
  unreadable: number;
  /** Why the scanner stopped (it could not start, or ended), or null while it runs. */
  failure: string | null;
}

/** Connections and listeners remembered, at most (the oldest forgotten first). */
const MAX_CONNECTIONS = 65_536;
const MAX_LISTENERS = 4_096;
/** Remembered answers by connection (see labelFor), at most. */
const MAX_RECENT = 65_536;
/** A connection or listener no scan has seen for this many scans is forgotten (its program may have been replaced). */
const SCANS_KEPT = 2;
/** A scan unanswered this long (wall time) is given up: the next may be asked. */
const SCAN_TIMEOUT_MS = 10_000;
/** A miss asks for a scan at most this often (wall time). */
const MISS_SCAN_MS = 1000;

export class ProcessAttribution {
  private readonly connections = new Map<string, Seen>();
  private readonly listeners = new Map<string, Seen>();
  private generation = 0;
  private recentSize = 0;
  /** The last answers by connection ports (see labelFor); a scan may change them, so each scan forgets them. */
  private readonly recent = new Map<number, Map<number, { src: string; dst: string; label: ProcessOwner | null }>>();
  private local: LocalAddresses = localAddresses();
  private timer: unknown = null;
  private lastRequest = -Infinity;
  private pending = false;
  readonly stats: AttributionStats = { scans: 0, unknown: 0, named: 0, unreadable: 0, failure: null };

  constructor(private readonly helper: ScanHelper, private readonly clock: Clock, private readonly intervalMs: number, private readonly users = userNames()) {
    helper.onScan((message) => this.take(message));
  }

  /** Scans now, then every interval, until stop. */
  start(): void {
    const tick = () => {
      this.scan();
      this.timer = this.clock.setTimeout(tick, this.intervalMs);
    };
    tick();
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.helper.stop();
  }

  private scan(): void {
    // A scanner that does not answer (stopped, stuck on /proc) does not stop the asking for good.
    if (this.pending && this.clock.now() - this.lastRequest < SCAN_TIMEOUT_MS) return;
    this.pending = true;
    this.lastRequest = this.clock.now();
    this.helper.request();
  }

  /** A scan's answer: the maps learn its sockets (what they knew stays, for connections gone since). */
  take(message: ScanMessage): void {
    this.pending = false;
    this.stats.scans++;
    if (!isScan(message)) return;
    this.recent.clear();
    this.recentSize = 0;
    this.stats.unreadable = message.unreadable;
    this.local = localAddresses();
    const generation = ++this.generation;
    const labels = new Map(message.processes.map((info) => [info.pid, this.labelOf(info)]));
    for (const [address, port, pid] of message.listening) {
      const label = labels.get(pid);
      if (label !== undefined) remember(this.listeners, `${address}|${port}`, { label, generation }, MAX_LISTENERS);
    }
    for (const [local, localPort, remote, remotePort, pid] of message.connections) {
      const label = labels.get(pid);
      if (label !== undefined) remember(this.connections, `${local}|${localPort}|${remote}|${remotePort}`, { label, generation }, MAX_CONNECTIONS);
    }
    // What the last scans no longer saw goes (a port's new program is not named after its old one); its last transactions were named meanwhile.
    for (const map of [this.connections, this.listeners]) for (const [key, seen] of map) if (seen.generation <= generation - SCANS_KEPT) map.delete(key);
  }

  private labelOf(info: ProcessInfo): ProcessOwner {
    const container = info.container === null ? ''
      : info.container.pod !== null ? `kubernetes:${info.container.pod}/${info.container.id.slice(0, 12)}`
        : `${info.container.runtime}:${info.container.runtime === 'lxc' ? escapeControls(info.container.id, 64) : info.container.id.slice(0, 12)}`;
    const process = escapeControls(info.command, 64);
    return {
      process, pid: info.pid, user: this.users.get(info.uid) ?? String(info.uid), container, commandLine: escapeControls(info.commandLine, 512),
      key: container === '' ? process : `${process} ${container}`,
    };
  }

  /** The program a transaction's connection belongs to, or null (not on this host, or unknown: counted). */
  labelFor(event: HttpEvent): ProcessOwner | null {
    // A connection's transactions come one after another: its answer is remembered by its ports (until the next scan).
    let byClientPort = this.recent.get(event.dport);
    const recent = byClientPort?.get(event.sport);
    if (recent !== undefined && recent.src === event.src && recent.dst === event.dst) {
      if (recent.label !== null) this.stats.named++;
      return recent.label;
    }
    const label = this.lookUp(event);
    if (label !== null || !this.local.has(event.dst) && !this.local.has(event.src)) {
      if (this.recentSize >= MAX_RECENT) {
        this.recent.clear();
        this.recentSize = 0;
        byClientPort = undefined;
      }
      if (byClientPort === undefined) {
        byClientPort = new Map();
        this.recent.set(event.dport, byClientPort);
      }
      byClientPort.set(event.sport, { src: event.src, dst: event.dst, label });
      this.recentSize++;
    }
    return label;
  }

  private lookUp(event: HttpEvent): ProcessOwner | null {
    const server = `${event.dst}|${event.dport}`;
    const client = `${event.src}|${event.sport}`;
    // The connection (server end, then this host's client end), a listener on the server's own address,
    // and only for an address of this host a wildcard one (IPv4 also reaches a dual-stack `::`).
    const local = this.local.has(event.dst);
    const label = this.connections.get(`${server}|${client}`)?.label ?? this.listeners.get(server)?.label ?? this.connections.get(`${client}|${server}`)?.label
      ?? (local ? (event.dst.includes(':') ? undefined : this.listeners.get(`0.0.0.0|${event.dport}`)?.label) ?? this.listeners.get(`::|${event.dport}`)?.label : undefined);
    if (label !== undefined) {
      this.stats.named++;
      return label;
    }
    if (local || this.local.has(event.src)) {
      this.stats.unknown++;
      // Seen before any scan knew it: look again soon (for the connection's next transactions).
      if (this.clock.now() - this.lastRequest >= MISS_SCAN_MS) this.scan();
    }
    return null;
  }

  /** Sets each transaction's process fields (none when it has no local program). */
  attribute(events: readonly HttpEvent[]): void {
    for (const event of events) {
      const label = this.labelFor(event);
      if (label !== null) event.owner = label;
    }
  }
}

/** A program as a scan saw it behind a socket, and in which scan. */
interface Seen {
  label: ProcessOwner;
  generation: number;
}

function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

function isScan(message: unknown): message is ScanMessage {
  const m = message as ScanMessage;
  return m !== null && typeof m === 'object' && Array.isArray(m.listening) && Array.isArray(m.connections) && Array.isArray(m.processes) && typeof m.unreadable === 'number';
}

/** Whether an address is this host's. */
export interface LocalAddresses {
  has(address: string): boolean;
}

/** This host's addresses now (and the loopback ranges). */
export function localAddresses(): LocalAddresses {
  const addresses = new Set<string>(['::1']);
  for (const list of Object.values(os.networkInterfaces())) for (const entry of list ?? []) addresses.add(entry.address.replace(/%.*$/, ''));
  return { has: (address) => addresses.has(address) || address.startsWith('127.') };
}

/** The capabilities a scan needs, and nothing else (see procHelper.ts). */
const SCAN_CAPABILITIES = '-all,+sys_ptrace,+dac_read_search';

/**
 * Starts the scanner process. `dropTo`: the account a root run becomes; the helper then runs as
 * it too, keeping only the two capabilities of a scan (util-linux `setpriv`). Without it (not
 * root) the helper is this user's, and sees other users' sockets without their processes.
 */
export function startScanHelper(dropTo: { uid: number; gid: number } | null, onError: (message: string) => void): ScanHelper {
  const script = path.join(__dirname, '..', 'platform', 'procHelper.js');
  const node = [process.execPath, '--max-old-space-size=96', '--max-semi-space-size=1', script];
  // no_new_privs either way: Node started with file capabilities (the setcap route) must not get them here.
  const command = dropTo === null ? ['setpriv', '--no-new-privs', ...node]
    : ['setpriv', `--reuid=${dropTo.uid}`, `--regid=${dropTo.gid}`, '--clear-groups', `--inh-caps=${SCAN_CAPABILITIES}`, `--ambient-caps=${SCAN_CAPABILITIES}`, `--bounding-set=${SCAN_CAPABILITIES}`, '--no-new-privs', ...node];
  // Its own process group: a terminal's Ctrl-C is wiretop's to handle; it ends when its stdin closes.
  const child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
  const listeners: Array<(message: ScanMessage) => void> = [];
  let stopped = false;
  child.on('error', (error) => { if (!stopped) onError(`the process scanner could not start (${(error as NodeJS.ErrnoException).code ?? error.message}; it needs setpriv, from util-linux)`); });
  child.on('exit', (code, signal) => { if (!stopped) onError(`the process scanner ended (${signal ?? `status ${code}`}); transactions are no longer named by process`); });
  child.stdin.on('error', () => undefined);
  const lines = readline.createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    let message: ScanMessage;
    try {
      message = JSON.parse(line) as ScanMessage;
    } catch {
      return;
    }
    for (const listener of listeners) listener(message);
  });
  return {
    request: () => { if (!stopped && child.stdin.writable) child.stdin.write('scan\n'); },
    onScan: (listener) => { listeners.push(listener); },
    stop: () => {
      stopped = true;
      child.stdin.end();
      child.kill('SIGKILL');
    },
  };
}

/** uid → user name, from /etc/passwd. */
export function userNames(passwd = '/etc/passwd'): Map<number, string> {
  const names = new Map<number, string>();
  let text = '';
  try {
    text = fs.readFileSync(passwd, 'utf8');
  } catch {
    return names;
  }
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name !== undefined && uid !== undefined && /^\d+$/.test(uid) && !names.has(Number(uid))) names.set(Number(uid), escapeControls(name, 32));
  }
  return names;
}
