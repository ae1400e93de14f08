/**
 * Wires wiretop together: command line → config → capture source → output. Every outside
 * effect (the capture, stdout/stderr, signals) comes in through `RunEnvironment`, so the whole
 * program runs in a test with fakes.
 */
import { parseCommandLine, isHelpRequest, type CliOptions, type OutputMode } from './cli';
import type { Config } from './config';
import { loadConfig } from './settings';
import { WiretopError } from './errors';
import { WorkerCapture, type CaptureSource } from './capture/captureSource';
import type { CaptureRequest, CaptureSourceSpec } from './capture/messages';
import { NdjsonSink } from './sinks/ndjson';
import { TextSink } from './sinks/text';
import { TuiSink, tuiUnavailable } from './sinks/tui';
import { RunState, type RunView } from './run/runState';
import { FORCED_EXIT, RunLifecycle, type RunPhase } from './run/lifecycle';
import { restoreTerminal } from './sinks/terminalGuard';
import * as fs from 'fs';
import { NdjsonCapture, sourceNodeName } from './capture/ndjsonCapture';
import { AlertLogFile, Notifier } from './alerts/notify';
import { MetricsSink, NoOutputSink, parseListen, withMetrics } from './sinks/metrics';
import { dropPrivileges } from './platform/privileges';
import { startWatchdog } from './run/watchdog';
import { loadPlugins } from './stats/plugins';
import type { StatModule } from './stats/statModule';
import { ReportSink } from './sinks/report';
import type { Sink } from './run/sink';
import { exporterEndLine, interfaceLabel, liveCaptureSummary } from './run/endLines';
import { DEMO_PRESETS } from './capture/sources/demo/demo';

/** The outside world as wiretop sees it. */
export interface RunEnvironment {
  /** Is stdout a terminal, and the environment (TERM, NO_COLOR). */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** Makes the dashboard output (injected so tests can use a fake screen). */
  createTui?: (run: RunView, onQuit: () => void) => Sink;
  /** Writes to stdout; false when the text had to be queued (the reader is behind). */
  writeOut(text: string): boolean | void;
  /** Calls `listener` once when queued output has been written (stdout's 'drain'). */
  onOutputDrained?(listener: () => void): void;
  writeErr(text: string): void;
  createCapture(request: CaptureRequest): CaptureSource;
  /**
   * Calls `handler` on SIGINT, SIGTERM or SIGHUP, and with `output` when stdout fails (closed,
   * full); returns an unsubscribe.
   */
  onInterrupt(handler: (cause?: 'output') => void, hangupQuits?: boolean): () => void;
  /** Calls `listener` on SIGHUP (when it does not quit: a headless run with --log); returns an unsubscribe. */
  onHangup?(listener: () => void): () => void;
  /** Gives up root once the capture is open; returns the line that says so, or null. */
  dropPrivileges?(user: string): string | null;
  /** Told each phase the run enters (tests). */
  onPhase?(phase: RunPhase): void;
}

/** The BPF filter of a port list: `tcp port 80 or tcp port 8080`. */
export function portFilter(ports: number[]): string {
  return ports.map((p) => `tcp port ${p}`).join(' or ');
}

/** The snap length of a live capture that decrypts TLS: the largest packet Linux captures. */
export const KEYLOG_SNAP_LENGTH = 262_144;

/** What the options (and the config's capture settings) say to capture from. */
export function sourceSpec(options: CliOptions, headless: boolean, config: Config): CaptureSourceSpec {
  const speed = options.speed ?? (headless ? 0 : 1);
  if (options.demo) return { kind: 'demo', seed: 1, speed: options.speed ?? 1 };
  if (options.read !== undefined) {
    return { kind: 'file', path: options.read, filter: options.filter ?? '', ports: options.portsGiven ? options.ports : null, speed };
  }
  return {
    kind: 'live',
    iface: options.iface ?? '',
    filter: options.filter ?? portFilter(options.ports),
    bufferBytes: config.buffer_size * 1024 * 1024,
    // Decrypting needs whole packets: a packet cut at the snap length cuts a TLS record, and a
    // direction's decryption stops at the first record it cannot authenticate (a large
    // coalesced packet — GRO, TSO, loopback — is far over the default 8192).
    snapLength: config.keylog_file !== null ? Math.max(config.snap_length, KEYLOG_SNAP_LENGTH) : config.snap_length,
    nice: config.capture_nice,
    promiscuous: config.promiscuous,
  };
}

function sourceName(spec: CaptureSourceSpec): string {
  switch (spec.kind) {
    case 'demo': return 'demo';
    case 'file': return spec.path === '-' ? 'stdin' : spec.path;
    case 'live': return spec.iface === '' ? 'default interface' : spec.iface;
  }
}

/**
 * Does -r name wiretop --ndjson streams (to merge) rather than a capture file? Said by
 * --format; else several -r are; else a regular file whose first byte is `{`.
 */
function readsNdjson(options: CliOptions): boolean {
  if (options.format !== null) return options.format === 'ndjson';
  if (options.reads.length > 1) return true;
  const file = options.reads[0];
  if (file === undefined || file === '-') return false;
  try {
    if (!fs.statSync(file).isFile()) return false;
    const fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(64);
    const read = fs.readSync(fd, head, 0, 64, 0);
    fs.closeSync(fd);
    return head.subarray(0, read).toString('latin1').trimStart().startsWith('{');
  } catch {
    return false;
  }
}

/** How long a headless live capture waits for a downed interface to come back before it fails. */
export const INTERFACE_DOWN_GRACE_MS = 5000;

function createSink(mode: OutputMode, run: RunView, env: RunEnvironment, onQuit: () => void, write: (text: string) => void): Sink {
  switch (mode) {
    case 'tui':
      return env.createTui !== undefined ? env.createTui(run, onQuit) : new TuiSink(run, onQuit, env.env);
    case 'text':
      return new TextSink(run, write);
    case 'ndjson':
      return new NdjsonSink(write, run.config.node, run.health);
    case 'report':
    case 'report-json':
      return new ReportSink(run, mode === 'report' ? 'text' : 'json', write);
    case 'metrics':
      return new NoOutputSink();
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
    config = loadConfig(options.configPath, options.configOverrides, options.demo ? DEMO_PRESETS : {});
    config.plugins = [...config.plugins, ...options.plugins];
    plugins = loadPlugins(config);
  } catch (error) {
    return reportError(error, env);
  }
  let mode: OutputMode = options.mode ?? 'tui';
  if (mode === 'tui') {
    const reason = tuiUnavailable(env.isTTY, env.env.TERM);
    if (reason !== null) {
      env.writeErr(`wiretop: ${reason}: printing --text summaries instead (choose --ndjson or --report for other output)\n`);
      mode = 'text';
    }
  }
  const spec = sourceSpec(options, mode !== 'tui', config);
  // The alert log file is opened before anything starts: a path that cannot be written is an error now, not at the first alert.
  let alertLog: AlertLogFile | null = null;
  if (config.log_file !== null) {
    try {
      alertLog = new AlertLogFile(config.log_file, config.log_format === 'json' ? 'json' : 'text');
    } catch (error) {
      return reportError(new WiretopError('config', `--log ${config.log_file}: cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); name a file in a writable directory`), env);
    }
  }
  // The key log is opened now, as the user who started wiretop (root may drop to nobody later), and read from this descriptor.
  let keyLogFd: number | undefined;
  if (config.keylog_file !== null && spec.kind !== 'demo' && !readsNdjson(options)) {
    try {
      keyLogFd = fs.openSync(config.keylog_file, 'r');
      if ((fs.fstatSync(keyLogFd).mode & 0o077) !== 0) env.writeErr(`wiretop: --keylog ${config.keylog_file}: other users can read these TLS secrets; chmod 600 it\n`);
    } catch (error) {
      return reportError(new WiretopError('config', `--keylog ${config.keylog_file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); create it first (touch FILE && chmod 600 FILE) and point the client's SSLKEYLOGFILE at it`), env);
    }
  }
  const state = new RunState(config, readsNdjson(options) && options.reads.length > 1 ? options.reads.map(sourceNodeName).join(', ') : sourceName(spec), plugins);
  const notifier = new Notifier({ command: config.on_alert, webhooks: config.webhooks, log: alertLog, source: sourceName(spec) });
  state.setNotifier(notifier);
  const stopNotices = notifier.active ? state.onNotice((notice) => notifier.notice(notice)) : () => undefined;
  // Prometheus metrics, served before the capture starts (a port in use is an error now).
  let metrics: MetricsSink | null = null;
  const listen = config.metrics_listen !== null ? parseListen(config.metrics_listen) : null;
  if (config.metrics_listen !== null) {
    if (listen === null) return reportError(new WiretopError('usage', `--metrics ${config.metrics_listen}: give a port or HOST:PORT, e.g. --metrics 9464`), env);
    metrics = new MetricsSink(state, config.metrics_top_k);
    try {
      await metrics.listen(listen.host, listen.port);
    } catch (error) {
      metrics.stop();
      return reportError(new WiretopError('usage', `${(error as Error).message} (choose another with --metrics)`), env);
    }
  }
  // Headless with a log file, SIGHUP reopens it (logrotate); otherwise it quits, as a hangup does.
  const hangupReopens = alertLog !== null && mode !== 'tui';
  const stopHangup = hangupReopens && env.onHangup !== undefined ? env.onHangup(() => {
    if (!alertLog!.reopen()) env.writeErr(`wiretop: --log ${config.log_file}: cannot reopen it; still writing to the old file\n`);
  }) : () => undefined;
  const merging = readsNdjson(options);
  if (merging) state.setNodes(options.reads.map(sourceNodeName));
  const capture: CaptureSource = merging
    ? new NdjsonCapture(options.reads, config.max_str_length, (node, note) => {
      state.nodeNotes.set(node, note);
      if (mode !== 'tui') env.writeErr(`wiretop: source ${node}: ${note}${note === 'ended' ? '' : '; the other sources go on'}\n`);
    }, config.average_bucket_size, (health) => { state.nodeDrops.set(health.node, health.drops); })
    : env.createCapture({ source: spec, maxStrLength: config.max_str_length, timeout: config.timeout, memoryBudgetMb: config.memory_budget_mb,
      routes: config.routes, trustedProxies: config.trusted_proxies, keepHeaders: mode === 'tui', keyLogFd });
  const headlessLive = spec.kind === 'live' && mode !== 'tui';
  // Backpressure: while stdout's reader is behind, batches are not taken in, so the capture of a
  // file waits and a live capture drops (counted) instead of queueing output without bound.
  let outputBehind = false;
  let downSince: number | null = null;
  let listeningOn = sourceName(spec);
  const write = (text: string): void => {
    if (env.writeOut(text) !== false || outputBehind || env.onOutputDrained === undefined) return;
    outputBehind = true;
    capture.hold?.();
    env.onOutputDrained(() => {
      outputBehind = false;
      capture.resume?.();
    });
  };
  const lifecycle: RunLifecycle = new RunLifecycle({
    capture,
    state,
    openSink: () => {
      const primary = createSink(mode, state, env, () => lifecycle.quit(), write);
      return metrics === null ? primary : withMetrics(primary, metrics);
    },
    sinkWaitsForCapture: mode === 'tui',
    // --ndjson streams transactions and shows no statistics: it spares the work of keeping them.
    keepsStatistics: mode !== 'ndjson' || metrics !== null,
    secure: () => {
      const dropped = env.dropPrivileges?.(config.user);
      // A live capture is where root was asked for: say, as tcpdump does, on stderr, before the
      // dashboard takes the screen, that it is given up. Files and the demo drop it quietly.
      if (dropped && spec.kind === 'live') env.writeErr(`${dropped}\n`);
    },
    healthFault: () => {
      // The dashboard says it and waits; a headless capture gives up after a grace period.
      if (!headlessLive) return null;
      if (state.health.latest?.interfaceDown !== 1) {
        downSince = null;
        return null;
      }
      downSince ??= Date.now();
      return Date.now() - downSince < INTERFACE_DOWN_GRACE_MS ? null
        : new WiretopError('interface', `${listeningOn}: the interface is down, nothing can be captured (bring it up, or capture on another with -i)`);
    },
    onReady: (source) => {
      // A live capture without -i has chosen its interface now: every line names it.
      if (spec.kind === 'live') state.setSource(source);
      listeningOn = spec.kind === 'live' ? interfaceLabel(source, spec.iface === '') : source;
      // As tcpdump does: say on stderr where a live capture listens (stdout stays data only).
      if (spec.kind === 'live' && mode !== 'tui') env.writeErr(`wiretop: listening on ${listeningOn}, filter "${spec.filter}"\n`);
    },
    onFinished: (line) => {
      unsubscribe();
      if (line !== undefined) env.writeOut(line);
      // As tcpdump does after a live capture: what was captured and what was lost, on stderr.
      if (headlessLive && (mode === 'ndjson' || mode === 'text')) env.writeErr(liveCaptureSummary(state, listeningOn));
      // The exporter alone prints nothing else: say that it stopped, and what it had captured.
      if (mode === 'metrics' && listen !== null) env.writeErr(exporterEndLine(state, listen, listeningOn, spec.kind === 'live'));
    },
    onFailed: (error) => {
      unsubscribe();
      return reportError(error, env);
    },
    onForced: () => {
      unsubscribe();
      env.writeErr('wiretop: stopped at once (second interrupt): the capture\'s last transactions are not counted\n');
    },
    onPhase: env.onPhase,
  });
  // A signal quits (a second one forces); a failed output only stops, it never forces.
  const stopInterrupts = env.onInterrupt((cause) => (cause === 'output' ? lifecycle.stop() : lifecycle.quit()), !hangupReopens);
  // A plug-in that throws is disabled, and said once (the dashboard says it on screen).
  const stopFailures = state.stats.onPluginFailure((failure) => {
    if (mode !== 'tui') env.writeErr(`wiretop: plug-in ${failure.name} failed in ${failure.method}(): ${failure.message}; it is disabled for the rest of the run\n`);
  });
  const unsubscribe = () => { stopInterrupts(); stopFailures(); stopNotices(); stopHangup(); };
  // The last alerts' notifications are given a moment to go out before the process ends.
  return lifecycle.start().then(async (code) => {
    metrics?.stop();
    await notifier.drain(NOTIFY_DRAIN_MS);
    alertLog?.close();
    return code;
  });
}

/** How long the end of a run waits for notifications still on their way. */
const NOTIFY_DRAIN_MS = 3000;

function reportError(error: unknown, env: RunEnvironment): number {
  const message = error instanceof WiretopError ? error.message : `unexpected error: ${(error as Error).stack ?? String(error)}`;
  env.writeErr(`wiretop: ${message}\n`);
  return 1;
}

/**
 * Ends the process after a second interrupt (the terminal is back, the line written): the
 * capture worker is terminated; if its thread is blocked in a read (a stalled pipe) that nothing
 * in the process can interrupt, and process.exit would wait for it, the process kills itself.
 */
async function forcedExit(captures: WorkerCapture[], code: number): Promise<void> {
  const ended = await Promise.all(captures.map((capture) => capture.abandon(1000)));
  if (ended.every(Boolean)) process.exit(code);
  process.kill(process.pid, 'SIGKILL');
}

/** The real process: stdout/stderr, the worker capture, POSIX signals. */
export function runFromProcess(): void {
  const captures: WorkerCapture[] = [];
  // A write error on stdout other than a closed pipe (a full disk, an I/O error): the run stops and says so.
  let outputError: NodeJS.ErrnoException | null = null;
  const env: RunEnvironment = {
    isTTY: process.stdout.isTTY === true,
    env: process.env,
    dropPrivileges,
    writeOut: (text) => process.stdout.write(text),
    onOutputDrained: (listener) => { process.stdout.once('drain', listener); },
    writeErr: (text) => { process.stderr.write(text); },
    createCapture: (request) => {
      const capture = new WorkerCapture(request);
      captures.push(capture);
      return capture;
    },
    onHangup: (listener) => {
      process.on('SIGHUP', listener);
      return () => { process.off('SIGHUP', listener); };
    },
    onInterrupt: (handler, hangupQuits = true) => {
      const signals: NodeJS.Signals[] = hangupQuits ? ['SIGINT', 'SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM'];
      // The reader went away (`| head`): a quiet stop. Anything else is an error worth a line.
      // Every later write fails too: only the first error stops the run (a second would force it).
      let failed = false;
      const onEpipe = (error: NodeJS.ErrnoException) => {
        if (failed) return;
        failed = true;
        if (error.code !== 'EPIPE') outputError = error;
        handler('output');
      };
      for (const signal of signals) process.on(signal, handler);
      process.stdout.on('error', onEpipe);
      return () => {
        for (const signal of signals) process.off(signal, handler);
      };
    },
  };
  // A fault nobody caught: the terminal back first, then one line, exit 1.
  const fatal = (error: unknown) => {
    restoreTerminal();
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`wiretop: unexpected error: ${message}${process.env.WIRETOP_DEBUG === '1' && error instanceof Error ? `\n${error.stack}` : ' (WIRETOP_DEBUG=1 shows where)'}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  // A main thread stuck for good (a plug-in in an endless loop) can no longer be stopped by a
  // signal: a watchdog thread ends the process then, terminal first.
  startWatchdog();
  process.on('unhandledRejection', fatal);
  run(process.argv.slice(2), env).then((result) => {
    let code = result;
    if (outputError !== null && code === 0) {
      const reason = outputError.message.replace(/^[A-Z]+: /, '').replace(/, write$/, '');
      process.stderr.write(`wiretop: cannot write the output: ${reason}${outputError.code !== undefined ? ` (${outputError.code})` : ''}\n`);
      code = 1;
    }
    process.exitCode = code;
    // Forced by a second interrupt: the capture may still hold the process (a stalled pipe); leave now.
    if (code === FORCED_EXIT) void forcedExit(captures, code);
    // For `npm run bench`: peak memory of the whole process, worker included.
    if (process.env.WIRETOP_PRINT_RUSAGE === '1') process.stderr.write(`rusage ${JSON.stringify(process.resourceUsage())}\n`);
  }, (error: unknown) => {
    process.stderr.write(`wiretop: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
