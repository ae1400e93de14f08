/**
 * The fields a filter can name: what each reads from a transaction, and what kind of value it
 * compares (so `latency > 1s` knows seconds, `status = 5xx` a class, `client = 10.0.0.0/8` a
 * network). One table: the compiler, the help screen and the README's list come from it.
 */
import { pathOf } from '../http/route';
import { agentOf } from '../stats/agents';
import { networkOf } from '../stats/networks';
import { grpcStatusName, isErrorEvent, protocolOf } from '../stats/classify';
import type { HttpEvent } from '../types';

/** How a field's values are written and compared. */
export type FieldKind =
  /** Text: = != (exact, `*` as wildcard), ~ !~ (RE2), in. */
  | 'text'
  /** Numbers: every operator, ranges `a..b`; `unit` says how a value is written. */
  | 'number'
  /** An address and port: = != in with IPs, CIDR networks and ports; ~ !~ on the text. */
  | 'address'
  /** Yes or no: alone, or = true/false. */
  | 'flag';

/** What a number is, for how its values are written: `500ms`, `2k`, `5xx`. */
export type NumberUnit = 'status' | 'duration' | 'bytes' | 'plain';

interface FieldBase {
  name: string;
  description: string;
}

export interface TextField extends FieldBase {
  kind: 'text';
  get: (e: HttpEvent) => string;
  /** Compared with = and in without regard to case (methods, host names). */
  caseless: boolean;
}

export interface NumberField extends FieldBase {
  kind: 'number';
  /** The value, or null when the transaction has none (no response, no latency). */
  get: (e: HttpEvent) => number | null;
  unit: NumberUnit;
  /** Named values a number may also be written as (gRPC status names). */
  names?: ReadonlyMap<string, number>;
  /** A transaction may have no value (`none` selects those). */
  nullable?: boolean;
}

export interface AddressField extends FieldBase {
  kind: 'address';
  ip: (e: HttpEvent) => string;
  port: (e: HttpEvent) => number;
}

export interface FlagField extends FieldBase {
  kind: 'flag';
  get: (e: HttpEvent) => boolean;
}

export type Field = TextField | NumberField | AddressField | FlagField;

const GRPC_NAMES: ReadonlyMap<string, number> = new Map(Array.from({ length: 17 }, (_, code) => [grpcStatusName(code).toLowerCase(), code]));

/** The server's port, for `server`; the client's port when the client is the TCP peer (not a forwarded address). */
function clientPort(e: HttpEvent): number {
  return e.client === e.src ? e.sport : -1;
}

/** A crawler's, AI crawler's or tool's name; '' for browsers and the unknown. */
function botOf(e: HttpEvent): string {
  const agent = agentOf(e.ua);
  return agent.category === 'human' || agent.category === 'unknown' ? '' : agent.name;
}

export const FIELDS: readonly Field[] = [
  { name: 'method', kind: 'text', caseless: true, get: (e) => e.method, description: 'request method: method in (POST, PUT)' },
  { name: 'host', kind: 'text', caseless: true, get: (e) => e.host, description: 'Host header without port (else the server address): host = *.example.com' },
  { name: 'path', kind: 'text', caseless: false, get: (e) => pathOf(e.uri), description: 'URI path, no query: path ~ ^/api/' },
  { name: 'uri', kind: 'text', caseless: false, get: (e) => e.uri, description: 'URI as sent, with its query: uri ~ "debug=1"' },
  { name: 'route', kind: 'text', caseless: false, get: (e) => e.route, description: 'route template: route = /users/{id}' },
  { name: 'section', kind: 'text', caseless: false, get: (e) => e.section, description: 'first path segment: section = /api' },
  { name: 'status', kind: 'number', unit: 'status', nullable: true, get: (e) => e.status, description: 'response status: status = 5xx, status in (401, 403), status >= 400, status = 500..503' },
  { name: 'latency', kind: 'number', unit: 'duration', nullable: true, get: (e) => e.latencyMs, description: 'request → first response byte (ms unless a unit: us, ms, s, m): latency > 500ms' },
  { name: 'req_bytes', kind: 'number', unit: 'bytes', get: (e) => e.reqBytes, description: 'request body bytes (k, m, g = 1024¹ ²  ³): req_bytes > 1m' },
  { name: 'resp_bytes', kind: 'number', unit: 'bytes', get: (e) => e.respBytes, description: 'response body bytes: resp_bytes = 0' },
  { name: 'client', kind: 'address', ip: (e) => e.client, port: clientPort, description: 'client address (forwarded by a trusted proxy, else the TCP peer): client = 10.0.0.0/8' },
  { name: 'server', kind: 'address', ip: (e) => e.dst, port: (e) => e.dport, description: 'server address and port: server = :8080, server = 10.1.2.3:443' },
  { name: 'client_port', kind: 'number', unit: 'plain', get: (e) => e.sport, description: 'the client\'s TCP port' },
  { name: 'server_port', kind: 'number', unit: 'plain', get: (e) => e.dport, description: 'the server\'s TCP port: server_port in (8080, 8443)' },
  { name: 'ua', kind: 'text', caseless: false, get: (e) => e.ua, description: 'User-Agent: ua ~ (?i)bot' },
  { name: 'protocol', kind: 'text', caseless: true, get: protocolOf, description: 'HTTP/1.0, HTTP/1.1, HTTP/2 or gRPC: protocol = HTTP/2' },
  { name: 'sni', kind: 'text', caseless: true, get: (e) => e.sni ?? '', description: 'TLS server name of a decrypted HTTPS transaction (empty otherwise)' },
  { name: 'node', kind: 'text', caseless: false, get: (e) => e.node ?? '', description: 'server the transaction was seen on, in a merged view' },
  { name: 'grpc_method', kind: 'text', caseless: false, get: (e) => e.grpcMethod ?? '', description: 'gRPC method, package.Service/Method' },
  { name: 'grpc_status', kind: 'number', unit: 'plain', names: GRPC_NAMES, nullable: true, get: (e) => e.grpcStatus ?? null, description: 'gRPC status code or name: grpc_status != OK' },
  { name: 'category', kind: 'text', caseless: true, get: (e) => agentOf(e.ua).category, description: 'who is asking: human, crawler, ai-crawler, tool or unknown: category != human' },
  { name: 'bot', kind: 'text', caseless: true, get: botOf, description: 'the crawler\'s, AI crawler\'s or tool\'s name (empty for browsers): bot = GPTBot, bot != ""' },
  { name: 'ua_family', kind: 'text', caseless: true, get: (e) => agentOf(e.ua).name, description: 'the browser family, or the bot\'s or tool\'s name: ua_family = Chrome' },
  { name: 'os', kind: 'text', caseless: true, get: (e) => agentOf(e.ua).os, description: 'the browser\'s operating system: os in (iOS, Android)' },
  { name: 'device', kind: 'text', caseless: true, get: (e) => agentOf(e.ua).device, description: 'desktop, mobile, tablet, smarttv, console, wearable or embedded (browsers): device = mobile' },
  { name: 'country', kind: 'text', caseless: true, get: (e) => networkOf(e.client).country, description: 'the client\'s country (ISO code, with --geoip) or range (private, loopback, link-local, shared, documentation): country in (US, CA)' },
  { name: 'asn', kind: 'text', caseless: true, get: (e) => networkOf(e.client).asn, description: 'the client\'s network (with a --geoip ASN database): asn = AS15169' },
  { name: 'asn_org', kind: 'text', caseless: false, get: (e) => networkOf(e.client).org, description: 'the network\'s organisation: asn_org ~ (?i)amazon' },
  { name: 'process', kind: 'text', caseless: false, get: (e) => e.owner?.process ?? '', description: 'with --processes: the program on this host the connection belongs to (command name; empty when none): process = nginx' },
  { name: 'pid', kind: 'number', unit: 'plain', nullable: true, get: (e) => e.owner?.pid ?? null, description: 'with --processes: its process id' },
  { name: 'user', kind: 'text', caseless: false, get: (e) => e.owner?.user ?? '', description: 'with --processes: the user it runs as: user != root' },
  { name: 'cmdline', kind: 'text', caseless: false, get: (e) => e.owner?.commandLine ?? '', description: 'with --processes: its command line: cmdline ~ "http.server"' },
  { name: 'container', kind: 'text', caseless: false, get: (e) => e.owner?.container ?? '', description: 'with --processes: its container, runtime:id (empty on the host): container ~ ^docker:' },
  { name: 'unanswered', kind: 'flag', get: (e) => e.status === null, description: 'no response was seen' },
  { name: 'error', kind: 'flag', get: isErrorEvent, description: '5xx, unanswered, or a failed gRPC call (the error rule of every panel)' },
  { name: 'https', kind: 'flag', get: (e) => e.https === true, description: 'decrypted from TLS with the key log' },
];

const BY_NAME: ReadonlyMap<string, Field> = new Map(FIELDS.map((f) => [f.name, f]));

/** The field of a name (lower case), or undefined. */
export function fieldNamed(name: string): Field | undefined {
  return BY_NAME.get(name);
}

/** Every field's name, for an error that lists them. */
export function fieldNames(): string {
  return FIELDS.map((f) => f.name).join(', ');
}
