/**
 * What a run says as it goes, outside its output: where a live capture listens, that a plug-in
 * was disabled, that a second interrupt forced the end, the lines that end a run, and the one
 * line of an error. stdout stays data only: everything here but the output's own closing line
 * goes to stderr, as tcpdump does. The dashboard says these things on screen instead.
 */
import type { CaptureSourceSpec } from '../capture/messages';
import { WiretopError } from '../errors';
import { exporterEndLine, interfaceLabel, liveCaptureSummary } from './endLines';
import type { RunEnvironment } from './environment';
import type { RunView } from './runState';
import { sourceName } from './sourceChoice';

/** What the output is, as far as the run's messages care. */
export interface OutputKind {
  /** The dashboard: it shows on screen what a headless run says on stderr. */
  interactive: boolean;
  /** --ndjson or --text: a headless live capture ends with a tcpdump-like summary. */
  streams: boolean;
  /** --metrics alone: where the exporter served, for its end line; null otherwise. */
  exporter: { host: string; port: number } | null;
}

/** Writes `error` as one line on stderr; returns the exit status, 1. */
export function reportError(error: unknown, writeErr: (text: string) => void): number {
  const message = error instanceof WiretopError ? error.message : `unexpected error: ${(error as Error).stack ?? String(error)}`;
  writeErr(`wiretop: ${message}\n`);
  return 1;
}

/** The messages of one run. */
export class RunMessages {
  /** How the messages name where the capture listens: the source until it is open, then (live) the interface it chose. */
  listeningOn: string;

  constructor(
    private readonly out: Pick<RunEnvironment, 'writeOut' | 'writeErr'>,
    private readonly run: RunView,
    private readonly spec: CaptureSourceSpec,
    private readonly output: OutputKind,
  ) {
    this.listeningOn = sourceName(spec);
  }

  private get headlessLive(): boolean {
    return this.spec.kind === 'live' && !this.output.interactive;
  }

  /** The capture is open on `source`. */
  ready(source: string): void {
    const spec = this.spec;
    this.listeningOn = spec.kind === 'live' ? interfaceLabel(source, spec.iface === '') : source;
    // As tcpdump does: say on stderr where a live capture listens (stdout stays data only).
    if (spec.kind === 'live' && !this.output.interactive) this.out.writeErr(`wiretop: listening on ${this.listeningOn}, filter "${spec.filter}"\n`);
  }

  /** Root was given up once the capture was open (`dropped`: the line that says so, if any). */
  privilegesDropped(dropped: string | null | undefined): void {
    // A live capture is where root was asked for: say, as tcpdump does, on stderr, before the
    // dashboard takes the screen, that it is given up. Files and the demo drop it quietly.
    if (dropped && this.spec.kind === 'live') this.out.writeErr(`${dropped}\n`);
  }

  /** A plug-in threw and is disabled: said once (the dashboard says it on screen). */
  pluginFailed(failure: { name: string; method: string; message: string }): void {
    if (!this.output.interactive) this.out.writeErr(`wiretop: plug-in ${failure.name} failed in ${failure.method}(): ${failure.message}; it is disabled for the rest of the run\n`);
  }

  /** The run ended without error; `closingLine` is what the output prints after the terminal is back. */
  finished(closingLine: string | undefined): void {
    if (closingLine !== undefined) this.out.writeOut(closingLine);
    // As tcpdump does after a live capture: what was captured and what was lost, on stderr.
    if (this.headlessLive && this.output.streams) this.out.writeErr(liveCaptureSummary(this.run, this.listeningOn));
    // The exporter alone prints nothing else: say that it stopped, and what it had captured.
    if (this.output.exporter !== null) this.out.writeErr(exporterEndLine(this.run, this.output.exporter, this.listeningOn, this.spec.kind === 'live'));
  }

  /** A second interrupt ended the run at once. */
  forced(): void {
    this.out.writeErr('wiretop: stopped at once (second interrupt): the capture\'s last transactions are not counted\n');
  }

  /** The run failed: one line; returns the exit status. */
  failed(error: unknown): number {
    return reportError(error, (text) => this.out.writeErr(text));
  }
}
