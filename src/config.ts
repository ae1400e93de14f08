/**
 * The settings: `config/default.json` holds every key and its default, `--config FILE` overrides
 * it, command-line flags override both. `config/schema.json` describes and bounds every key;
 * an unknown key, a wrong type or a value out of range is an error that names the key (and
 * never quotes the file). This module knows keys and types only, so that every layer may read
 * a Config; `settings.ts` loads a file and checks what the values mean.
 */
import * as fs from 'fs';
import * as path from 'path';
import { WiretopError } from './errors';

/** Every setting, with the names used in config files. */
export interface Config {
  timeout: number;
  dashboard_bucket_size: number;
  average_bucket_size: number;
  average_threshold: number;
  average_learning_duration: number;
  threshold_rps: number | null;
  max_str_length: number;
  max_top_hits: number;
  max_retention_length: number;
  refresh: number;
  buffer_size: number;
  snap_length: number;
  capture_nice: number;
  /** Capture worker threads (0: chosen from the cores). */
  workers: number;
  promiscuous: boolean;
  zero_copy: boolean;
  user: string;
  memory_budget_mb: number;
  plugins: string[];
  routes: string[];
  trusted_proxies: string[];
  /** Alert rules as written (checked by parseAlertRules). */
  alerts: unknown[];
  on_alert: string | null;
  webhooks: string[];
  log_file: string | null;
  /** An NSS key log to decrypt TLS with (`--keylog`). */
  keylog_file: string | null;
  log_format: string;
  metrics_listen: string | null;
  metrics_top_k: number;
  /** The name --ndjson lines carry (`--node`). */
  node: string | null;
  /** The filter of every output (`--where`; the dashboard's starting `/` filter). */
  where: string | null;
  /** Saved views of the dashboard, as written (checked by savedViews). */
  views: unknown[];
  /** Write the transactions to this HAR file at the end (`--har`). */
  har_file: string | null;
  /** Where the dashboard writes its exports; null: the working directory. */
  export_dir: string | null;
  /** AI crawlers and tools to recognise (null: data/agents.json). */
  agents_file: string | null;
  /** MaxMind-format databases for countries and networks. */
  geoip_files: string[];
  /** Keep the statistics and the alert state here across restarts (`--persist`); null: not kept. */
  persist_dir: string | null;
  /** Wall-time seconds between saves of persist_dir. */
  persist_interval: number;
  /** Name each live connection's program on this host (`--processes`). */
  processes: boolean;
  /** Wall-time seconds between scans of /proc for it. */
  processes_interval: number;
}

/** A key's command-line flag: `--name` (and `-alias`), and its line in --help. */
export interface FlagSchema {
  name: string;
  /** A one-letter alias. */
  alias?: string;
  /** What --help says (the description is for config files); the key is added after it. */
  help: string;
  /** Said after the key in --help's parenthesis: a default, a --no- form. */
  note?: string;
}

/** What config/schema.json says of a key: its type, its bounds, its description, its flag. */
export interface KeySchema {
  type: 'number' | 'integer' | 'boolean' | 'string' | 'string[]' | 'object[]';
  nullable?: boolean;
  min?: number;
  max?: number;
  description: string;
  /** The flag that sets it, for keys with one (the command line is made from these). */
  flag?: FlagSchema;
}

const CONFIG_DIR = path.resolve(__dirname, __filename.endsWith('.ts') ? '../config' : '../../config');

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** The schema of every key. */
export function configSchema(): Record<string, KeySchema> {
  return readJson(path.join(CONFIG_DIR, 'schema.json')) as Record<string, KeySchema>;
}

/** The defaults from config/default.json. */
export function defaultConfig(): Config {
  return readJson(path.join(CONFIG_DIR, 'default.json')) as Config;
}

/** A value as an error line may quote it: short, so that no file's content is echoed. */
function quoteShort(value: unknown): string {
  const text = typeof value === 'string' ? 'a string' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : String(value);
  return text.length > 24 ? `${text.slice(0, 23)}…` : text;
}

function checkValue(key: string, value: unknown, schema: KeySchema, origin: string): void {
  const where = `${origin}: "${key}"`;
  if (value === null) {
    if (schema.nullable) return;
    throw new WiretopError('config', `${where} must not be null`);
  }
  if (schema.type === 'object[]') {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'object' || v === null || Array.isArray(v))) {
      throw new WiretopError('config', `${where} must be a list of objects`);
    }
    return;
  }
  if (schema.type === 'string[]') {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
      throw new WiretopError('config', `${where} must be a list of strings`);
    }
    return;
  }
  if (schema.type === 'string') {
    if (typeof value !== 'string' || value === '') throw new WiretopError('config', `${where} must be a non-empty string`);
    return;
  }
  if (schema.type === 'boolean') {
    if (typeof value !== 'boolean') throw new WiretopError('config', `${where} must be true or false, not ${quoteShort(value)}`);
    return;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new WiretopError('config', `${where} must be a number, not ${quoteShort(value)}`);
  }
  if (schema.type === 'integer' && !Number.isInteger(value)) {
    throw new WiretopError('config', `${where} must be a whole number, not ${value}`);
  }
  if ((schema.min !== undefined && value < schema.min) || (schema.max !== undefined && value > schema.max)) {
    throw new WiretopError('config', `${where} is ${value}, out of range ${schema.min ?? '-∞'}..${schema.max ?? '∞'}`);
  }
}

/** Checks a partial config (from a file or the flags); throws on the first bad key. */
export function validateConfig(values: Record<string, unknown>, origin: string): Partial<Config> {
  const schema = configSchema();
  for (const [key, value] of Object.entries(values)) {
    // Own keys only: "__proto__" or "constructor" are unknown keys, not Object.prototype's.
    const keySchema = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (keySchema === undefined) {
      const shown = key.length > 40 ? `${key.slice(0, 39)}…` : key;
      throw new WiretopError('config', `${origin}: unknown key ${JSON.stringify(shown)} (known keys: ${Object.keys(schema).join(', ')})`);
    }
    checkValue(key, value, keySchema, origin);
  }
  return values as Partial<Config>;
}
