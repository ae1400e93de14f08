/**
 * A run from the capture's start to the exit status, as named phases:
 *
 *   starting  the capture opens; nothing is on screen yet, so a capture error (no permission,
 *             no such interface) is one line on a terminal left as it was
 *   running   transactions flow into the run's state and the output; the dashboard stays
 *             here after the end of a file, until the user quits
 *   draining  a stop was asked (q, a signal): the capture hands over its last transactions
 *   stopping  the capture has ended: the output finishes, and the terminal is given back
 *   done      the exit status is known; the summary or the error line has been written
 *
 * Every event (ready, transactions, end of input, error, quit) is taken in one place, whatever
 * the phase, so a quit during the start, an error while draining or a second signal each
 * have one defined outcome. A second quit while draining or stopping forces the end: the
 * terminal is given back at once and the run ends with status 130, without waiting for the
 * capture (a hung source, a stalled pipe).
 */
import type { CaptureListener, CaptureSource } from '../capture/captureSource';
import type { TransactionFilter } from '../filter/filter';
import type { HttpEvent, TlsConnection } from '../types';
import type { Sink } from './sink';
import type { RunState } from './runState';

/** The exit status of a run ended by a second interrupt (as shells report SIGINT). */
export const FORCED_EXIT = 130;

export type RunPhase = 'starting' | 'running' | 'draining' | 'stopping' | 'done';

/** The phases each phase may move to. */
const NEXT: Record<RunPhase, readonly RunPhase[]> = {
  starting: ['running', 'draining', 'stopping'],
  running: ['draining', 'stopping'],
  draining: ['stopping'],
  stopping: ['done'],
  done: [],
};

/** What a run is made of, and how it talks to the outside. */
export interface LifecycleParts {
  capture: CaptureSource;
  state: RunState;
  /** Opens the output; may throw (a terminal that cannot be used). */
  openSink(): Sink;
  /** The dashboard opens only once the capture is ready; headless outputs open at once. */
  sinkWaitsForCapture: boolean;
  /** The output keeps statistics (all but --ndjson, which shows none). */
  keepsStatistics: boolean;
  /** `--where` of a headless run: only what it matches reaches the state and the output (TLS connection records: see TransactionFilter.matchesConnection). */
  where?: TransactionFilter | null;
  /**
   * What of each batch is new (--persist: the first transactions of an input read before were
   * counted then, and are skipped); applied before `where`. Null: all of it.
   */
  admit?: { events(all: readonly HttpEvent[]): readonly HttpEvent[]; tls(all: readonly TlsConnection[]): readonly TlsConnection[] } | null;
  /** A stop was asked before the input's end: told before the capture hands over its last transactions. */
  onStopBeforeEnd?(): void;
  /** Adds what the capture cannot know to each new transaction (--processes: its program), before `where` sees it. */
  annotate?: ((events: readonly HttpEvent[]) => void) | null;
  /** The capture is open: give up what only opening it needed (root). May throw: the run then fails. */
  secure?(): void;
  /** After each capture-health update: a fault that ends the run (an interface down too long), or null. */
  healthFault?(): Error | null;
  /** The capture is ready: say so (on stderr for a headless live capture). */
  onReady(source: string): void;
  /** The run ended without error: `closingLine` is what the output prints after the terminal is back. */
  onFinished(closingLine: string | undefined): void;
  /** The run failed: report the error; returns the exit status. */
  onFailed(error: unknown): number;
  /** A second quit forced the end: say so (the capture's last transactions are not counted). */
  onForced(): void;
  /** Tells tests and debugging which phase the run entered. */
  onPhase?(phase: RunPhase): void;
}

/** One run. */
export class RunLifecycle {
  private current: RunPhase = 'starting';
  private sink: Sink | null = null;
  private inputEnded = false;
  private sinkClosed = false;
  private resolveExit: (code: number) => void = () => undefined;

  constructor(private readonly parts: LifecycleParts) {}

  get phase(): RunPhase {
    return this.current;
  }

  /** Starts the capture; resolves to the exit status. */
  start(): Promise<number> {
    const exit = new Promise<number>((resolve) => { this.resolveExit = resolve; });
    this.parts.onPhase?.('starting');
    if (!this.parts.sinkWaitsForCapture && !this.openSink()) return exit;
    this.parts.capture.start(this.listener());
    return exit;
  }

  /** q, Ctrl-C, a signal, a closed stdout: stop the capture, keep what it hands over. */
  quit(): void {
    if (this.current === 'draining' || this.current === 'stopping') {
      this.force();
      return;
    }
    if (this.current !== 'starting' && this.current !== 'running') return;
    if (this.inputEnded) {
      // Nothing more will come: no need to drain.
      this.stopWith(0);
      return;
    }
    this.parts.onStopBeforeEnd?.();
    this.enter('draining');
    // The capture ends with its last transactions; should it stop without saying so, end anyway.
    void this.parts.capture.stop().then(() => this.inputOver());
  }

  /** Ends the run now, without waiting for the capture. */
  private force(): void {
    if (this.current === 'draining') this.enter('stopping');
    this.closeSink();
    this.enter('done');
    this.parts.onForced();
    this.resolveExit(FORCED_EXIT);
  }

  /** Gives the terminal back (once); returns the output's closing line. */
  private closeSink(): string | undefined {
    if (this.sinkClosed) return undefined;
    this.sinkClosed = true;
    return this.sink?.close?.();
  }

  /** Stops the run (the output failed): like a first quit, never forced. */
  stop(): void {
    if (this.current === 'starting' || this.current === 'running') this.quit();
  }

  /** The input is over (end of file, or the capture stopped): close its last second and finish the output. */
  private inputOver(): void {
    if (this.inputEnded || this.current === 'stopping' || this.current === 'done') return;
    this.inputEnded = true;
    this.parts.state.end();
    this.sink?.finish();
    // The dashboard stays until the user quits; other outputs are done.
    if (this.current === 'running' && this.sink?.interactive === true) return;
    this.stopWith(0);
  }

  private listener(): CaptureListener {
    const { state, keepsStatistics } = this.parts;
    const where = this.parts.where ?? null;
    const admit = this.parts.admit ?? null;
    const annotate = this.parts.annotate ?? null;
    return {
      onReady: (source) => {
        if (this.current !== 'starting') return;
        try {
          this.parts.secure?.();
        } catch (error) {
          this.stopWith(1, error);
          return;
        }
        if (!this.openSink()) return;
        this.enter('running');
        this.parts.onReady(source);
      },
      onEvents: (batch, watermark) => {
        if (this.current === 'stopping' || this.current === 'done') return;
        annotate?.(batch);
        const events = where === null ? batch : batch.filter(where.matches);
        if (keepsStatistics) {
          // What the statistics counted before (--persist) is not counted again; the outputs see every transaction.
          const counted = admit === null ? batch : admit.events(batch);
          state.ingest(counted === batch ? events : where === null ? counted : counted.filter(where.matches));
        }
        this.sink?.onEvents(events);
        // Seconds before the watermark will get no more transactions (but stragglers): close them.
        if (keepsStatistics) state.advanceTo(watermark);
      },
      onTls: (batch) => {
        if (this.current === 'stopping' || this.current === 'done') return;
        const connections = where === null ? batch : batch.filter(where.matchesConnection);
        if (keepsStatistics) {
          const counted = admit === null ? batch : admit.tls(batch);
          const taken = counted === batch ? connections : where === null ? counted : counted.filter(where.matchesConnection);
          if (taken.length > 0) state.ingestTls(taken);
        }
        if (connections.length > 0) this.sink?.onTls?.(connections);
      },
      onStats: (stats, now, watermark, detail) => {
        if (this.current === 'stopping' || this.current === 'done') return;
        state.updateCapture(stats, now, detail?.workers);
        if (keepsStatistics) state.advanceTo(watermark);
        this.sink?.onCaptureStats?.();
        const fault = this.parts.healthFault?.() ?? null;
        if (fault !== null) this.stopWith(1, fault);
      },
      onEnd: () => this.inputOver(),
      onError: (error) => this.stopWith(1, error),
    };
  }

  /** Opens the output; on failure the run stops with the error. */
  private openSink(): boolean {
    if (this.sink !== null) return true;
    try {
      this.sink = this.parts.openSink();
      return true;
    } catch (error) {
      this.stopWith(1, error);
      return false;
    }
  }

  /** Ends the run: the capture is released, then the terminal given back, then the line printed. */
  private stopWith(code: number, error?: unknown): void {
    if (this.current === 'stopping' || this.current === 'done') return;
    this.enter('stopping');
    void this.parts.capture.stop().then(() => {
      if (this.current === 'done') return; // forced meanwhile
      const line = this.closeSink();
      this.enter('done');
      if (error !== undefined) {
        this.resolveExit(this.parts.onFailed(error));
        return;
      }
      this.parts.onFinished(line);
      this.resolveExit(code);
    });
  }

  private enter(next: RunPhase): void {
    if (!NEXT[this.current].includes(next)) throw new Error(`run: no way from ${this.current} to ${next}`);
    this.current = next;
    this.parts.onPhase?.(next);
  }
}
