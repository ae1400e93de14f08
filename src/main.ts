/**
 * Wires wiretop together: command line → config → capture source → output. Every outside
 * effect (the capture, stdout/stderr, signals) comes in through `RunEnvironment`, so the whole
 * program runs in a test with fakes.
 */
import { parseCommandLine, isHelpRequest, type CliOptions, type OutputMode } from './cli';
import { loadConfig, type Config } from './config';
import { WiretopError } from './errors';
import { WorkerCapture, type CaptureSource } from './capture/captureSource';
import type { CaptureRequest, CaptureSourceSpec } from './capture/messages';
import { AlertMonitor } from './alerts/monitor';
import { NdjsonSink } from './sinks/ndjson';
import { TextSink } from './sinks/text';
import type { Session } from './session';
import { loadPlugins } from './stats/plugins';
import type { StatModule } from './stats/statModule';
import { StatsStore } from './stats/store';
import { ReportSink } from './sinks/report';
import type { Sink } from './sinks/sink';

/** The outside world as wiretop sees it. */
export interface RunEnvironment {
  writeOut(text: string): void;
  writeErr(text: string): void;
  createCapture(request: CaptureRequest): CaptureSource;
  /** Calls `handler` on SIGINT, SIGTERM or SIGHUP (and on a closed stdout); returns an unsubscribe. */
  onInterrupt(handler: () => void): () => void;
}

/** The BPF filter of a port list: `tcp port 80 or tcp port 8080`. */
export function portFilter(ports: number[]): string {
  return ports.map((p) => `tcp port ${p}`).join(' or ');
}

/** What the options say to capture from. */
export function sourceSpec(options: CliOptions, headless: boolean): CaptureSourceSpec {
  const speed = options.speed ?? (headless ? 0 : 1);
  if (options.demo) return { kind: 'demo', seed: 1, speed: options.speed ?? 1 };
  if (options.read !== undefined) {
    return { kind: 'file', path: options.read, filter: options.filter ?? '', ports: options.portsGiven ? options.ports : null, speed };
  }
  return { kind: 'live', iface: options.iface ?? '', filter: options.filter ?? portFilter(options.ports) };
}

function sourceName(spec: CaptureSourceSpec): string {
  switch (spec.kind) {
    case 'demo': return 'demo';
    case 'file': return spec.path === '-' ? 'stdin' : spec.path;
    case 'live': return spec.iface === '' ? 'default interface' : spec.iface;
  }
}

function createSink(mode: OutputMode, session: Session, env: RunEnvironment): Sink {
  const write = (text: string) => env.writeOut(text);
  switch (mode) {
    case 'text':
      return new TextSink(session, write);
    case 'ndjson':
      return new NdjsonSink(write);
    case 'report':
    case 'report-json':
      return new ReportSink(session, mode === 'report' ? 'text' : 'json', write);
  }
}

/** Runs wiretop with `argv` (no node/script); resolves to the exit status. */
export async function run(argv: string[], env: RunEnvironment): Promise<number> {
  let options: CliOptions;
  let config: Config;
  let plugins: StatModule[];
  try {
    options = parseCommandLine(argv);
    if (isHelpRequest(argv)) return 0;
    config = loadConfig(options.configPath, options.configOverrides);
    config.plugins = [...config.plugins, ...options.plugins];
    plugins = loadPlugins(config);
  } catch (error) {
    return reportError(error, env);
  }
  const mode: OutputMode = options.mode ?? 'report';
  const spec = sourceSpec(options, true);
  const store = new StatsStore(config, plugins);
  const session: Session = { config, source: sourceName(spec), store, monitor: new AlertMonitor(store, config), captureStats: null };
  const sink = createSink(mode, session, env);
  const capture = env.createCapture({ source: spec, maxStrLength: config.max_str_length, timeout: config.timeout });
  let dataNow = -Infinity;

  return new Promise<number>((resolve) => {
    let settled = false;
    let stopping = false;
    const unsubscribe = env.onInterrupt(() => {
      if (stopping) return;
      stopping = true;
      void capture.stop();
    });
    const settle = (code: number) => {
      if (settled) return;
      settled = true;
      unsubscribe();
      session.monitor.stop();
      resolve(code);
    };
    capture.start({
      onReady: (source) => {
        // As tcpdump does: say on stderr where a live capture listens (stdout stays data only).
        if (spec.kind === 'live') env.writeErr(`wiretop: listening on ${source}, filter "${spec.filter}"\n`);
      },
      onEvents: (events, watermark) => {
        store.ingest(events);
        sink.onEvents(events);
        // Seconds before the watermark will get no more transactions (but stragglers): close them.
        store.advanceTo(watermark);
      },
      onStats: (stats, now, watermark) => {
        session.captureStats = stats;
        dataNow = Math.max(dataNow, now);
        store.advanceTo(watermark);
      },
      onEnd: () => {
        // The input is over: close its last second too.
        const end = Math.max(dataNow, store.latestEventTs);
        if (end > -Infinity) store.advanceTo(Math.floor(end) + 1);
        sink.finish();
        void capture.stop().then(() => settle(0));
      },
      onError: (error) => {
        void capture.stop().then(() => settle(reportError(error, env)));
      },
    });
  });
}

function reportError(error: unknown, env: RunEnvironment): number {
  const message = error instanceof WiretopError ? error.message : `unexpected error: ${(error as Error).stack ?? String(error)}`;
  env.writeErr(`wiretop: ${message}\n`);
  return 1;
}

/** The real process: stdout/stderr, the worker capture, POSIX signals. */
export function runFromProcess(): void {
  const env: RunEnvironment = {
    writeOut: (text) => { process.stdout.write(text); },
    writeErr: (text) => { process.stderr.write(text); },
    createCapture: (request) => new WorkerCapture(request),
    onInterrupt: (handler) => {
      const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
      const onEpipe = (error: NodeJS.ErrnoException) => { if (error.code === 'EPIPE') handler(); };
      for (const signal of signals) process.on(signal, handler);
      process.stdout.on('error', onEpipe);
      return () => {
        for (const signal of signals) process.off(signal, handler);
      };
    },
  };
  run(process.argv.slice(2), env).then((code) => {
    process.exitCode = code;
    // For `npm run bench`: peak memory of the whole process, worker included.
    if (process.env.WIRETOP_PRINT_RUSAGE === '1') process.stderr.write(`rusage ${JSON.stringify(process.resourceUsage())}\n`);
  }, (error: unknown) => {
    process.stderr.write(`wiretop: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
