/** The command line: flags, their help, and their translation into options. */
import yargs from 'yargs';
import { WiretopError } from './errors';
import type { Config } from './config';

/** How results are shown. */
export type OutputMode = 'ndjson' | 'report' | 'report-json';

/** Everything the command line says. */
export interface CliOptions {
  iface: string | undefined;
  ports: number[];
  portsGiven: boolean;
  filter: string | undefined;
  read: string | undefined;
  speed: number | undefined;
  configPath: string | undefined;
  mode: OutputMode | undefined;
  demo: boolean;
  configOverrides: Partial<Config>;
}

function parsePorts(value: string): number[] {
  const ports = String(value).split(',').map((p) => p.trim()).filter((p) => p !== '');
  const numbers = ports.map(Number);
  if (ports.length === 0 || numbers.some((n) => !Number.isInteger(n) || n < 1 || n > 65535)) {
    throw new WiretopError('usage', `-p/--port: "${value}" is not a port or a comma list of ports (1-65535), e.g. -p 80,8080`);
  }
  return numbers;
}

/** Parses `argv` (without node and script); throws WiretopError('usage') on a bad command line. */
export function parseCommandLine(argv: string[]): CliOptions {
  let failure: string | null = null;
  const parser = yargs(argv)
    .scriptName('wiretop')
    .usage('$0 [options]\n\ntop for HTTP on the wire: sniffs HTTP/1.x traffic and shows what is hit, by whom and how fast.')
    .option('interface', { alias: 'i', type: 'string', describe: 'capture live on this interface (default: the first up, non-loopback one; "any" works)' })
    .option('port', { alias: 'p', type: 'string', describe: 'TCP ports that carry HTTP, a comma list (live default: 80; files: all ports)' })
    .option('filter', { alias: 'f', type: 'string', describe: 'a BPF expression that replaces the port filter' })
    .option('read', { alias: 'r', type: 'string', describe: 'read a pcap or pcapng file ("-" for standard input)' })
    .option('speed', { type: 'number', describe: 'replay a file at capture timing × X (0: as fast as possible, the headless default)' })
    .option('config', { type: 'string', describe: 'a JSON config file over config/default.json' })
    .option('ndjson', { type: 'boolean', describe: 'print one JSON object per HTTP transaction' })
    .option('report', { type: 'string', describe: 'print statistics at the end of the input ("--report json" for JSON)' })
    .option('demo', { type: 'boolean', describe: 'run on built-in generated traffic (no root, no network)' })
    .option('max-str-length', { type: 'number', describe: 'bytes kept of any string from the wire' })
    .option('top', { type: 'number', describe: 'rows in each top-N list (max_top_hits)' })
    .option('timeout', { type: 'number', describe: 'seconds a finished transaction may wait in the capture worker' })
    .strict()
    .help('help')
    .alias('help', 'h')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((message, error) => {
      failure = error ? error.message : message;
    });
  const args = parser.parseSync();
  if (failure !== null) throw new WiretopError('usage', `${failure} (see wiretop --help)`);

  const modes: OutputMode[] = [];
  if (args.ndjson) modes.push('ndjson');
  if (args.report !== undefined) {
    const format = args.report.toLowerCase();
    if (format !== '' && format !== 'json' && format !== 'text') {
      throw new WiretopError('usage', `--report takes "json" or nothing, not "${args.report}"`);
    }
    modes.push(format === 'json' ? 'report-json' : 'report');
  }
  if (modes.length > 1) throw new WiretopError('usage', 'choose one output: --ndjson or --report');
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
  if (args['max-str-length'] !== undefined) overrides.max_str_length = args['max-str-length'];
  if (args.top !== undefined) overrides.max_top_hits = args.top;
  if (args.timeout !== undefined) overrides.timeout = args.timeout;

  return {
    iface: args.interface,
    ports: args.port !== undefined ? parsePorts(args.port) : [80],
    portsGiven: args.port !== undefined,
    filter: args.filter,
    read: args.read,
    speed: args.speed,
    configPath: args.config,
    mode: modes[0],
    demo: Boolean(args.demo),
    configOverrides: overrides,
  };
}

/** Does the command line ask for the help text (which yargs has then printed)? */
export function isHelpRequest(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}
