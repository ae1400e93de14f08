/**
 * Wires wiretop together: command line → config → capture source → output. Each part is a
 * module of its own under src/run/ (and the outputs beside this file); this only composes
 * them. Every outside effect comes in through `RunEnvironment`, so the whole program runs in
 * a test with fakes; `runFromProcess` gives it the real process.
 */
import { parseCommandLine, isHelpRequest, type CliOptions, type OutputMode } from './cli';
import { wiretopVersion } from './version';
import { HarFileWriter } from './export/harFile';
import { lookUpUser } from './platform/privileges';
import type { Config } from './config';
import { budgetBesideRing, budgetForHeap, heapLimitMb } from './memoryBudget';
import { loadConfig } from './settings';
import { DEMO_PRESETS } from './capture/sources/demo/demo';
import { loadPlugins } from './stats/plugins';
import { compileFilter } from './filter/filter';
import { Notifier } from './alerts/notify';
import { loadOutputModules, openOutput, outputMode, serveMetrics, type Metrics } from './outputs';
import { restoreTerminal } from './sinks/terminalGuard';
import { notificationFailureLine } from './sinks/text';
import { pacedWrite } from './run/backpressure';
import type { RunEnvironment } from './run/environment';
import { InterfaceGrace, interfaceDownError } from './run/interfaceGrace';
import { RunLifecycle } from './run/lifecycle';
import { Persistence, type RunInput } from './persist/persistence';
import { ProcessAttribution, startScanHelper } from './run/processes';
import { ProcessEnvironment } from './run/processEnvironment';
import { discardPrestartedWorker } from './capture/prestartedWorker';
import { openRunFiles, type RunFiles } from './run/runFiles';
import { reportError, RunMessages } from './run/runMessages';
import { RunState } from './run/runState';
import { subscribeSignals } from './run/signals';
import { chooseSource, openCapture, sourceName, type SourceChoice } from './run/sourceChoice';

export type { RunEnvironment } from './run/environment';
export { KEYLOG_SNAP_LENGTH, sourceSpec } from './run/sourceChoice';

/** How long the end of a run waits for notifications still on their way (wall time: they go to other machines). */
const NOTIFY_DRAIN_MS = 3000;

/** What a run opens before its capture starts; a failure in any of it is one line and exit 1. */
interface Setup {
  options: CliOptions;
  config: Config;
  mode: OutputMode;
  source: SourceChoice;
  files: RunFiles;
  state: RunState;
  notifier: Notifier;
  stopNotices: () => void;
  /** `--har`: the HAR file being written, or null. */
  har: HarFileWriter | null;
  /** `--persist`: the directory the state is kept in (locked, its snapshot taken back), or null. */
  persistence: Persistence | null;
  /** `--processes` on a live capture: the scanner (started now, while the run may still be root), or null. */
  processes: ProcessAttribution | null;
  /** The output keeps statistics: all but --ndjson alone, which shows none. */
  keepsStatistics: boolean;
}

/**
 * Lowers memory_budget_mb when the heap limit cannot hold it (NODE_OPTIONS=--max-old-space-size,
 * a small machine), and says so: the run then drops more, counted, instead of running out.
 */
function fitBudgetToHeap(config: Config, limitMb: number, warn: (line: string) => void): void {
  const fitting = budgetForHeap(config.memory_budget_mb, limitMb);
  if (fitting >= config.memory_budget_mb) return;
  warn(`wiretop: memory_budget_mb lowered from ${config.memory_budget_mb} to ${fitting} to fit the heap limit of ${limitMb} MB\n`);
  config.memory_budget_mb = fitting;
}

/** Reads the command line and the config, and opens the files; null when only help was asked. */
function setUp(argv: string[], env: RunEnvironment): Setup | null {
  const options = parseCommandLine(argv);
  if (isHelpRequest(argv)) return null;
  const config = loadConfig(options.configPath, options.configOverrides, options.demo ? DEMO_PRESETS : {});
  config.plugins = [...config.plugins, ...options.plugins];
  const plugins = loadPlugins(config);
  const mode = outputMode(options.mode, env);
  const source = chooseSource(options, mode !== 'tui', config);
  fitBudgetToHeap(config, env.heapLimitMb?.() ?? heapLimitMb(), (line) => env.writeErr(line));
  // On a live capture the kernel ring is part of the budget: the parts share what it leaves.
  if (source.spec.kind === 'live') config.memory_budget_mb = budgetBesideRing(config.memory_budget_mb, config.buffer_size);
  const files = openRunFiles(config, source.spec.kind !== 'demo' && !source.merging, (line) => env.writeErr(line));
  // --ndjson alone keeps no statistics (nor anything to keep across a restart): it spares the work.
  const keepsStatistics = mode !== 'ndjson' || config.metrics_listen !== null;
  // The account a root run drops to once the capture is open: what it must still be able to write, or run as.
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const dropTo = isRoot ? lookUpUser(config.user) : null;
  const persistence = config.persist_dir !== null && keepsStatistics ? new Persistence(config.persist_dir, wiretopVersion(), mode !== 'tui', (line) => env.writeErr(`${line}\n`)) : null;
  const state = persistence === null ? new RunState(config, source.runName, plugins) : restoredState(persistence, options, config, source, dropTo, () => new RunState(config, source.runName, plugins), env);
  let har: HarFileWriter | null;
  try {
    // Opened now, before privileges are dropped: a path that cannot be written fails before the capture starts.
    // With the dashboard, --where is its `/` filter and the run is not filtered: the HAR applies it itself.
    const harFilter = mode === 'tui' && config.where !== null ? compileFilter(config.where).matches : null;
    har = config.har_file === null ? null : new HarFileWriter(config.har_file, wiretopVersion(), config.where, dropTo, harFilter);
  } catch (error) {
    persistence?.close(null, env.clock);
    throw error;
  }
  const notifier = new Notifier({ command: config.on_alert, webhooks: config.webhooks, log: files.alertLog, source: sourceName(source.spec) });
  state.setNotifier(notifier);
  const stopNotices = notifier.active ? state.onNotice((notice) => notifier.notice(notice)) : () => undefined;
  // Started before the privilege drop: the scanner keeps what a scan needs, the run gives up the rest.
  // As root with an account that does not exist, the drop fails (one line) before the capture: no scanner is started as root.
  const processes: ProcessAttribution | null = config.processes && source.spec.kind === 'live' && (!isRoot || dropTo !== null)
    ? new ProcessAttribution(startScanHelper(dropTo, (line) => {
      // The dashboard says it in its panel (a line on stderr would land on the screen); headless, stderr says it.
      if (processes !== null) processes.stats.failure = line;
      if (mode !== 'tui') env.writeErr(`wiretop: --processes: ${line}\n`);
    }), env.clock, config.processes_interval * 1000)
    : null;
  state.processes = processes;
  return { options, config, mode, source, files, state, notifier, stopNotices, har, persistence, processes, keepsStatistics };
}

/**
 * Locks --persist's directory and takes its snapshot back into a new run state, skipping what
 * an input read before gave already (see Persistence); says on stderr what it did.
 */
function restoredState(persistence: Persistence, options: CliOptions, config: Config, source: SourceChoice, dropTo: { uid: number; gid: number } | null, make: () => RunState, env: RunEnvironment): RunState {
  persistence.open(dropTo);
  try {
    const spec = source.spec;
    const files = source.merging ? options.reads : spec.kind === 'file' && spec.path !== '-' ? [spec.path] : [];
    const shaping = { filter: spec.kind === 'file' ? spec.filter : null, ports: spec.kind === 'file' ? spec.ports : null, keylog: config.keylog_file !== null, merging: source.merging };
    const input: RunInput = files.length > 0 ? { kind: 'files', files, shaping } : { kind: 'stream' };
    const { state, start } = persistence.restore(make(), input, make);
    if (start.line !== null) env.writeErr(`${start.line}\n`);
    return state;
  } catch (error) {
    persistence.close(null, env.clock);
    throw error;
  }
}

/** Runs wiretop with `argv` (no node/script); resolves to the exit status. */
export async function run(argv: string[], env: RunEnvironment): Promise<number> {
  const fail = (error: unknown) => reportError(error, (text) => env.writeErr(text));
  // Synchronous up to the capture's start unless there is a port to open (tests drive the capture at once).
  let setup: Setup | null = null;
  let metrics: Metrics | null = null;
  try {
    setup = setUp(argv, env);
    // Prometheus metrics, served before the capture starts (a port in use is an error now).
    if (setup !== null && setup.config.metrics_listen !== null) metrics = await serveMetrics(setup.config, setup.state);
  } catch (error) {
    discardPrestartedWorker();
    setup?.har?.abort();
    setup?.persistence?.close(null, env.clock);
    setup?.processes?.stop();
    return fail(error);
  }
  if (setup === null) {
    discardPrestartedWorker();
    return 0;
  }
  const { options, config, mode, source: { spec }, files, state, notifier, har, persistence, processes, keepsStatistics } = setup;
  const interactive = mode === 'tui';
  loadOutputModules(mode);
  const capture = openCapture(setup.source, { reads: options.reads, config, interactive, keyLogFd: files.keyLogFd }, state, env);
  const messages = new RunMessages(env, state, spec, { interactive, streams: mode === 'ndjson' || mode === 'text', exporter: mode === 'metrics' ? metrics?.listen ?? null : null });
  const write = pacedWrite(env, capture);
  const grace = new InterfaceGrace(env.clock);
  let captured = false;
  const lifecycle: RunLifecycle = new RunLifecycle({
    capture,
    state,
    openSink: () => openOutput(mode, state, env, () => lifecycle.quit(), write, metrics, har),
    sinkWaitsForCapture: interactive,
    keepsStatistics,
    admit: persistence === null ? null : { events: (all) => persistence.admitEvents(all), tls: (all) => persistence.admitTls(all) },
    annotate: processes === null ? null : (events) => processes.attribute(events),
    onStopBeforeEnd: () => persistence?.stopBeforeEnd(state, env.clock),
    // The dashboard takes --where as its starting `/` filter, which the user can change.
    where: interactive || config.where === null ? null : compileFilter(config.where),
    secure: () => {
      const dropped = env.dropPrivileges?.(config.user) ?? null;
      messages.privilegesDropped(dropped);
      persistence?.checkWritable(dropped === null ? null : config.user);
    },
    // The dashboard says it and waits; a headless capture gives up after a grace period.
    healthFault: () => (spec.kind === 'live' && !interactive && grace.expired(state.health.latest?.interfaceDown === 1) ? interfaceDownError(messages.listeningOn) : null),
    onReady: (name) => {
      captured = true;
      // A live capture without -i has chosen its interface now: every line names it.
      if (spec.kind === 'live') state.setSource(name);
      messages.ready(name);
    },
    onFinished: (line) => { unsubscribe(); messages.finished(line); },
    onFailed: (error) => { unsubscribe(); return messages.failed(error); },
    onForced: () => { unsubscribe(); messages.forced(); },
    onPhase: env.onPhase,
  });
  // Headless with a log file, SIGHUP reopens it (logrotate); otherwise it quits, as a hangup does.
  const stopSignals = subscribeSignals(env, lifecycle, files.alertLog !== null && !interactive ? { file: files.alertLog, path: config.log_file! } : null);
  const stopFailures = state.stats.onPluginFailure((failure) => messages.pluginFailed(failure));
  const unsubscribe = () => { stopSignals(); stopFailures(); setup.stopNotices(); };
  // --text says a failed notification as it says alerts, until the last ones are drained at exit.
  const stopFailureLines = mode === 'text' ? notifier.onFailure((failure) => write(notificationFailureLine(failure))) : () => undefined;
  persistence?.saveEvery(config.persist_interval, state, env.clock);
  processes?.start();
  let code: number;
  try {
    const ended = lifecycle.start();
    // The capture has started: a worker prestarted for this run is its worker now, or is not needed.
    discardPrestartedWorker();
    code = await ended;
  } finally {
    processes?.stop();
    // The state after the last whole batch: what a restart takes back (a run whose capture never opened has nothing new).
    persistence?.close(captured ? state : null, env.clock);
  }
  // The HAR is put in place once the run has ended well; a failed run leaves none.
  if (har !== null) {
    if (code === 0) {
      const line = har.finish();
      env.writeErr(`${line}\n`);
      if (har.failure !== null) code = 1;
    } else har.abort();
  }
  // The last alerts' notifications are given a moment to go out before the process ends.
  metrics?.sink.stop();
  await notifier.drain(NOTIFY_DRAIN_MS);
  stopFailureLines();
  files.alertLog?.close();
  return code;
}

/** The real process: stdout/stderr, the worker capture, POSIX signals. */
export function runFromProcess(): void {
  const host = new ProcessEnvironment();
  host.guard(restoreTerminal);
  run(process.argv.slice(2), host.env).then((code) => host.ended(code), (error: unknown) => host.failed(error));
}
