/**
 * Runs the built `wiretop` command as a user would, and collects what it prints: to the end
 * (`runWiretop`), or while it runs, for tests that signal it or read its output as it streams
 * (`startWiretop`). `startProcess` / `runProcess` do the same for any other command the tests
 * run beside it (curl, prometheus, a shell pipeline).
 */
import { spawn, type ChildProcess } from 'child_process';
import * as path from 'path';
import { repoRoot } from './corpus';

export const WIRETOP = path.join(repoRoot(), 'bin/wiretop');

/** What a process has printed so far. */
export interface CliOutput {
  stdout: string;
  stderr: string;
}

/** How a process ended, and all it printed. */
export interface CliResult extends CliOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliOptions {
  /** Written to stdin, which is then closed; without it stdin stays open (an idle pipe). */
  input?: Buffer | string;
  /**
   * Killed with SIGKILL after this long: a safety net for a hung process; 30 s for a run to its
   * end, 60 s (jest's test timeout) for a started process, which the test ends itself.
   */
  timeoutMs?: number;
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** An open file descriptor that takes stdout instead of a pipe (then `stdout` stays ''). */
  stdout?: number;
}

/** What the output must match: a pattern per stream (each one given must match), or a test of both. */
export type OutputMatch = Partial<Record<keyof CliOutput, RegExp>> | ((output: CliOutput) => boolean);

/** A process started by `startProcess` / `startWiretop`. */
export interface RunningCli {
  child: ChildProcess;
  /** What it has printed so far. */
  output(): CliOutput;
  /** Resolves once it has exited and its pipes are drained. */
  exited: Promise<CliResult>;
  /**
   * Resolves with the output once it matches (at once if it already does); rejects, naming what
   * it waited for and what was printed, after `timeoutMs` (15 s by default) or when the process
   * exits first.
   */
  waitFor(match: OutputMatch, timeoutMs?: number): Promise<CliOutput>;
}

const RUN_TIMEOUT_MS = 30000;
const STARTED_TIMEOUT_MS = 60000;
const DEFAULT_WAIT_MS = 15000;

function matches(match: OutputMatch, output: CliOutput): boolean {
  if (typeof match === 'function') return match(output);
  return (Object.keys(match) as Array<keyof CliOutput>).every((stream) => match[stream]!.test(output[stream]));
}

/** Starts `command` with `args`, collecting what it prints. */
export function startProcess(command: string, args: string[], options: CliOptions = {}): RunningCli {
  const child = spawn(command, args, { env: { ...process.env, ...options.env }, stdio: ['pipe', options.stdout ?? 'pipe', 'pipe'] });
  const output: CliOutput = { stdout: '', stderr: '' };
  let ended = false;
  const waiters = new Set<() => void>();
  const changed = () => waiters.forEach((check) => check());
  child.stdout?.on('data', (chunk: Buffer) => { output.stdout += chunk.toString(); changed(); });
  child.stderr!.on('data', (chunk: Buffer) => { output.stderr += chunk.toString(); changed(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? STARTED_TIMEOUT_MS);
  const exited = new Promise<CliResult>((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setImmediate(() => {
        ended = true;
        changed();
        resolve({ code, signal, ...output });
      });
    });
  });
  // A test that writes nothing leaves stdin open, as a terminal would; an ended pipe's EPIPE is not the test's.
  child.stdin!.on('error', () => undefined);
  if (options.input !== undefined) child.stdin!.end(options.input);

  const waitFor = (match: OutputMatch, timeoutMs = DEFAULT_WAIT_MS) => new Promise<CliOutput>((resolve, reject) => {
    const describe = (why: string) => new Error(`${why} waiting for ${typeof match === 'function' ? match.toString() : JSON.stringify(Object.fromEntries(Object.entries(match).map(([k, v]) => [k, String(v)])))}\nstdout: ${output.stdout.slice(-2000)}\nstderr: ${output.stderr.slice(-2000)}`);
    const settle = (done: () => void) => {
      clearTimeout(deadline);
      waiters.delete(check);
      done();
    };
    const check = () => {
      if (matches(match, output)) settle(() => resolve({ ...output }));
      else if (ended) settle(() => reject(describe('exited')));
    };
    const deadline = setTimeout(() => settle(() => reject(describe(`timed out after ${timeoutMs} ms`))), timeoutMs);
    waiters.add(check);
    check();
  });

  return { child, output: () => ({ ...output }), exited, waitFor };
}

/** Runs `command` with `args` to its end. */
export function runProcess(command: string, args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startProcess(command, args, { ...options, timeoutMs: options.timeoutMs ?? RUN_TIMEOUT_MS, input: options.input ?? '' }).exited;
}

/**
 * Node's heap flag for a run: a heap that holds the default memory budget wherever the tests
 * run (on a small machine V8's default limit would lower the budget, and wiretop would say so
 * on stderr), unless the test sets NODE_OPTIONS itself.
 */
function heapFlags(options: CliOptions): string[] {
  return (options.env ?? process.env).NODE_OPTIONS?.includes('--max-old-space-size') === true ? [] : ['--max-old-space-size=1024'];
}

/** Starts wiretop with `args`; the test signals it, reads its output as it comes, and awaits `exited`. */
export function startWiretop(args: string[], options: CliOptions = {}): RunningCli {
  return startProcess(process.execPath, [...heapFlags(options), WIRETOP, ...args], options);
}

/** Runs wiretop with `args` to its end; `input` goes to its stdin (closed, empty, without it); killed after `timeoutMs`. */
export function runWiretop(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runProcess(process.execPath, [...heapFlags(options), WIRETOP, ...args], options);
}
