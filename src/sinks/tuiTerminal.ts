/**
 * Whether the dashboard can run on this terminal, and as which terminal blessed should draw it:
 * apart from the dashboard itself, so that a run that only asks (every headless run) does not
 * load it.
 */

/** The terminal blessed should assume for a TERM value. */
export function terminalFor(term: string | undefined): string {
  if (term === undefined || term === '') return 'xterm';
  // blessed 0.1.81 cannot parse ncurses 6 terminfo entries (tmux-256color, screen-256color):
  // they lose colours or print "Error on screen-256color.plab_norm". xterm's entries fit.
  if (term.endsWith('-256color')) return 'xterm-256color';
  if (/^(screen|tmux)/.test(term)) return 'xterm';
  return term;
}

/** Why the dashboard cannot run here, or null when it can. */
export function tuiUnavailable(isTTY: boolean, term: string | undefined): string | null {
  if (!isTTY) return 'stdout is not a terminal';
  if (term === undefined || term === '' || term === 'dumb') return `TERM=${term ?? ''} cannot show a dashboard`;
  return null;
}
