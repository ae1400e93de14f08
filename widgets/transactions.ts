/**
 * Single transactions: the list behind a panel's row (its most recent transactions, newest
 * first, following the traffic), the slowest of the window, and one transaction's detail.
 * Pure: what to list and how it reads; the dashboard shows it over the panels.
 */
import { bytes, clockTime, dateTime, milliseconds, wrap } from '../src/format';
import { endpointOf, grpcStatusName, processKeyOf, protocolOf, statusKeyOf, userAgentOf } from '../src/stats/classify';
import { statusTone } from '../src/stats/panelColumns';
import { agentOf } from '../src/stats/agents';
import { networkOf } from '../src/stats/networks';
import { UNKNOWN_TEXT, type HttpEvent } from '../src/types';
import type { Drill, PanelContent } from './view';
import { table } from './text';

/** Cells the host and URI keep in a list before other columns are dropped (at 80 columns: all but the bytes stay). */
export const URI_MIN_WIDTH = 34;

/** Transactions a list keeps, newest first. */
export const LIST_SIZE = 500;

/** Which transactions a row of a panel stands for, or null when its rows stand for none. */
export function rowMatcher(panelId: string, key: string, drill: Drill | null): ((event: HttpEvent) => boolean) | null {
  switch (panelId) {
    case 'sections':
      return drill === null ? (e) => e.section === key : (e) => endpointOf(e) === key;
    case 'endpoints':
      return (e) => endpointOf(e) === key;
    case 'domains':
      return drill === null ? (e) => e.host === key : (e) => e.host === drill.key && e.section === key;
    case 'userAgents':
      return (e) => userAgentOf(e) === key;
    case 'clients':
      return (e) => e.client === key;
    case 'networks': {
      const match = /^place:(country|asn):(.*)$/s.exec(key);
      if (match === null) return null;
      const value = match[2] === 'unknown' ? '' : match[2];
      return match[1] === 'country' ? (e) => networkOf(e.client).country === value : (e) => networkOf(e.client).asn === value;
    }
    case 'visitors': {
      // `visitor:PART:VALUE` (see presentVisitors); the part's headers have no key.
      const match = /^visitor:(category|name|browser|os):(.*)$/s.exec(key);
      if (match === null) return null;
      const part = match[1] as 'category' | 'name' | 'browser' | 'os';
      if (part === 'category') return (e) => agentOf(e.ua).category === match[2];
      // A bot's name is a bot's (a crawler may call itself Chrome); browsers and systems are the humans'.
      const bots: ReadonlySet<string> = new Set(part === 'name' ? ['crawler', 'ai-crawler', 'tool'] : ['human']);
      return (e) => {
        const agent = agentOf(e.ua);
        return bots.has(agent.category) && agent[part] === match[2];
      };
    }
    case 'nodes':
      return (e) => (e.node ?? '') === key;
    case 'processes':
      return drill === null ? (e) => processKeyOf(e) === key : (e) => processKeyOf(e) === drill.key && endpointOf(e) === key;
    case 'tls':
      // Decrypted transactions of a server name (and of one client, drilled).
      if (key === '') return null;
      return drill === null ? (e) => e.https === true && e.host === key : (e) => e.https === true && e.host === drill.key && e.client === key;
    case 'statuses':
      if (key.startsWith(METHOD_KEY)) return (e) => e.method === key.slice(METHOD_KEY.length);
      if (key.startsWith(PROTOCOL_KEY)) return (e) => protocolOf(e) === key.slice(PROTOCOL_KEY.length);
      return (e) => statusKeyOf(e) === key;
    default:
      return null;
  }
}

/** Keys of the method rows in the status panel (its codes are keyed by the code). */
export const METHOD_KEY = 'method:';
/** The prefix of a protocol row's key in the status panel (its other rows are status codes and methods). */
export const PROTOCOL_KEY = 'protocol:';

/** A list of transactions: what it shows, and whether it follows new traffic. */
export class TransactionList {
  /** Newest first. */
  events: HttpEvent[] = [];
  /** Each listed transaction's row key: stable while new ones push it down, so the selection follows it. */
  private readonly ids = new WeakMap<HttpEvent, string>();
  private nextId = 0;

  constructor(
    readonly title: string,
    private readonly matches: (event: HttpEvent) => boolean,
    /** A live list takes new transactions as they come; the slowest list is recomputed instead. */
    readonly live: boolean,
    /** How the list is ordered, as its title says it. */
    private readonly order = 'newest first',
  ) {}

  /** Starts from transactions already seen (oldest first). */
  prime(events: readonly HttpEvent[]): void {
    const kept: HttpEvent[] = [];
    for (let i = events.length - 1; i >= 0 && kept.length < LIST_SIZE; i--) if (this.matches(events[i])) kept.push(events[i]);
    this.events = kept;
  }

  /** New transactions (oldest first). */
  add(events: readonly HttpEvent[]): void {
    const fresh: HttpEvent[] = [];
    for (let i = events.length - 1; i >= 0 && fresh.length < LIST_SIZE; i--) if (this.matches(events[i])) fresh.push(events[i]);
    if (fresh.length === 0) return;
    this.events = fresh.concat(this.events);
    if (this.events.length > LIST_SIZE) this.events.length = LIST_SIZE;
  }

  private idOf(event: HttpEvent): string {
    let id = this.ids.get(event);
    if (id === undefined) {
      id = String(this.nextId++);
      this.ids.set(event, id);
    }
    return id;
  }

  /** The listed transaction of a row key, or null. */
  eventOf(key: string): HttpEvent | null {
    return this.events.find((e) => this.idOf(e) === key) ?? null;
  }

  /** The list as a panel: one row per transaction, keyed by the transaction. */
  content(width: number): PanelContent {
    // A merged view of several servers says which one each transaction is from.
    const nodes = this.events.some((e) => e.node !== undefined);
    const rows = this.events.map((e) => [
      ...(nodes ? [e.node ?? ''] : []), clockTime(e.ts), e.client, e.method, `${e.https === true ? 'https://' : ''}${e.host}${e.uri}`, statusKeyOf(e),
      e.latencyMs === null ? '-' : `${milliseconds(e.latencyMs)}ms`, bytes(e.reqBytes + e.respBytes, 'compact'),
    ]);
    // The URI is what a list is read for: the other columns shrink, then go, to give it room.
    const { header, lines } = table([
      ...(nodes ? [{ header: 'Node', width: 10, minWidth: 8, priority: 5 }] : []),
      { header: 'Time', width: 8, priority: 6 },
      { header: 'Client', width: 15, minWidth: 12, priority: 4 },
      { header: 'Method', width: 7, minWidth: 6, priority: 5 },
      { header: 'Host and URI', width: 0, minWidth: URI_MIN_WIDTH, priority: 9 },
      { header: 'Status', width: 6, alignRight: true, priority: 8 },
      { header: 'Latency', width: 8, minWidth: 7, alignRight: true, priority: 7 },
      { header: 'Bytes', width: 6, alignRight: true, priority: 3 },
    ], rows, width);
    const tones = this.events.map((e) => statusTone(statusKeyOf(e)));
    return {
      title: `${this.title}: ${this.events.length}${this.events.length === LIST_SIZE ? ' (the last)' : ''}, ${this.order} — Enter detail, Esc back`,
      header, lines, tones, keys: this.events.map((e) => this.idOf(e)),
    };
  }
}

/** One transaction in full: request, response, timings, connection. Secrets are never kept, only said to be there. */
export function detailLines(e: HttpEvent, width: number): string[] {
  const lines: string[] = [];
  const add = (text: string) => lines.push(...wrap(text, width));
  add(`${e.method} ${e.uri} HTTP/${e.version}${e.streamId !== undefined ? ` (stream ${e.streamId})` : ''}`);
  if (e.uriTruncated) add('  (the URI was longer than 8 KiB: cut here)');
  add(`Host: ${e.host}`);
  if (e.ua !== '') add(`User-Agent: ${e.ua}`);
  for (const header of e.requestHeaders === '' ? [] : e.requestHeaders.split('\n')) add(header);
  if (e.reqBytes > 0) add(`(request body: ${e.reqBytes} bytes)`);
  lines.push('');
  if (e.status === null) {
    add('No response seen (unanswered, or the connection ended first).');
  } else {
    add(`Response: ${e.status}`);
    for (const header of e.responseHeaders === '' ? [] : e.responseHeaders.split('\n')) add(header);
    add(`(response body: ${e.respBytes} bytes)`);
  }
  if (e.grpcMethod !== undefined) {
    const status = e.grpcStatus === null || e.grpcStatus === undefined ? 'none seen' : `${e.grpcStatus} ${grpcStatusName(e.grpcStatus)}`;
    add(`gRPC: ${e.grpcMethod}, status ${status}${e.grpcMessage ? `: ${e.grpcMessage}` : ''}`);
    add(`  messages: ${e.grpcRequestMessages ?? 0} sent, ${e.grpcResponseMessages ?? 0} received`);
  }
  if (e.method === UNKNOWN_TEXT || e.uri === UNKNOWN_TEXT) {
    add('(<unknown>: HTTP/2 headers compressed against entries sent before the capture began)');
  }
  lines.push('');
  add('Timings:');
  add(`  request start        ${dateTime(Math.floor(e.ts))} (${preciseClock(e.ts)})`);
  if (e.latencyMs !== null) {
    add(`  first response byte  ${preciseClock(e.ts + e.latencyMs / 1000)}`);
    add(`  latency              ${milliseconds(e.latencyMs)} ms`);
  }
  lines.push('');
  add(`Connection: ${e.src}:${e.sport} → ${e.dst}:${e.dport}${e.node !== undefined ? ` on ${e.node}` : ''}${e.https === true ? ' (HTTPS, decrypted with the key log)' : ''}`);
  if (e.client !== e.src) add(`Client: ${e.client} (forwarded by the trusted proxy ${e.src})`);
  const owner = e.owner;
  if (owner !== undefined) {
    add(`Process: ${owner.process} (pid ${owner.pid}, user ${owner.user})${owner.container !== '' ? ` in container ${owner.container}` : ''}`);
    if (owner.commandLine !== '') add(`  ${owner.commandLine}`);
  }
  add(`Endpoint: ${endpointOf(e)}`);
  return lines;
}

/** `21:33:16.123456` (UTC) for epoch seconds: the timings need more than the second. */
function preciseClock(epochSeconds: number): string {
  const micros = Math.round((epochSeconds - Math.floor(epochSeconds)) * 1e6);
  return `${clockTime(Math.floor(epochSeconds))}.${String(Math.min(micros, 999_999)).padStart(6, '0')}`;
}
