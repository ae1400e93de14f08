/**
 * wiretop's own small native module (native/wiretop_sys.c, built at install): no_new_privs
 * and an empty capability set for the calling thread or for every thread, which Node does not
 * offer, and the main thread's watchdog as a plain thread (see run/watchdog); its live capture
 * ring reader has its own interface (capture/packetRing). Loaded at
 * most once per thread; when it is missing (not built), the calls are simply not made.
 */
import * as fs from 'fs';
import * as path from 'path';

/** The module's calls; each returns whether the kernel took it. */
export interface SystemCalls {
  setNoNewPrivs(): boolean;
  dropCapabilities(): boolean;
  /** Both calls on every thread of the process (the capability drop when asked); how many took. */
  lockDownProcess(dropCapabilities: boolean): { threads: number; locked: number };
  /** Starts the watchdog thread (once per process): it ends the process after `seconds` without a beat. */
  startWatchdog(seconds: number): boolean;
  /** One heartbeat of the main thread. */
  watchdogBeat(): void;
  /** Marks every packet socket of the process close-on-exec; how many. */
  packetSocketsCloseOnExec(): number;
}

let loaded: SystemCalls | null | undefined;

/** The native module, or null when it was not built. */
export function systemCalls(): SystemCalls | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, 'native', 'build', 'Release', 'wiretop_sys.node');
    if (!fs.existsSync(file)) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require(file) as SystemCalls;
    } catch {
      loaded = null;
    }
    break;
  }
  return loaded;
}

/** The calling thread's effective capabilities are not empty. */
export function threadHasCapabilities(): boolean {
  try {
    return !/^CapEff:\s*0+$/m.test(fs.readFileSync('/proc/thread-self/status', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Locks the calling thread down once what needed privileges is done: no_new_privs, and — when
 * not root (a setcap'd node) — no capabilities. (As root the capabilities go with the change of
 * user, which every thread must still be able to make.) Returns what was done, as words.
 */
export function lockDownThread(): string[] {
  const calls = systemCalls();
  if (calls === null) return [];
  const done: string[] = [];
  if (calls.setNoNewPrivs()) done.push('no new privileges');
  if (process.getuid?.() !== 0 && threadHasCapabilities() && calls.dropCapabilities()) done.push('no capabilities');
  return done;
}

/**
 * Locks every thread of the process down, the runtime's helpers included (see lockDownThread
 * for what and when). Returns what was done, as words. One thread of Node's is out of reach:
 * the one that waits for SIGUSR1 to open the inspector blocks every signal; it runs no code
 * of ours, and once the privileges are gone SIGUSR1 is taken away from it (see ignoreInspectorSignal).
 */
export function lockDownProcess(): string[] {
  const calls = systemCalls();
  if (calls === null) return [];
  const dropCapabilities = process.getuid?.() !== 0 && threadHasCapabilities();
  const { threads, locked } = calls.lockDownProcess(dropCapabilities);
  if (locked === 0) return [];
  const which = locked === threads ? '' : ` in ${locked} of ${threads} threads`;
  return [dropCapabilities ? `no new privileges and no capabilities${which}` : `no new privileges${which}`];
}

/**
 * SIGUSR1 makes Node open its inspector on 127.0.0.1:9229, through which anyone who connects
 * runs code in the process and reads what it captured. Once wiretop runs as `nobody`, every
 * other process of that user could send it; a listener of our own takes the signal from Node.
 */
export function ignoreInspectorSignal(): void {
  process.on('SIGUSR1', () => undefined);
}
