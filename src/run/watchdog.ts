/**
 * The main thread's watchdog, in a thread of its own. The main thread counts a heartbeat
 * four times a second; when it has not moved for `seconds` (a plug-in in an endless loop, a
 * runaway computation), no signal can reach wiretop's handlers any more — they run on that
 * thread. The watchdog then gives the terminal back as far as it can from there (leaves the
 * alternate screen, shows the cursor, restores the terminal's settings), says why in one
 * line, and ends the process.
 *
 * The thread is native (native/wiretop_sys.c): a Node worker for it held a JavaScript heap of
 * its own, ~9 MB of the live dashboard's peak memory. Where the native module was not built,
 * the worker below does the same job (with `stty` for the settings).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tty from 'tty';
import { isMainThread, Worker, workerData } from 'worker_threads';
import { lockDownThread, systemCalls } from '../platform/systemCalls';
import { terminalSettings } from '../platform/terminalSettings';

/** Seconds without a heartbeat before the process is ended (WIRETOP_WATCHDOG_SECONDS overrides, for tests). */
export const WATCHDOG_SECONDS = 30;

/**
 * Watches `heartbeat` (the worker watchdog). Wall time, not the data's: a stuck thread is a
 * thing of the machine, and in this thread there is no clock but its own.
 */
function watchMainThread(heartbeat: Int32Array, seconds: number, terminal: string | null): void {
  let last = Atomics.load(heartbeat, HEARTBEAT);
  let stillFor = 0;
  const timer = setInterval(() => {
    const now = Atomics.load(heartbeat, HEARTBEAT);
    if (now !== last) {
      last = now;
      stillFor = 0;
      return;
    }
    if (++stillFor < seconds) return;
    clearInterval(timer);
    endStalledProcess(seconds, terminal);
  }, 1000);
}

/** The running watchdog. */
export interface Watchdog {
  /**
   * Waits, up to `ms`, until the thread has read its code: run before privileges are dropped,
   * since the account given up to may not read wiretop's files. True once it has.
   */
  waitLoaded(ms: number): boolean;
}

/** Where the heartbeat and the thread's "code read" flag are in the shared memory. */
const HEARTBEAT = 0;
const LOADED = 1;

/** Starts the watchdog thread and the heartbeat; neither keeps the process alive. */
export function startWatchdog(seconds = Number(process.env.WIRETOP_WATCHDOG_SECONDS) || WATCHDOG_SECONDS): Watchdog {
  const calls = systemCalls();
  if (calls !== null && typeof calls.startWatchdog === 'function' && calls.startWatchdog(seconds)) {
    const beat = setInterval(() => calls.watchdogBeat(), 250);
    beat.unref();
    // Native code needs no files: nothing to wait for before the privileges go.
    return { waitLoaded: () => true };
  }
  return startWatchdogWorker(seconds);
}

/** The watchdog as a Node worker, where the native module is missing. */
function startWatchdogWorker(seconds: number): Watchdog {
  const shared = new Int32Array(new SharedArrayBuffer(8));
  // Tests run the TypeScript sources; the thread runs the compiled file.
  const script = __filename.endsWith('.ts') ? path.resolve(__dirname, '../../dist/src/run/watchdog.js') : __filename;
  // Taken now, before the dashboard changes them, as the native thread takes them (tcgetattr).
  const worker = new Worker(script, { workerData: { heartbeat: shared.buffer, seconds, terminal: tty.isatty(0) ? terminalSettings(0) : null }, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 } });
  worker.unref();
  const beat = setInterval(() => Atomics.add(shared, HEARTBEAT, 1), 250);
  beat.unref();
  return {
    waitLoaded: (ms) => Atomics.wait(shared, LOADED, 0, ms) !== 'timed-out',
  };
}

// Loaded as the watchdog thread.
if (!isMainThread && (workerData as { heartbeat?: unknown } | null)?.heartbeat instanceof SharedArrayBuffer) {
  const { heartbeat, seconds, terminal } = workerData as { heartbeat: SharedArrayBuffer; seconds: number; terminal: string | null };
  lockDownThread();
  const shared = new Int32Array(heartbeat);
  // Every module this thread needs is loaded now: the main thread may give up its privileges.
  Atomics.store(shared, LOADED, 1);
  Atomics.notify(shared, LOADED);
  watchMainThread(shared, seconds, terminal);
}

/**
 * `terminal`: the settings to put back (`stty -g`), taken when the watchdog started. Put back
 * before the process ends, not left to the dashboard's keeper process alone (sinks/
 * terminalGuard): that one restores them once the process is gone, while the shell may already
 * be reading them. `stty sane` when they could not be taken.
 */
function endStalledProcess(seconds: number, terminal: string | null): void {
  try {
    if (tty.isatty(1)) fs.writeSync(1, '\x1b[?1049l\x1b[?25h\x1b[0m');
    // SIGKILL at the timeout: an stty stopped by SIGTTOU (wiretop a background job) never sees SIGTERM.
    if (tty.isatty(0)) execFileSync('stty', [terminal ?? 'sane'], { stdio: [0, 'ignore', 'ignore'], timeout: 2000, killSignal: 'SIGKILL' });
  } catch {
    // Best effort: the line and the exit below matter more.
  }
  try {
    fs.writeSync(2, `wiretop: the main thread has not answered for ${seconds} s (a plug-in in an endless loop?): stopping\n`);
  } finally {
    process.kill(process.pid, 'SIGKILL');
  }
}
