/**
 * The real process as a run's environment — stdout and stderr, the capture in a worker
 * thread, POSIX signals, the machine's clock — and how the process ends once the run has.
 */
import { heapPeakIfAsked } from '../platform/heapPeak';
import { WorkerCapture } from '../capture/captureSource';
import { ShardedCapture } from '../capture/shardedCapture';
import { InlineCapture } from '../capture/inlineCapture';
import { dropPrivileges } from '../platform/privileges';
import { systemClock } from './clock';
import type { RunEnvironment } from './environment';
import { FORCED_EXIT } from './lifecycle';
import { processSignals } from './signals';
import { startWatchdog, type Watchdog } from './watchdog';

/** How long giving up privileges waits for the watchdog thread to have read its code, at most. */
const WATCHDOG_LOAD_MS = 5000;

/** The process wiretop runs in. */
export class ProcessEnvironment {
  readonly env: RunEnvironment;
  private readonly captures: Array<WorkerCapture | ShardedCapture | InlineCapture> = [];
  /** A write error on stdout other than a closed pipe (a full disk, an I/O error): the run stops and says so. */
  private outputError: NodeJS.ErrnoException | null = null;
  private watchdog: Watchdog | null = null;
  /** For `npm run bench`: the main thread's heap peak (WIRETOP_PRINT_RUSAGE=1). */
  private readonly heapPeak = heapPeakIfAsked();

  constructor() {
    this.env = {
      isTTY: process.stdout.isTTY === true,
      env: process.env,
      // Privileges go only once the watchdog thread has read its code: the account given up to may not read wiretop's files.
      dropPrivileges: (user) => {
        this.watchdog?.waitLoaded(WATCHDOG_LOAD_MS);
        return dropPrivileges(user);
      },
      clock: systemClock,
      writeOut: (text) => process.stdout.write(text),
      onOutputDrained: (listener) => { process.stdout.once('drain', listener); },
      writeErr: (text) => { process.stderr.write(text); },
      createCapture: (request) => {
        const capture = (request.workers ?? 1) > 1 ? new ShardedCapture(request, request.workers!)
          : request.onMainThread === true ? new InlineCapture(request) : new WorkerCapture(request);
        this.captures.push(capture);
        return capture;
      },
      ...processSignals((error) => { this.outputError = error; }),
    };
  }

  /**
   * Guards the process against what no run can catch: a fault nobody caught gives the terminal
   * back (`restoreTerminal`) before its one line and exit 1; a main thread stuck for good (a
   * plug-in in an endless loop) can no longer be stopped by a signal, so a watchdog thread ends
   * the process then, terminal first.
   */
  guard(restoreTerminal: () => void): void {
    const fatal = (error: unknown) => {
      restoreTerminal();
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`wiretop: unexpected error: ${message}${process.env.WIRETOP_DEBUG === '1' && error instanceof Error ? `\n${error.stack}` : ' (WIRETOP_DEBUG=1 shows where)'}\n`);
      process.exit(1);
    };
    process.on('uncaughtException', fatal);
    this.watchdog = startWatchdog();
    process.on('unhandledRejection', fatal);
  }

  /** The run ended with `result`: the process's exit status (a failed stdout makes a clean run's 1, said in a line). */
  ended(result: number): void {
    let code = result;
    const outputError = this.outputError;
    if (outputError !== null && code === 0) {
      const reason = outputError.message.replace(/^[A-Z]+: /, '').replace(/, write$/, '');
      process.stderr.write(`wiretop: cannot write the output: ${reason}${outputError.code !== undefined ? ` (${outputError.code})` : ''}\n`);
      code = 1;
    }
    process.exitCode = code;
    // Forced by a second interrupt: the capture may still hold the process (a stalled pipe); leave now.
    if (code === FORCED_EXIT) void this.forcedExit(code);
    // For `npm run bench`: peak memory of the whole process, worker included.
    if (process.env.WIRETOP_PRINT_RUSAGE === '1') process.stderr.write(`${this.heapPeak?.finish('main') ?? ''}rusage ${JSON.stringify(process.resourceUsage())}\n`);
  }

  /** The run itself failed (a bug): one line, exit 1. */
  failed(error: unknown): void {
    process.stderr.write(`wiretop: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }

  /**
   * Ends the process after a second interrupt (the terminal is back, the line written): the
   * capture worker is terminated; if its thread is blocked in a read (a stalled pipe) that nothing
   * in the process can interrupt, and process.exit would wait for it, the process kills itself.
   * The second it waits is wall time: how long a thread takes to end is the machine's, not the data's.
   */
  private async forcedExit(code: number): Promise<void> {
    const ended = await Promise.all(this.captures.map((capture) => capture.abandon(1000)));
    if (ended.every(Boolean)) process.exit(code);
    process.kill(process.pid, 'SIGKILL');
  }
}
