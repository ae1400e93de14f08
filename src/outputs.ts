/**
 * A run's outputs, from its mode: the dashboard where it can run (else --text, said once),
 * the sink each mode prints through, and the Prometheus exporter beside any of them. The
 * composition root's, as main's: it is where the run meets the sinks that read it. The
 * dashboard (blessed) and the exporter (prom-client) are loaded only by a run that uses them:
 * together they were half of every run's start.
 */
import type { OutputMode } from './cli';
import type { Config } from './config';
import { WiretopError } from './errors';
import type { RunEnvironment } from './run/environment';
import type { RunState, RunView } from './run/runState';
import type { Sink } from './run/sink';
import type { HarFileWriter } from './export/harFile';
import type { TlsConnection } from './types';
import type { MetricsSink } from './sinks/metrics';
import { NdjsonSink } from './sinks/ndjson';
import { ReportSink } from './sinks/report';
import { TextSink } from './sinks/text';
import { tuiUnavailable } from './sinks/tuiTerminal';
import { loadRegexEngine } from './filter/compile';

/** The Prometheus exporter's module, loaded when a run serves metrics. */
const metricsModule = () => require('./sinks/metrics') as typeof import('./sinks/metrics');
/** The dashboard's module, loaded when a run shows it. */
const tuiModule = () => require('./sinks/tui') as typeof import('./sinks/tui');

/**
 * Loads what the output of `mode` will load later, now: the dashboard opens once the capture
 * has started, after privileges are given up, and the account given up to may not read
 * wiretop's files. Its `/` filter may need RE2 then too.
 */
export function loadOutputModules(mode: OutputMode): void {
  if (mode !== 'tui') return;
  tuiModule();
  loadRegexEngine();
}

/** The mode a run prints in: the one asked for (the dashboard by default), or --text where the dashboard cannot run. */
export function outputMode(requested: OutputMode | undefined, env: Pick<RunEnvironment, 'isTTY' | 'env' | 'writeErr'>): OutputMode {
  const mode = requested ?? 'tui';
  if (mode !== 'tui') return mode;
  const reason = tuiUnavailable(env.isTTY, env.env.TERM);
  if (reason === null) return mode;
  env.writeErr(`wiretop: ${reason}: printing --text summaries instead (choose --ndjson or --report for other output)\n`);
  return 'text';
}

/** The Prometheus exporter of a run, and where it listens. */
export interface Metrics {
  sink: MetricsSink;
  listen: { host: string; port: number };
}

/** Serves the run's metrics when the config asks (`--metrics`), before the capture starts: a port in use is an error now. */
export async function serveMetrics(config: Config, state: RunState): Promise<Metrics | null> {
  if (config.metrics_listen === null) return null;
  const { MetricsSink, parseListen } = metricsModule();
  const listen = parseListen(config.metrics_listen);
  if (listen === null) throw new WiretopError('usage', `--metrics ${config.metrics_listen}: give a port or HOST:PORT, e.g. --metrics 9464`);
  const sink = new MetricsSink(state, config.metrics_top_k);
  try {
    await sink.listen(listen.host, listen.port);
  } catch (error) {
    sink.stop();
    throw new WiretopError('usage', `${(error as Error).message} (choose another with --metrics)`);
  }
  return { sink, listen };
}

/** The sink of `mode`. */
function createSink(mode: OutputMode, run: RunView, env: RunEnvironment, onQuit: () => void, write: (text: string) => void): Sink {
  switch (mode) {
    case 'tui':
      if (env.createTui !== undefined) return env.createTui(run, onQuit);
      return new (tuiModule().TuiSink)(run, onQuit, { env: env.env, clock: env.clock });
    case 'text':
      return new TextSink(run, write);
    case 'ndjson':
      return new NdjsonSink(write, run.config.node, run.health);
    case 'report':
    case 'report-json':
      return new ReportSink(run, mode === 'report' ? 'text' : 'json', write);
    case 'metrics':
      return new (metricsModule().NoOutputSink)();
  }
}

/** Opens the output of `mode`, with the metrics beside it when served and the HAR file when asked; `write` is stdout, paced. */
export function openOutput(mode: OutputMode, run: RunView, env: RunEnvironment, onQuit: () => void, write: (text: string) => void, metrics: Metrics | null, har: HarFileWriter | null = null): Sink {
  const primary = createSink(mode, run, env, onQuit, write);
  const sink = metrics === null ? primary : metricsModule().withMetrics(primary, metrics.sink);
  return har === null ? sink : withHar(sink, har);
}

/** `--har`: the output's transactions also go to the HAR file (its end is written when the run ends, by the run). */
function withHar(primary: Sink, har: HarFileWriter): Sink {
  return {
    interactive: primary.interactive,
    onEvents(events) {
      har.add(events);
      primary.onEvents(events);
    },
    ...(primary.onTls !== undefined ? { onTls: (connections: readonly TlsConnection[]) => primary.onTls!(connections) } : {}),
    finish: () => primary.finish(),
    ...(primary.onCaptureStats !== undefined ? { onCaptureStats: () => primary.onCaptureStats!() } : {}),
    ...(primary.close !== undefined ? { close: () => primary.close!() } : {}),
  };
}
