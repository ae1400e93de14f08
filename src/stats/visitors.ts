/**
 * The visitors' view of the `agents` breakdown (one count per category, name, browser, OS and
 * device together): grouped by one part at a time, for the dashboard's visitors panel and the
 * report. The breakdown's keys are few (families, not raw strings), so the groups are exact
 * where the raw user agents' top list would be approximate.
 */
import { AGENT_CATEGORIES, AGENT_KEY_SEPARATOR, type AgentCategory } from './agents';
import { NETWORK_KEY_SEPARATOR } from './networks';
import type { HeavyHitter } from './spaceSaving';

/** One group: its name, requests, body bytes, and whether its count may be over-estimated. */
export interface VisitorRow {
  key: string;
  count: number;
  bytes: number;
  approximate: boolean;
}

/** The parts of an agent key, in order. */
export type AgentPart = 'category' | 'name' | 'browser' | 'os' | 'device';
const PARTS: readonly AgentPart[] = ['category', 'name', 'browser', 'os', 'device'];

/** The parts of a key of the `agents` breakdown. */
export function agentParts(key: string): Record<AgentPart, string> {
  const values = key.split(AGENT_KEY_SEPARATOR);
  return Object.fromEntries(PARTS.map((part, i) => [part, values[i] ?? ''])) as Record<AgentPart, string>;
}

/** Entries of a composite-key breakdown grouped by `label` of their key (null leaves an entry out), most requests first. */
function groupEntries(entries: readonly HeavyHitter[], label: (key: string) => string | null): VisitorRow[] {
  const groups = new Map<string, VisitorRow>();
  for (const entry of entries) {
    const key = label(entry.key);
    if (key === null) continue;
    const row = groups.get(key) ?? { key, count: 0, bytes: 0, approximate: false };
    row.count += entry.count;
    row.bytes += entry.bytes;
    row.approximate ||= entry.overcount > 0;
    groups.set(key, row);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

/** Entries of the `agents` breakdown grouped by `label` of their parts. */
export function groupAgents(entries: readonly HeavyHitter[], label: (parts: Record<AgentPart, string>) => string | null): VisitorRow[] {
  return groupEntries(entries, (key) => label(agentParts(key)));
}

/** What the visitors are: requests by category (all five, in a fixed order), by bot or tool, browser, OS and device. */
export interface Visitors {
  total: number;
  categories: VisitorRow[];
  /** Named crawlers, AI crawlers and tools: `GPTBot`, with their category. */
  bots: Array<VisitorRow & { category: AgentCategory }>;
  browsers: VisitorRow[];
  systems: VisitorRow[];
  devices: VisitorRow[];
}

/** `categories`: the exact counts by category (the `agentCategories` breakdown); else grouped from `entries`. */
export function visitorsOf(entries: readonly HeavyHitter[], total: number, categories?: readonly HeavyHitter[]): Visitors {
  const counted = categories === undefined ? groupAgents(entries, (p) => p.category)
    : categories.map((e) => ({ key: e.key, count: e.count, bytes: e.bytes, approximate: e.overcount > 0 }));
  const byCategory = new Map(counted.map((row) => [row.key, row]));
  const isBot = (category: string) => category === 'crawler' || category === 'ai-crawler' || category === 'tool';
  const botCategory = new Map<string, AgentCategory>();
  for (const entry of entries) {
    const parts = agentParts(entry.key);
    if (isBot(parts.category)) botCategory.set(parts.name, parts.category as AgentCategory);
  }
  return {
    total,
    categories: AGENT_CATEGORIES.map((category) => byCategory.get(category) ?? { key: category, count: 0, bytes: 0, approximate: false }),
    bots: groupAgents(entries, (p) => (isBot(p.category) ? p.name : null)).map((row) => ({ ...row, category: botCategory.get(row.key)! })),
    browsers: groupAgents(entries, (p) => (p.category === 'human' ? p.browser : null)),
    systems: groupAgents(entries, (p) => (p.category === 'human' && p.os !== '' ? p.os : null)),
    devices: groupAgents(entries, (p) => (p.category === 'human' ? p.device : null)),
  };
}

/** Where the clients are: requests by country and by network (`AS15169 GOOGLE`), from the `networks` breakdown. */
export interface Places {
  total: number;
  countries: VisitorRow[];
  networks: VisitorRow[];
}

export function placesOf(entries: readonly HeavyHitter[], total: number): Places {
  const group = (label: (country: string, asn: string, org: string) => string | null) => groupEntries(entries, (key) => {
    const [country = '', asn = '', org = ''] = key.split(NETWORK_KEY_SEPARATOR);
    return label(country, asn, org);
  });
  return {
    total,
    countries: group((country) => country || 'unknown'),
    networks: group((_country, asn, org) => (asn === '' ? 'unknown' : org === '' ? asn : `${asn} ${org}`)),
  };
}
