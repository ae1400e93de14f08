/**
 * Where a run's traffic comes from: a live interface, a capture file, the demo, or several
 * wiretops' --ndjson streams to merge — chosen from the command line and the config, and opened.
 */
import * as fs from 'fs';
import type { CaptureSource } from '../capture/captureSource';
import type { CaptureSourceSpec } from '../capture/messages';
import { NdjsonCapture, sourceNodeName } from '../capture/ndjsonCapture';
import { captureOnMainThread, workerCount } from '../capture/shardedCapture';
import type { Config } from '../config';
import type { RunEnvironment } from './environment';
import type { RunState } from './runState';

/** What the command line says about the source (the run reads these, not the whole command line). */
export interface SourceOptions {
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
  demo: boolean;
}

/** The BPF filter of a port list: `tcp port 80 or tcp port 8080`. */
export function portFilter(ports: number[]): string {
  return ports.map((p) => `tcp port ${p}`).join(' or ');
}

/** The snap length of a live capture that decrypts TLS: the largest packet Linux captures. */
export const KEYLOG_SNAP_LENGTH = 262_144;

/** What the options (and the config's capture settings) say to capture from. */
export function sourceSpec(options: SourceOptions, headless: boolean, config: Config): CaptureSourceSpec {
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
    zeroCopy: config.zero_copy,
  };
}

/** How messages name the source: `demo`, `stdin`, the file, the interface. */
export function sourceName(spec: CaptureSourceSpec): string {
  switch (spec.kind) {
    case 'demo': return 'demo';
    case 'file': return spec.path === '-' ? 'stdin' : spec.path;
    case 'live': return spec.iface === '' ? 'default interface' : spec.iface;
    case 'shard': return spec.name;
  }
}

/**
 * Does -r name wiretop --ndjson streams (to merge) rather than a capture file? Said by
 * --format; else several -r are; else a regular file whose first byte is `{`.
 */
export function readsNdjson(options: SourceOptions): boolean {
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

/** The source a run captures from. */
export interface SourceChoice {
  spec: CaptureSourceSpec;
  /** -r names --ndjson streams: they are merged on the main thread, not captured. */
  merging: boolean;
  /** How the run names its source: the merged nodes, else as `sourceName`. */
  runName: string;
}

/** Chooses the source from the options; `headless` replays files at full speed. */
export function chooseSource(options: SourceOptions, headless: boolean, config: Config): SourceChoice {
  const spec = sourceSpec(options, headless, config);
  const merging = readsNdjson(options);
  const runName = merging && options.reads.length > 1 ? options.reads.map(sourceNodeName).join(', ') : sourceName(spec);
  return { spec, merging, runName };
}

/** What opening the capture needs besides the choice. */
export interface CaptureSettings {
  reads: readonly string[];
  config: Config;
  /** The dashboard shows the merged sources' trouble itself, and keeps the headers for its detail. */
  interactive: boolean;
  /** The key log, opened before privileges were dropped. */
  keyLogFd: number | undefined;
}

/** Opens the chosen source: the merge of --ndjson streams here, else a capture through the environment. */
export function openCapture(choice: SourceChoice, settings: CaptureSettings, state: RunState, env: Pick<RunEnvironment, 'createCapture' | 'writeErr'>): CaptureSource {
  const { config, interactive } = settings;
  if (!choice.merging) {
    return env.createCapture({ source: choice.spec, maxStrLength: config.max_str_length, timeout: config.timeout, memoryBudgetMb: config.memory_budget_mb,
      routes: config.routes, trustedProxies: config.trusted_proxies, keepHeaders: config.har_file !== null ? 'all' : interactive, keyLogFd: settings.keyLogFd,
      workers: workerCount(config.workers, choice.spec), onMainThread: captureOnMainThread(config.workers, choice.spec,
        config.persist_dir !== null || config.plugins.length > 0 || config.har_file !== null) });
  }
  state.setNodes(settings.reads.map(sourceNodeName));
  return new NdjsonCapture(settings.reads, config.max_str_length, (node, note) => {
    state.nodeNotes.set(node, note);
    if (!interactive) env.writeErr(`wiretop: source ${node}: ${note}${note === 'ended' ? '' : '; the other sources go on'}\n`);
  }, config.average_bucket_size, (health) => { state.nodeDrops.set(health.node, health.drops); });
}
