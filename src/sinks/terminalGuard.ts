/**
 * Gives the terminal back on every way out. The dashboard registers how to restore the
 * terminal while it holds it; a fatal error (an uncaught exception, a rejected promise nobody
 * awaited) or a forced exit calls `restoreTerminal` before the one-line message, so the shell
 * is never left in raw mode on the alternate screen.
 */
import { spawn, type ChildProcess } from 'child_process';
import { terminalSettings } from '../platform/terminalSettings';

const restorers = new Set<() => void>();

/** Registers `restore` while the terminal is held; returns the function that unregisters it. */
export function holdTerminal(restore: () => void): () => void {
  restorers.add(restore);
  return () => { restorers.delete(restore); };
}

/** Restores the terminal of every holder (each once); never throws. */
export function restoreTerminal(): void {
  for (const restore of [...restorers]) {
    restorers.delete(restore);
    try {
      restore();
    } catch {
      // Restoring is best effort on the way out.
    }
  }
}

/** Leaves the alternate screen, shows the cursor, resets colours and mouse reporting. */
const LEAVE_SCREEN = '\\033[?1049l\\033[?25h\\033[0m\\033[?1000l\\033[?1002l\\033[?1003l\\033[?1006l\\n';

/**
 * What gives the terminal back when nothing in wiretop can: after SIGKILL (an OOM killer, a
 * `kill -9`, the watchdog's own last resort) no code of the process runs, and the shell would
 * be left on the alternate screen in raw mode. A small shell process of its own session (so
 * the terminal's signals do not reach it) holds the read end of a pipe whose write end only
 * wiretop has: when wiretop ends, however it ends, the read sees end of file, and the terminal's
 * modes as they were before the dashboard (`stty -g`, taken now) are put back and the
 * alternate screen is left. A normal exit restores the terminal itself and kills the keeper
 * first. Best effort: with no `sh` or `stty` there is no keeper.
 */
export function startTerminalKeeper(fd = 1): () => void {
  const saved = terminalSettings(fd);
  if (saved === null) return () => undefined;
  const script = [
    "trap '' INT TERM HUP QUIT TSTP TTIN TTOU",
    'while read -r _; do :; done',
    'stty "$1" <&1 2>/dev/null',
    `printf '${LEAVE_SCREEN}'`,
    "printf 'wiretop: the process was killed; the terminal is given back\\n'",
  ].join('\n');
  let keeper: ChildProcess;
  try {
    keeper = spawn('sh', ['-c', script, 'wiretop-terminal-keeper', saved], { stdio: ['pipe', fd, 'ignore'], detached: true });
  } catch {
    return () => undefined;
  }
  keeper.on('error', () => undefined);
  keeper.stdin?.on('error', () => undefined);
  keeper.unref();
  (keeper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return () => {
    try {
      keeper.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  };
}

