/**
 * Who is asking, from the User-Agent: a category (human, crawler, AI crawler, tool, unknown),
 * a name (the bot's or the tool's, or the browser family), and for browsers their major
 * version, operating system and device class. AI crawlers and tools come from data
 * (data/agents.json, or the config's `agents_file`), other crawlers from `isbot`, browsers from
 * `ua-parser-js` 1.x (MIT; its 2.x is AGPL). Parsing a User-Agent takes ~10-25 µs: each distinct
 * string is classified once and remembered (bounded), so the cost per request stays a lookup.
 */
import * as fs from 'fs';
import * as path from 'path';
import { isbotMatch } from 'isbot';
import { UAParser } from 'ua-parser-js';
import { memoized } from '../memo';
import { ownCopy } from '../protocol/sanitize';
import { UNKNOWN_TEXT } from '../types';

export type AgentCategory = 'human' | 'crawler' | 'ai-crawler' | 'tool' | 'unknown';

export const AGENT_CATEGORIES: readonly AgentCategory[] = ['human', 'crawler', 'ai-crawler', 'tool', 'unknown'];

/** What a User-Agent says of its sender. */
export interface Agent {
  category: AgentCategory;
  /** The bot's or the tool's name, the browser family (`Chrome`), or '' when unknown. */
  name: string;
  /** A browser with its major version (`Chrome 120`); '' for the rest. */
  browser: string;
  /** Operating system (`Windows`, `iOS`), '' when not said. */
  os: string;
  /** Device class: desktop, mobile, tablet, smarttv, console, wearable, embedded; '' for bots and tools. */
  device: string;
  /** The composite key the statistics count (the fields joined by KEY_SEPARATOR). */
  key: string;
}

/** One named agent of the data file: the text its User-Agent contains (any case). */
export interface NamedAgent {
  name: string;
  match: string;
}

/** The data file: AI crawlers and tools. */
export interface AgentData {
  aiCrawlers: NamedAgent[];
  tools: NamedAgent[];
}

/** Separates the parts of an agent's key (no User-Agent part holds it: strings are sanitised). */
export const AGENT_KEY_SEPARATOR = '\u0000';

/** Distinct User-Agents remembered, at most (then the memory starts again). */
const MAX_REMEMBERED = 4096;



/**
 * What of a User-Agent is read: its first 256 characters (real ones are 100–200; ua-parser-js
 * reads 500, at ~0.3 µs a character on hostile strings). Remembered by that cut, so a long
 * string repeated costs a lookup, and 4,096 remembered cuts hold at most 2 MB.
 */
const MAX_READ_LENGTH = 256;

/** The repository's data file. */
export const DEFAULT_AGENTS_FILE = path.join(__dirname, __filename.endsWith('.ts') ? '../..' : '../../..', 'data/agents.json');

/** Reads a data file; throws an Error saying what is wrong with it. */
export function readAgentData(file: string): AgentData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${error instanceof SyntaxError ? 'not valid JSON' : (error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const list = (key: string): NamedAgent[] => {
    const value = (parsed as Record<string, unknown>)[key];
    if (!Array.isArray(value)) throw new Error(`${file}: "${key}" must be a list of {"name", "match"}`);
    return value.map((item, i) => {
      const entry = item as Record<string, unknown>;
      if (typeof entry?.name !== 'string' || typeof entry.match !== 'string' || entry.name === '' || entry.match === '' || entry.name.length > 64) {
        throw new Error(`${file}: "${key}[${i}]" needs a "name" (up to 64 characters) and a "match" text`);
      }
      return { name: entry.name, match: entry.match.toLowerCase() };
    });
  };
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`${file}: must hold a JSON object with "ai_crawlers" and "tools"`);
  return { aiCrawlers: list('ai_crawlers'), tools: list('tools') };
}

/** A crawler's own name from its User-Agent: the product token that says bot, crawler or spider. */
const CRAWLER_NAME = /(?<![\w.-])([A-Za-z][\w.-]*?(?:bot|crawler|spider|slurp|fetcher|scanner|archiver)[A-Za-z-]*)/i;

/** Longest name a crawler gets (the sender chooses it). */
const MAX_NAME_LENGTH = 64;

/**
 * The name of a crawler: its product token that says bot, crawler or spider (`AhrefsBot`), else
 * the whole token isbot recognised it by (`HeadlessChrome`, `facebookexternalhit`), without its
 * version.
 */
function crawlerName(ua: string, matched: string): string {
  const name = tokenName(ua, matched);
  return name.length > MAX_NAME_LENGTH ? name.slice(0, MAX_NAME_LENGTH) : name;
}

function tokenName(ua: string, matched: string): string {
  const named = CRAWLER_NAME.exec(ua)?.[1];
  if (named !== undefined) return named;
  // A User-Agent that leads with its own product (`Scrapy/2.11`, `WhatsApp/2.23`) is named by it.
  const product = /^([A-Za-z][\w.-]*)\//.exec(ua)?.[1];
  if (product !== undefined && product !== 'Mozilla') return product;
  const at = ua.indexOf(matched);
  if (at < 0) return matched.trim();
  let start = at;
  let end = at + matched.length;
  while (start > 0 && /[A-Za-z0-9_.-]/.test(ua[start - 1])) start--;
  while (end < ua.length && /[A-Za-z_.-]/.test(ua[end])) end++;
  return ua.slice(start, end).split('/')[0].replace(/[._-]+$/, '') || matched.trim();
}

function agent(category: AgentCategory, name: string, browser = '', os = '', device = ''): Agent {
  return { category, name, browser, os, device, key: [category, name, browser, os, device].join(AGENT_KEY_SEPARATOR) };
}

const NO_AGENT = agent('unknown', '');

/** Classifies User-Agents, remembering each distinct one. */
export class AgentClassifier {
  private readonly classifyCut: (cut: string) => Agent = memoized((cut) => this.classifyNew(cut), MAX_REMEMBERED);

  constructor(private readonly data: AgentData) {}

  /** The agent of a User-Agent, each distinct (cut) string classified once. */
  classify(ua: string): Agent {
    // A fresh copy of the cut: a slice would keep the whole string alive in the memory.
    return this.classifyCut(ua.length > MAX_READ_LENGTH ? ownCopy(ua.slice(0, MAX_READ_LENGTH)) : ua);
  }

  private classifyNew(text: string): Agent {
    // None sent, or an HTTP/2 header compressed before the capture began: nothing to tell.
    if (text === '' || text === UNKNOWN_TEXT) return NO_AGENT;
    const lower = text.toLowerCase();
    const ai = this.data.aiCrawlers.find((a) => lower.includes(a.match));
    if (ai !== undefined) return agent('ai-crawler', ai.name);
    const tool = this.data.tools.find((t) => lower.includes(t.match));
    if (tool !== undefined) return agent('tool', tool.name);
    // A placeholder (`-`) or a string without a word says nothing: unknown, not a crawler.
    if (!/[A-Za-z]{2}/.test(text)) return NO_AGENT;
    const bot = isbotMatch(text);
    if (bot !== null) return agent('crawler', crawlerName(text, bot));
    const result = new UAParser(text).getResult();
    const family = result.browser.name;
    if (family === undefined) return NO_AGENT;
    const major = result.browser.major;
    return agent('human', family, major === undefined ? family : `${family} ${major}`, result.os.name ?? '', result.device.type ?? 'desktop');
  }
}

let shared: AgentClassifier | null = null;

/** The run's classifier: the one `useAgentData` set, else the repository's data. */
export function agentClassifier(): AgentClassifier {
  shared ??= new AgentClassifier(readAgentData(DEFAULT_AGENTS_FILE));
  return shared;
}

/** Classifies with `file`'s data from now on (the config's `agents_file`); throws on a bad file. */
export function useAgentData(file: string | null): void {
  shared = new AgentClassifier(readAgentData(file ?? DEFAULT_AGENTS_FILE));
}

/** The agent of a User-Agent, by the run's classifier. */
export function agentOf(ua: string): Agent {
  return agentClassifier().classify(ua);
}
