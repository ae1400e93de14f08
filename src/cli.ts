/** The command line: flags, their help, and their translation into options. */
import yargs, { type Options } from 'yargs';
import { WiretopError } from './errors';
import { wiretopVersion } from './version';

export { wiretopVersion } from './version';
import { configSchema, type Config } from './config';
import { configFlagOptions, configOverridesOf } from './configFlags';
import type { SourceOptions } from './run/sourceChoice';

/** How results are shown. */
export type OutputMode = 'tui' | 'text' | 'ndjson' | 'report' | 'report-json' | 'metrics';

/** Everything the command line says: where the traffic comes from, and the rest. */
export interface CliOptions extends SourceOptions {
  configPath: string | undefined;
  mode: OutputMode | undefined;
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
    .usage('$0 [options]\n\ntop for HTTP on the wire: sniffs HTTP/1.x, HTTP/2 and gRPC traffic and shows what is hit, by whom and how fast.')
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
    // Not a config flag: --plugin adds to the config's plug-ins, where a config flag would replace them.
    .option('plugin', { type: 'string', array: true, describe: 'load a StatModule plug-in (repeatable; adds to plugins)' })
    // Flags that set a config key: from config/schema.json (typed as adding none, so that the
    // hand-written flags keep their types; configOverridesOf reads these by name).
    .options(configFlagOptions(configSchema()) as Record<never, Options>)
    .example('sudo wiretop -i eth0 -p 80,8080', 'the dashboard on the HTTP traffic of two ports')
    .example('wiretop -r capture.pcap --report', 'statistics of a capture file, printed at its end')
    .example("sudo wiretop -i eth0 --ndjson | jq -c 'select(.status >= 500)'", 'failed transactions as JSON lines, into jq')
    .example('sudo wiretop -i eth0 --keylog /run/keys/sslkeys.log', 'HTTPS too: TLS server names always, requests decrypted with the key log')
    .example("wiretop -r capture.pcap --report --where 'status = 5xx and path ~ ^/api' --har errors.har", 'the API\'s failures of a capture: a report, and a HAR for the browser\'s dev tools')
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
    configOverrides: configOverridesOf(args as Record<string, unknown>, configSchema()),
    plugins: args.plugin ?? [],
  };
}

/** Does the command line ask for the help text or the version (which yargs has then printed)? */
export function isHelpRequest(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h') || argv.includes('--version');
}
