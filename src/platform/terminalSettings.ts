/**
 * The terminal's settings as `stty -g` writes them, to put back later with `stty SETTINGS`:
 * what the dashboard's keeper process (sinks/terminalGuard) and the watchdog worker
 * (run/watchdog) restore when wiretop cannot.
 */
import { execFileSync } from 'child_process';

/** The settings of the terminal on `fd`, or null (not a terminal, no stty, an odd answer). */
export function terminalSettings(fd: number): string | null {
  try {
    const saved = execFileSync('stty', ['-g'], { stdio: [fd, 'pipe', 'ignore'], encoding: 'utf8', timeout: 2000 }).trim();
    return /^[0-9a-f:]+$/i.test(saved) ? saved : null;
  } catch {
    return null;
  }
}
