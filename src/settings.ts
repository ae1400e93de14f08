/**
 * The settings a run uses: the defaults, the demo's presets, a config file and the flags, in
 * that order, checked key by key (`config.ts`) and then for meaning — routes that are paths,
 * proxies that are addresses, alert rules that parse — by the modules that own those values.
 * Plug-in paths in a file are relative to the file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { defaultConfig, validateConfig, type Config } from './config';
import { WiretopError } from './errors';
import { trustedProxies } from './http/clientAddress';
import { compileRoute } from './http/route';
import { alertRulesOf } from './alerts/ruleConfig';
import { compileFilter, filterProblem } from './filter/filter';
import { savedViews } from './filter/views';
import { useAgentData } from './stats/agents';
import { useNetworkDatabases } from './stats/networks';

/**
 * Defaults, then `presets` (the demo's short timings), then the file at `configPath` (if any),
 * then `overrides` from the command line.
 */
export function loadConfig(configPath: string | undefined, overrides: Partial<Config>, presets: Partial<Config> = {}): Config {
  let fromFile: Partial<Config> = {};
  if (configPath !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    } catch (error) {
      // JSON.parse quotes the start of the text: never echo a file's content (--config /etc/shadow).
      const reason = error instanceof SyntaxError ? 'not valid JSON' : (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      throw new WiretopError('config', `config file ${configPath}: ${reason}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new WiretopError('config', `config file ${configPath}: must hold a JSON object of settings`);
    }
    fromFile = validateConfig(parsed as Record<string, unknown>, configPath);
    // A config file's plug-ins are found beside it, not in whatever directory wiretop runs from
    // (as root, a relative path there could pick up a planted file).
    const base = path.dirname(path.resolve(configPath));
    if (fromFile.plugins !== undefined) fromFile.plugins = fromFile.plugins.map((plugin) => path.resolve(base, plugin));
    // Data files too: the same config means the same files, from wherever wiretop is started.
    if (typeof fromFile.agents_file === 'string') fromFile.agents_file = path.resolve(base, fromFile.agents_file);
    if (fromFile.geoip_files !== undefined) fromFile.geoip_files = fromFile.geoip_files.map((file) => path.resolve(base, file));
    if (typeof fromFile.persist_dir === 'string') fromFile.persist_dir = path.resolve(base, fromFile.persist_dir);
  }
  const flags = validateConfig(overrides as Record<string, unknown>, 'command line');
  const config = { ...defaultConfig(), ...presets, ...fromFile, ...flags };
  checkMeaning(config, flags.where !== undefined ? 'command line' : configPath ?? 'command line', configPath ?? 'command line');
  return config;
}

/**
 * Checks what the types alone cannot: routes that are paths, proxies that are addresses,
 * filters that compile. `whereOrigin`: where `where` came from (the flag says `--where`).
 */
function checkMeaning(config: Config, whereOrigin: string, origin: string): void {
  if (config.where !== null) {
    try {
      compileFilter(config.where);
    } catch (error) {
      throw new WiretopError('usage', `${whereOrigin === 'command line' ? '--where' : `${whereOrigin}: "where"`}: ${filterProblem(error)}`);
    }
  }
  try {
    useNetworkDatabases(config.geoip_files);
  } catch (error) {
    throw new WiretopError('config', `${origin}: "geoip_files": ${(error as Error).message}`);
  }
  try {
    useAgentData(config.agents_file);
  } catch (error) {
    throw new WiretopError('config', `${origin}: "agents_file": ${(error as Error).message}`);
  }
  try {
    savedViews(config.views);
  } catch (error) {
    throw new WiretopError('config', `${origin}: ${(error as Error).message}`);
  }
  for (const route of config.routes) {
    try {
      compileRoute(route);
    } catch (error) {
      throw new WiretopError('config', `${origin}: "routes": ${(error as Error).message} (write paths such as "/api/v{n}/users/:id")`);
    }
  }
  if (config.log_format !== 'text' && config.log_format !== 'json') throw new WiretopError('config', `${origin}: "log_format" must be "text" or "json"`);
  for (const url of config.webhooks) {
    if (!/^https?:\/\/[^/\s]+/.test(url)) throw new WiretopError('config', `${origin}: "webhooks": a webhook must be an http:// or https:// URL`);
  }
  try {
    alertRulesOf(config);
  } catch (error) {
    throw new WiretopError('config', `${origin}: ${(error as Error).message}`);
  }
  try {
    trustedProxies(config.trusted_proxies);
  } catch (error) {
    throw new WiretopError('config', `${origin}: "trusted_proxies": ${(error as Error).message} (write addresses or CIDRs such as "10.0.0.0/8")`);
  }
}
