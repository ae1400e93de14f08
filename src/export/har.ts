/**
 * Transactions as HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/), the format browser
 * dev tools, proxies and HAR viewers read. What the wire gave is written; what it did not is
 * said the way the spec says unknowns: -1 sizes, empty cookies (their values are secrets
 * wiretop never reads), no bodies (wiretop counts their bytes, it does not keep them). Header
 * values a secret header had are never kept: `Authorization: present, not shown` is written as
 * the capture kept it. Custom fields start with `_`, as the spec asks.
 */
import { statusKeyOf } from '../stats/classify';
import { UNKNOWN_TEXT, type HttpEvent } from '../types';

export interface HarHeader {
  name: string;
  value: string;
}

export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    cookies: never[];
    headers: HarHeader[];
    queryString: HarHeader[];
    headersSize: number;
    bodySize: number;
  };
  response: {
    status: number;
    statusText: string;
    httpVersion: string;
    cookies: never[];
    headers: HarHeader[];
    content: { size: number; mimeType: string };
    redirectURL: string;
    headersSize: number;
    bodySize: number;
    _error?: string;
  };
  cache: Record<string, never>;
  timings: { blocked: number; dns: number; connect: number; ssl: number; send: number; wait: number; receive: number };
  serverIPAddress: string;
  connection: string;
  comment?: string;
  _client: string;
  _clientAddress: string;
  _node?: string;
  _grpc?: { method: string; status: number | null; message: string };
}

export interface HarLog {
  log: {
    version: '1.2';
    creator: { name: string; version: string };
    pages: never[];
    entries: HarEntry[];
    comment?: string;
  };
}

/** Reason phrases of the common codes (HTTP/2 sends none; an HTTP/1 server's own is not kept). */
const REASONS: Record<number, string> = {
  100: 'Continue', 101: 'Switching Protocols', 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 206: 'Partial Content',
  301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout',
  409: 'Conflict', 410: 'Gone', 413: 'Content Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Content', 429: 'Too Many Requests',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** The kept header lines (`Name: value`) of a message as HAR headers. */
export function headerList(lines: string): HarHeader[] {
  if (lines === '') return [];
  return lines.split('\n').map((line) => {
    const colon = line.indexOf(':');
    return colon < 0 ? { name: line, value: '' } : { name: line.slice(0, colon), value: line.slice(colon + 1).trimStart() };
  });
}

function headerValue(headers: readonly HarHeader[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find((h) => h.name.toLowerCase() === lower)?.value;
}

/** The scheme of a transaction: https when decrypted from TLS, else http. */
function schemeOf(e: HttpEvent): 'http' | 'https' {
  return e.https === true ? 'https' : 'http';
}

/** `host[:port]` of the URL: the port when it is not the scheme's own. */
function authorityOf(e: HttpEvent): string {
  const host = e.host === UNKNOWN_TEXT ? e.dst : e.host;
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const defaultPort = schemeOf(e) === 'https' ? 443 : 80;
  return e.dport === defaultPort ? bracketed : `${bracketed}:${e.dport}`;
}

/** The request's full URL (an absolute-form request target is already one). */
export function urlOf(e: HttpEvent): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(e.uri)) return e.uri;
  const target = e.uri.startsWith('/') ? e.uri : `/${e.uri === '*' || e.uri === UNKNOWN_TEXT ? '' : e.uri}`;
  return `${schemeOf(e)}://${authorityOf(e)}${target}`;
}

/** The query of a URI as name/value pairs, decoded where it decodes (kept as sent where it does not). */
export function queryOf(uri: string): HarHeader[] {
  const q = uri.indexOf('?');
  if (q < 0) return [];
  const end = uri.indexOf('#', q);
  const query = uri.slice(q + 1, end < 0 ? undefined : end);
  if (query === '') return [];
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text.replace(/\+/g, ' '));
    } catch {
      return text;
    }
  };
  return query.split('&').filter((part) => part !== '').map((part) => {
    const eq = part.indexOf('=');
    return eq < 0 ? { name: decode(part), value: '' } : { name: decode(part.slice(0, eq)), value: decode(part.slice(eq + 1)) };
  });
}

function httpVersionOf(e: HttpEvent): string {
  return e.version === '2' ? 'HTTP/2' : `HTTP/${e.version}`;
}

/** One transaction as a HAR entry. */
export function harEntry(e: HttpEvent): HarEntry {
  const requestHeaders = headerList(e.requestHeaders);
  // Host and User-Agent are read for the statistics, not kept as lines: they are headers all the same.
  if (headerValue(requestHeaders, 'host') === undefined && e.version !== '2') requestHeaders.unshift({ name: 'Host', value: authorityOf(e) });
  if (e.ua !== '' && headerValue(requestHeaders, 'user-agent') === undefined) requestHeaders.push({ name: 'User-Agent', value: e.ua });
  const responseHeaders = headerList(e.responseHeaders);
  const wait = e.latencyMs === null ? 0 : Math.max(0, e.latencyMs);
  const answered = e.status !== null;
  const entry: HarEntry = {
    startedDateTime: new Date(Math.round(e.ts * 1000)).toISOString(),
    time: wait,
    request: {
      method: e.method,
      url: urlOf(e),
      httpVersion: httpVersionOf(e),
      cookies: [],
      headers: requestHeaders,
      queryString: queryOf(e.uri),
      headersSize: -1,
      bodySize: e.reqBytes,
    },
    response: {
      status: e.status ?? 0,
      statusText: answered ? REASONS[e.status!] ?? '' : '',
      httpVersion: answered ? httpVersionOf(e) : '',
      cookies: [],
      headers: responseHeaders,
      content: { size: e.respBytes, mimeType: headerValue(responseHeaders, 'content-type') ?? 'x-unknown' },
      redirectURL: headerValue(responseHeaders, 'location') ?? '',
      headersSize: -1,
      bodySize: answered ? e.respBytes : -1,
      ...(answered ? {} : { _error: 'no response seen (unanswered, or the connection ended first)' }),
    },
    cache: {},
    // wiretop sees when the request went and when the answer's first byte came: the wait.
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait, receive: 0 },
    serverIPAddress: e.dst,
    connection: `${e.src}:${e.sport}`,
    _client: e.client,
    _clientAddress: e.src,
    ...(e.node !== undefined ? { _node: e.node } : {}),
    ...(e.grpcMethod !== undefined ? { _grpc: { method: e.grpcMethod, status: e.grpcStatus ?? null, message: e.grpcMessage ?? '' } } : {}),
  };
  if (e.uriTruncated) entry.comment = 'the URI was longer than 8 KiB and is cut';
  else if (!answered) entry.comment = `${statusKeyOf(e)}: no response seen`;
  return entry;
}

/** The document of `entries` (its entries in the order given). */
export function harLog(entries: HarEntry[], version: string, comment?: string): HarLog {
  return { log: { version: '1.2', creator: { name: 'wiretop', version }, pages: [], entries, ...(comment !== undefined ? { comment } : {}) } };
}
