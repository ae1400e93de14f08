/** Drives wiretop in a real terminal emulator (tmux): send keys, read the screen. */
import { spawnSync } from 'child_process';

const SOCKET = 'wiretop-test';

function tmux(...args: string[]): string {
  const result = spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** Is tmux installed? */
export function tmuxAvailable(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}

let sessions = 0;

/** One tmux window running a shell command. */
export class TmuxSession {
  readonly name = `w${process.pid}-${++sessions}`;

  /** Starts `command` in a `columns` × `rows` terminal; the shell prints EXIT=<status> after it. */
  constructor(command: string, columns: number, rows: number, term = 'xterm-256color') {
    tmux('new-session', '-d', '-s', this.name, '-x', String(columns), '-y', String(rows),
      `export TERM=${term}; ${command}; echo "EXIT=$?"; sleep 600`);
  }

  /** The screen's text (box borders come out as ACS letters: match text, not borders). */
  screen(): string {
    return tmux('capture-pane', '-p', '-t', this.name);
  }

  keys(...keys: string[]): void {
    tmux('send-keys', '-t', this.name, ...keys);
  }

  /** Waits until the screen matches `pattern`; throws with the last screen after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 20000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < deadline) {
      text = this.screen();
      if (pattern.test(text)) return text;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    throw new Error(`screen never matched ${pattern}:\n${text}`);
  }

  /** Resizes the terminal (the program sees SIGWINCH). */
  resize(columns: number, rows: number): void {
    tmux('resize-window', '-t', this.name, '-x', String(columns), '-y', String(rows));
  }

  /** A tmux format about the pane (`#{alternate_on}`, `#{pane_pid}`, `#{pane_tty}`). */
  display(format: string): string {
    return tmux('display', '-p', '-t', this.name, format).trim();
  }

  /** Lets programs set tmux's clipboard with OSC 52 (tmux then keeps it as its newest paste buffer). */
  acceptClipboard(): void {
    tmux('set-option', '-s', 'set-clipboard', 'on');
  }

  /** tmux's newest paste buffer ('' when there is none). */
  pasteBuffer(): string {
    const result = spawnSync('tmux', ['-L', SOCKET, 'show-buffer'], { encoding: 'utf8' });
    return result.status === 0 ? result.stdout : '';
  }

  kill(): void {
    try { tmux('kill-session', '-t', this.name); } catch { /* already gone */ }
  }
}
