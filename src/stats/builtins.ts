/**
 * The built-in statistics, declared as data: one row per statistic, in the order reports and
 * plug-in name checks see them. A top-N breakdown is its key, its summary size, whether it
 * keeps latency, and its columns; `requests` and `slowest` are modules of their own.
 */
import type { Config } from '../config';
import type { HttpEvent } from '../types';
import { endpointOf, KEY_SEPARATOR, processKeyOf, protocolOf, statusKeyOf, userAgentOf } from './classify';
import {
  CLIENT_COLUMNS, DOMAIN_COLUMNS, ENDPOINT_COLUMNS, METHOD_COLUMNS, NODE_COLUMNS, PROTOCOL_COLUMNS, SECTION_COLUMNS, STATUS_COLUMNS,
  URI_COLUMNS, USER_AGENT_COLUMNS, AGENT_COLUMNS, NETWORK_COLUMNS, PROCESS_COLUMNS,
} from './panelColumns';
import { networkOf, networksEnabled } from './networks';
import { agentOf } from './agents';
import { RequestsModule } from './requestsModule';
import { SlowestModule } from './slowest';
import { UniqueVisitorsModule } from './uniqueVisitors';
import type { StatModule } from './statModule';
import { KeyBudget } from './keyBudget';
import { TopModule, UNUSED_KEY, type TopStatistic } from './topModule';
import { LARGE, MEDIUM, SMALL } from './windowedTopK';

/** A breakdown's row: a TopStatistic whose key is made per run (it may read the config, or keep a cache). */
interface BreakdownRow extends Omit<TopStatistic, 'keyOf'> {
  name: string;
  key: (config: Config) => (event: HttpEvent) => string;
}

/** A statistic that is a module of its own. */
interface ModuleRow {
  name: string;
  make: (config: Config) => StatModule;
}

const BUILTIN_STATISTICS = [
  { name: 'requests', make: (config: Config) => new RequestsModule(config) },
  { name: 'sections', key: () => (e) => e.section, capacity: MEDIUM, keepsLatency: true, columns: SECTION_COLUMNS },
  { name: 'domains', key: () => (e) => e.host, capacity: MEDIUM, keepsLatency: true, columns: DOMAIN_COLUMNS },
  { name: 'userAgents', key: () => userAgentOf, capacity: MEDIUM, keepsLatency: false, columns: USER_AGENT_COLUMNS },
  // Who is asking: category, bot or browser, OS, device (see agents.ts); the visitors panel and the report group its keys.
  { name: 'agents', key: () => (e) => agentOf(e.ua).key, capacity: MEDIUM, keepsLatency: false, columns: AGENT_COLUMNS },
  // The five categories alone: exact whatever a flood of distinct bot names does to the breakdown above.
  { name: 'agentCategories', key: () => (e) => agentOf(e.ua).category, capacity: SMALL, keepsLatency: false, columns: AGENT_COLUMNS },
  // Countries and networks (autonomous systems) of the clients, with a --geoip database; one empty key without (a
  // snapshot taken back into a run with a database shows that traffic as unknown: --geoip is no setting of --persist's).
  { name: 'networks', key: () => (networksEnabled() ? (e) => networkOf(e.client).key : () => ''), capacity: MEDIUM, keepsLatency: false, columns: NETWORK_COLUMNS },
  { name: 'methods', key: () => (e) => e.method, capacity: SMALL, keepsLatency: false, columns: METHOD_COLUMNS },
  { name: 'statuses', key: () => statusKeyOf, capacity: SMALL, keepsLatency: false, columns: STATUS_COLUMNS },
  // A URI may be 8 KiB: the summaries keep it within max_str_length (a fresh copy, not a slice pinning the whole).
  { name: 'uris', key: (config) => (e) => boundedKey(e.uri, config.max_str_length), capacity: LARGE, keepsLatency: false, columns: URI_COLUMNS },
  { name: 'domainSections', key: () => domainSectionKeys(), capacity: MEDIUM, keepsLatency: true, columns: SECTION_COLUMNS },
  { name: 'endpoints', key: () => endpointKeys(), capacity: LARGE, keepsLatency: true, columns: ENDPOINT_COLUMNS },
  { name: 'clients', key: () => (e) => e.client, capacity: MEDIUM, keepsLatency: false, columns: CLIENT_COLUMNS },
  { name: 'slowest', make: (config: Config) => new SlowestModule(config) },
  // Distinct (client, User-Agent) pairs per UTC day, as GoAccess counts visitors.
  { name: 'uniqueVisitors', make: (config: Config) => new UniqueVisitorsModule(config) },
  // HTTP/1.x, HTTP/2 and gRPC side by side.
  { name: 'protocols', key: () => protocolOf, capacity: SMALL, keepsLatency: true, columns: PROTOCOL_COLUMNS },
  // The program on this host of each connection (--processes), and its endpoints (the panel's drill-down); nothing counted without.
  { name: 'processes', key: (config) => (config.processes ? processKeyOf : UNUSED_KEY), capacity: MEDIUM, keepsLatency: true, columns: PROCESS_COLUMNS },
  { name: 'processEndpoints', key: (config) => (config.processes ? processEndpointKeys() : UNUSED_KEY), capacity: LARGE, keepsLatency: true, columns: ENDPOINT_COLUMNS },
  // The servers of a merged view (`-r a -r b` of --ndjson streams); one empty key otherwise.
  { name: 'nodes', key: () => (e) => e.node ?? '', capacity: SMALL, keepsLatency: true, columns: NODE_COLUMNS },
] as const satisfies ReadonlyArray<BreakdownRow | ModuleRow>;

type BuiltinRow = (typeof BUILTIN_STATISTICS)[number];

/** Every built-in module, by name: a module of its own as its maker makes it, a breakdown as a TopModule. */
export type BuiltinModules = {
  [Row in BuiltinRow as Row['name']]: Row extends { make: (config: Config) => infer Module } ? Module : TopModule;
};

/** The names the built-in modules take (a plug-in may not reuse them). */
export const BUILTIN_MODULE_NAMES: ReadonlyArray<keyof BuiltinModules> = BUILTIN_STATISTICS.map((row) => row.name);

/** Creates the built-in modules for a config, in the table's order. */
export function createBuiltinModules(config: Config, keys = KeyBudget.unbounded()): BuiltinModules {
  const modules: Record<string, StatModule> = {};
  for (const row of BUILTIN_STATISTICS) {
    modules[row.name] = 'make' in row ? row.make(config) : new TopModule(row.name, { ...row, keyOf: row.key(config) }, config, keys);
  }
  return modules as BuiltinModules;
}

/**
 * Distinct routes whose endpoint keys are kept for reuse, at most (then the cache starts over):
 * with routes of at most MAX_CACHED_ROUTE_LENGTH and 16 methods each, ~5 MB at worst.
 */
const MAX_CACHED_ROUTES = 1024;
/** Longer routes' keys are made each time (see endpointKeys). */
const MAX_CACHED_ROUTE_LENGTH = 128;

/**
 * endpointOf with the keys kept: a key made per event is a new string to hash for every lookup
 * of the summaries, while a route (shared by the events of a batch) keeps its hash.
 */
function endpointKeys(): (event: HttpEvent) => string {
  const byRoute = new Map<string, Map<string, string>>();
  return (event) => {
    // A long route seldom repeats: kept, a flood of distinct ones would hold megabytes here.
    if (event.route.length > MAX_CACHED_ROUTE_LENGTH) return endpointOf(event);
    let byMethod = byRoute.get(event.route);
    if (byMethod === undefined) {
      if (byRoute.size >= MAX_CACHED_ROUTES) byRoute.clear();
      byMethod = new Map();
      byRoute.set(event.route, byMethod);
    }
    let key = byMethod.get(event.method);
    if (key === undefined) {
      key = endpointOf(event);
      if (byMethod.size < 16) byMethod.set(event.method, key);
    }
    return key;
  };
}

/** Programs whose endpoint keys are kept for reuse, at most (then the cache starts over). */
const MAX_CACHED_PROCESSES = 256;
/** Hosts whose host + section keys are kept for reuse, at most (then the cache starts over). */
const MAX_CACHED_HOSTS = 256;

/** Composite keys kept for reuse by one pairKeys, at most (then its cache starts over): ~4 MB at worst. */
const MAX_CACHED_PAIRS = 8192;

/**
 * Composite keys (`first` + separator + `second`) made once per pair and kept for reuse, like
 * endpointKeys': at most `maxFirst` firsts and MAX_CACHED_PAIRS keys, both parts at most
 * MAX_CACHED_ROUTE_LENGTH characters (a pair with a longer part has its key made each time).
 */
export function pairKeys(maxFirst: number): (first: string, second: string) => string {
  const byFirst = new Map<string, Map<string, string>>();
  let cached = 0;
  return (first, second) => {
    if (first.length > MAX_CACHED_ROUTE_LENGTH || second.length > MAX_CACHED_ROUTE_LENGTH) return `${first}${KEY_SEPARATOR}${second}`;
    let keys = byFirst.get(first);
    let key = keys?.get(second);
    if (key !== undefined) return key;
    key = `${first}${KEY_SEPARATOR}${second}`;
    if (cached >= MAX_CACHED_PAIRS || (keys === undefined && byFirst.size >= maxFirst)) {
      byFirst.clear();
      cached = 0;
      keys = undefined;
    }
    if (keys === undefined) byFirst.set(first, keys = new Map());
    keys.set(second, key);
    cached++;
    return key;
  };
}

/** A program's endpoint keys (`nginx` + separator + `GET /users/{id}`). */
function processEndpointKeys(): (event: HttpEvent) => string {
  const endpointKey = endpointKeys();
  const pairKey = pairKeys(MAX_CACHED_PROCESSES);
  return (event) => pairKey(processKeyOf(event), endpointKey(event));
}

/** Host + section keys: the pairs recur, and a key made per event would be a new string to hash in each lookup. */
function domainSectionKeys(): (event: HttpEvent) => string {
  const pairKey = pairKeys(MAX_CACHED_HOSTS);
  return (event) => pairKey(event.host, event.section);
}

/** `text` within `maxLength`, as a string of its own when cut (a slice would keep the original alive). */
export function boundedKey(text: string, maxLength: number): string {
  return text.length <= maxLength ? text : Buffer.from(text.slice(0, maxLength), 'utf16le').toString('utf16le');
}
