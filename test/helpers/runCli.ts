/** Runs the built `wiretop` command as a user would, and collects what it prints. */
import { spawn, type SpawnOptions } from 'child_process';
import * as path from 'path';
import { repoRoot } from './corpus';

export const WIRETOP = path.join(repoRoot(), 'bin/wiretop');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs wiretop with `args`; `input` goes to its stdin; killed after `timeoutMs`. */
export function runWiretop(args: string[], options: { input?: Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const spawnOptions: SpawnOptions = { env: { ...process.env, ...options.env } };
    const child = spawn(process.execPath, [WIRETOP, ...args], spawnOptions);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
    if (options.input) child.stdin!.end(options.input);
    else child.stdin!.end();
  });
}
