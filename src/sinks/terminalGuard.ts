/**
 * Gives the terminal back on every way out. The dashboard registers how to restore the
 * terminal while it holds it; a fatal error (an uncaught exception, a rejected promise nobody
 * awaited) or a forced exit calls `restoreTerminal` before the one-line message, so the shell
 * is never left in raw mode on the alternate screen.
 */

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
