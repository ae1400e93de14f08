/**
 * `--tui`: the full-screen dashboard as an output. It opens the screen, keeps it until the user
 * quits (after the end of a file too), restores the terminal, and returns the one-line summary
 * printed afterwards.
 */
import * as blessed from 'blessed';
import { dashboardQuitLine } from '../run/endLines';
import type { Clock } from '../run/clock';
import type { RunView } from '../run/runState';
import type { HttpEvent } from '../types';
import { Dashboard } from '../../widgets/dashboard';
import type { Sink } from '../run/sink';
import { holdTerminal, startTerminalKeeper } from './terminalGuard';
import { terminalFor } from './tuiTerminal';

/** What the dashboard output needs from outside. */
export interface TuiOutside {
  /** TERM and NO_COLOR. */
  env: NodeJS.ProcessEnv;
  /** Wall time, for the redraw's pace: the run's clock. */
  clock: Clock;
  /** The screen to draw on; a real terminal's when not given. */
  screen?: blessed.Widgets.Screen;
}

/** Runs the dashboard over a run. */
export class TuiSink implements Sink {
  readonly interactive = true;
  private readonly screen: blessed.Widgets.Screen;
  readonly dashboard: Dashboard;
  private readonly releaseTerminal: () => void;

  constructor(private readonly run: RunView, onQuit: () => void, { env, clock, screen }: TuiOutside) {
    // Started before the screen changes the terminal's modes, which it records.
    const stopKeeper = screen === undefined ? startTerminalKeeper() : () => undefined;
    this.screen = screen ?? blessed.screen({
      smartCSR: true,
      fullUnicode: true,
      title: 'wiretop',
      terminal: terminalFor(env.TERM),
      warnings: false,
      dockBorders: false,
    });
    const colors = (this.screen as unknown as { tput?: { colors?: number } }).tput?.colors ?? 8;
    const color = env.NO_COLOR === undefined && colors >= 8;
    const screenInUse = this.screen;
    const unhold = holdTerminal(() => {
      screenInUse.destroy();
      stopKeeper();
    });
    this.releaseTerminal = () => {
      unhold();
      stopKeeper();
    };
    const program = (this.screen as unknown as { program?: { output?: NodeJS.WritableStream } }).program;
    const writeToTerminal = (sequence: string) => { program?.output?.write(sequence); };
    this.dashboard = new Dashboard({ run, screen: this.screen, onQuit, color, clock, writeToTerminal });
    this.dashboard.render();
  }

  onEvents(events: readonly HttpEvent[]): void {
    this.dashboard.observe(events);
  }

  onCaptureStats(): void {
    this.dashboard.onCaptureStats();
  }

  finish(): void {
    this.dashboard.scheduler.renderNow();
  }

  /** Restores the terminal; returns the summary line to print. */
  close(): string {
    this.dashboard.destroy();
    this.screen.destroy();
    this.releaseTerminal();
    return dashboardQuitLine(this.run);
  }
}
