/** The command line: flags, their help, and their translation into options. */
import * as fs from 'fs';
import * as path from 'path';
import yargs from 'yargs';
import { WiretopError } from './errors';
import { validateConfig, type Config } from './config';

/** How results are shown. */
export type OutputMode = 'tui' | 'text' | 'ndjson' | 'report' | 'report-json' | 'metrics';

/** Everything the command line says. */
export interface CliOptions {
  iface: string | undefined;
  ports: number[];
  portsGiven: boolean;
  filter: string | undefined;
  read: string | undefined;
  /** Every -r given (several: wiretop --ndjson streams to merge). */
  reads: string[];
  /** --format: what -r holds (null: detected). */
  format: 'pcap' | 'ndjson' | null;
  speed: number | undefined;
  configPath: string | undefined;
  mode: OutputMode | undefined;
  demo: boolean;
  configOverrides: Partial<Config>;
  /** Plug-ins named with --plugin, added to the config's. */
  plugins: string[];
}

function parsePorts(value: string): number[] {
  const ports = String(value).split(',').map((p) => p.trim()).filter((p) => p !== '');
  const numbers = ports.map(Number);
  if (ports.length === 0 || numbers.some((n) => !Number.isInteger(n) || n < 1 || n > 65535)) {
    throw new WiretopError('usage', `-p/--port: "${value}" is not a port or a comma list of ports (1-65535), e.g. -p 80,8080`);
  }
  return numbers;
}

function parseFormat(value: string): 'pcap' | 'ndjson' {
  if (value === 'pcap' || value === 'ndjson') return value;
  throw new WiretopError('usage', `--format takes pcap or ndjson, not "${value}"`);
}

/** Parses `argv` (without node and script); throws WiretopError('usage') on a bad command line. */
export function parseCommandLine(argv: string[]): CliOptions {
  let failure: string | null = null;
  const parser = yargs(argv)
    .scriptName('wiretop')
    .usage('$0 [options]\n\ntop for HTTP on the wire: sniffs HTTP/1.x traffic and shows what is hit, by whom and how fast.')
    .option('interface', { alias: 'i', type: 'string', describe: 'capture live on this interface (default: the first up, non-loopback one; "any" works)' })
    .option('port', { alias: 'p', type: 'string', describe: 'TCP ports to watch, a comma list (live default: 80,443; files: all ports)' })
    .option('filter', { alias: 'f', type: 'string', describe: 'a BPF expression that replaces the port filter' })
    .option('read', { alias: 'r', type: 'string', describe: 'read a pcap or pcapng file ("-" for standard input), or wiretop --ndjson output; several -r of --ndjson streams are merged, one node each' })
    .option('format', { type: 'string', describe: 'what -r holds: pcap or ndjson (default: detected from a file\'s first byte; several -r are ndjson)' })
    .option('speed', { type: 'number', describe: 'replay a file (or the demo) at capture timing × X (0: as fast as possible, the headless default; 1 in the dashboard)' })
    .option('config', { type: 'string', describe: 'a JSON config file over config/default.json' })
    .option('tui', { type: 'boolean', describe: 'the full-screen dashboard (the default on a terminal)' })
    .option('text', { type: 'boolean', describe: 'print a summary every dashboard_bucket_size seconds, and every alert and recovery' })
    .option('ndjson', { type: 'boolean', describe: 'print one JSON object per HTTP transaction' })
    .option('report', { type: 'string', describe: 'print statistics at the end of the input ("--report json" for JSON)' })
    .option('demo', { type: 'boolean', describe: 'run on built-in generated traffic (no root, no network)' })
    .option('window', { type: 'number', describe: 'seconds in the sliding window that alerts compare (average_bucket_size)' })
    .option('threshold', { type: 'number', describe: 'percent above the learned baseline that alerts (average_threshold)' })
    .option('learn', { type: 'number', describe: 'seconds of learning before alerts (average_learning_duration)' })
    .option('threshold-rps', { type: 'number', describe: 'alert above this many requests/s instead of a learned baseline (threshold_rps)' })
    .option('bucket', { type: 'number', describe: 'seconds between summaries of the recent view (dashboard_bucket_size)' })
    .option('top', { type: 'number', describe: 'rows in each top-N list (max_top_hits)' })
    .option('retention', { type: 'number', describe: 'seconds of history kept (max_retention_length)' })
    .option('refresh', { type: 'number', describe: 'dashboard redraws per second, at most (refresh)' })
    .option('plugin', { type: 'string', array: true, describe: 'load a StatModule plug-in (repeatable; adds to plugins)' })
    .option('max-str-length', { type: 'number', describe: 'bytes kept of any string from the wire (max_str_length)' })
    .option('timeout', { type: 'number', describe: 'seconds a finished transaction may wait in the capture worker (timeout)' })
    .option('memory-budget', { type: 'number', describe: 'MB the capture\'s growing buffers may hold together (memory_budget_mb)' })
    .option('buffer-size', { type: 'number', describe: 'MB of kernel ring buffer for a live capture (buffer_size)' })
    .option('snaplen', { type: 'number', describe: 'bytes captured of each packet in a live capture (snap_length)' })
    .option('user', { type: 'string', describe: 'the user to become once the capture is open, when run as root (user; default nobody; "root" keeps root)' })
    .option('promisc', { type: 'boolean', describe: 'promiscuous mode on the live interface (promiscuous; --no-promisc: only this host\'s traffic)' })
    .option('metrics', { type: 'string', describe: 'serve Prometheus metrics at http://[HOST:]PORT/metrics (127.0.0.1 unless HOST is given); alone, wiretop runs as an exporter (metrics_listen)' })
    .option('node', { type: 'string', describe: 'name this server in --ndjson lines ("node" field), for a dashboard over several servers (node)' })
    .option('on-alert', { type: 'string', describe: 'run this shell command on every alert and recovery: the event as JSON on stdin, and WIRETOP_* variables (on_alert)' })
    .option('webhook', { type: 'string', array: true, describe: 'POST every alert and recovery as JSON to this URL, Slack/Mattermost-ready (repeatable; webhooks)' })
    .option('log', { type: 'string', describe: 'append every alert, recovery and notification failure to this file; SIGHUP reopens it (log_file)' })
    .option('log-format', { type: 'string', describe: '"text" or "json" (JSON lines) for --log (log_format)' })
    .option('keylog', { type: 'string', describe: 'decrypt TLS with the secrets of this NSS key log (SSLKEYLOGFILE), followed as it grows (keylog_file)' })
    .option('capture-nice', { type: 'number', describe: 'nice value of the live capture thread, when allowed (capture_nice; 0: leave it)' })
    .example('sudo wiretop -i eth0 -p 80,8080', 'the dashboard on the HTTP traffic of two ports')
    .example('wiretop -r capture.pcap --report', 'statistics of a capture file, printed at its end')
    .example("sudo wiretop -i eth0 --ndjson | jq -c 'select(.status >= 500)'", 'failed transactions as JSON lines, into jq')
    .example('sudo wiretop -i eth0 --keylog /run/keys/sslkeys.log', 'HTTPS too: TLS server names always, requests decrypted with the key log')
    .example('wiretop --demo', 'the dashboard on built-in generated traffic (no root)')
    .strict()
    .help('help')
    .alias('help', 'h')
    .version('version', 'print the version and exit', wiretopVersion())
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((message, error) => {
      failure = error ? error.message : message;
    });
  const args = parser.parseSync();
  if (failure !== null) throw new WiretopError('usage', `${failure} (see wiretop --help)`);

  // -r given several times comes as a list (yargs repeats a flag into an array; an `array`
  // option would not take "-", standard input, as a value).
  const readValue = args.read as unknown as string | string[] | undefined;
  const reads = readValue === undefined ? [] : (Array.isArray(readValue) ? readValue : [readValue]).map(String);
  const modes: OutputMode[] = [];
  if (args.tui) modes.push('tui');
  if (args.text) modes.push('text');
  if (args.ndjson) modes.push('ndjson');
  if (args.report !== undefined) {
    const format = args.report.toLowerCase();
    if (format !== '' && format !== 'json' && format !== 'text') {
      throw new WiretopError('usage', `--report takes "json" or nothing, not "${args.report}"`);
    }
    modes.push(format === 'json' ? 'report-json' : 'report');
  }
  if (modes.length > 1) throw new WiretopError('usage', 'choose one output: --tui, --text, --ndjson or --report');
  // --metrics alone: an exporter with no other output.
  if (args.metrics !== undefined && modes.length === 0) modes.push('metrics');
  if (args.read !== undefined && args.interface !== undefined) {
    throw new WiretopError('usage', 'use either -r FILE or -i IFACE, not both');
  }
  if (args.demo && (args.read !== undefined || args.interface !== undefined)) {
    throw new WiretopError('usage', '--demo makes its own traffic: drop -r/-i');
  }
  if (args.speed !== undefined && (!Number.isFinite(args.speed) || args.speed < 0)) {
    throw new WiretopError('usage', `--speed must be 0 or more, not ${args.speed}`);
  }

  const overrides: Partial<Config> = {};
  const flagKeys: Array<[number | undefined, keyof Config, string]> = [
    [args.window, 'average_bucket_size', '--window'],
    [args.threshold, 'average_threshold', '--threshold'],
    [args.learn, 'average_learning_duration', '--learn'],
    [args['threshold-rps'], 'threshold_rps', '--threshold-rps'],
    [args.bucket, 'dashboard_bucket_size', '--bucket'],
    [args.top, 'max_top_hits', '--top'],
    [args.retention, 'max_retention_length', '--retention'],
    [args.refresh, 'refresh', '--refresh'],
    [args['max-str-length'], 'max_str_length', '--max-str-length'],
    [args.timeout, 'timeout', '--timeout'],
    [args['buffer-size'], 'buffer_size', '--buffer-size'],
    [args['memory-budget'], 'memory_budget_mb', '--memory-budget'],
    [args.snaplen, 'snap_length', '--snaplen'],
    [args['capture-nice'], 'capture_nice', '--capture-nice'],
  ];
  if (args.promisc !== undefined) overrides.promiscuous = args.promisc;
  // Flags that set a text (or a list of texts) of the config, checked as the config would be.
  const textKeys: Array<[string | string[] | undefined, keyof Config, string]> = [
    [args.metrics === undefined ? undefined : String(args.metrics), 'metrics_listen', '--metrics'],
    [args.node, 'node', '--node'],
    [args['on-alert'], 'on_alert', '--on-alert'],
    [args.webhook?.map(String), 'webhooks', '--webhook'],
    [args.log, 'log_file', '--log'],
    [args.keylog, 'keylog_file', '--keylog'],
    [args['log-format'], 'log_format', '--log-format'],
    [args.user, 'user', '--user'],
  ];
  for (const [value, key, flag] of textKeys) {
    if (value !== undefined) Object.assign(overrides, validateConfig({ [key]: value }, flag));
  }
  for (const [value, key, flag] of flagKeys) {
    if (value === undefined) continue;
    // yargs turns a non-number into NaN: say which flag, and what it sets.
    Object.assign(overrides, validateConfig({ [key]: Number.isNaN(value) ? String(value) : value }, flag));
  }

  return {
    iface: args.interface,
    ports: args.port !== undefined ? parsePorts(args.port) : [80, 443],
    portsGiven: args.port !== undefined,
    filter: args.filter,
    read: reads[0],
    reads,
    format: args.format === undefined ? null : parseFormat(String(args.format)),
    speed: args.speed,
    configPath: args.config,
    mode: modes[0],
    demo: Boolean(args.demo),
    configOverrides: overrides,
    plugins: args.plugin ?? [],
  };
}

/** Does the command line ask for the help text or the version (which yargs has then printed)? */
export function isHelpRequest(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h') || argv.includes('--version');
}

/** The version in wiretop's package.json (found from the sources and from dist/ alike). */
export function wiretopVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'wiretop' && manifest.version !== undefined) return manifest.version;
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}
