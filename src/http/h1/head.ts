/**
 * Parses one HTTP/1.x message head (start line and headers) from a buffer, keeping only what
 * wiretop shows or needs for framing. Header values of interest are read straight from the
 * bytes; nothing else becomes a string, and Authorization/Cookie are never read at all (their
 * presence is noted as `present, not shown`).
 */
import { boundedText, type TextCache } from '../../protocol/sanitize';

/** The parts of a request or response head that wiretop keeps. */
export interface MessageHead {
  isRequest: boolean;
  method: string;
  uri: string;
  /** `1.1`, `1.0`, `0.9`... */
  version: string;
  status: number;
  host: string;
  ua: string;
  /** Content-Length: -1 when absent, -2 when present but invalid. */
  contentLength: number;
  chunked: boolean;
  /** Connection: close (or HTTP/1.0 without keep-alive). */
  close: boolean;
  /** Connection: upgrade with an Upgrade header. */
  upgrade: boolean;
  /** The URI was longer than MAX_URI_LENGTH and is cut. */
  uriTruncated: boolean;
  /** X-Forwarded-For, or `Forwarded` (as `for=` values), for the client behind a proxy; '' if none. */
  forwardedFor: string;
  /** The other headers shown in a transaction's detail, `Name: value` lines (see KEPT_HEADERS). */
  kept: string;
}

/**
 * URIs are kept whole up to this many characters, nginx's default limit for a request line
 * (`large_client_header_buffers`); longer ones are cut and marked.
 */
export const MAX_URI_LENGTH = 8192;

/** Headers kept whole per message, at most, for its detail. */
const MAX_KEPT_HEADERS = 16;

export const CONTENT_LENGTH_ABSENT = -1;
export const CONTENT_LENGTH_INVALID = -2;

const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;

// Largest Content-Length taken at face value; beyond it the value is treated as invalid.
const MAX_CONTENT_LENGTH = 2 ** 50;

/** A MessageHead with every field empty. */
export function emptyHead(): MessageHead {
  return {
    isRequest: true, method: '', uri: '', version: '', status: 0, host: '', ua: '',
    contentLength: CONTENT_LENGTH_ABSENT, chunked: false, close: false, upgrade: false,
    uriTruncated: false, forwardedFor: '', kept: '',
  };
}

/** Is `c` a token character (RFC 9110 tchar)? */
export function isTokenChar(c: number): boolean {
  if (c >= 0x61 && c <= 0x7a) return true; // a-z
  if (c >= 0x41 && c <= 0x5a) return true; // A-Z
  if (c >= 0x30 && c <= 0x39) return true; // 0-9
  switch (c) {
    case 0x21: case 0x23: case 0x24: case 0x25: case 0x26: case 0x27: case 0x2a: case 0x2b:
    case 0x2d: case 0x2e: case 0x5e: case 0x5f: case 0x60: case 0x7c: case 0x7e:
      return true;
    default:
      return false;
  }
}

/** Index of the end of the line starting at `from` (the LF), or -1. */
function lineEnd(buf: Buffer, from: number, end: number): number {
  const i = buf.indexOf(LF, from);
  return i < 0 || i >= end ? -1 : i;
}

/** `end` with a trailing CR (and spaces) removed. */
function trimLineEnd(buf: Buffer, start: number, end: number): number {
  while (end > start && (buf[end - 1] === CR || buf[end - 1] === SP || buf[end - 1] === HT)) end--;
  return end;
}

/**
 * Methods accepted on a request line without an HTTP version (HTTP/0.9 style). Any token is
 * a method when the line ends in HTTP/x.y; without one, only these are, so that random text
 * on the port is not taken for requests.
 */
const WELL_KNOWN_METHODS = new Set([
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'PROPFIND', 'PROPPATCH',
  'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT', 'MKACTIVITY', 'CHECKOUT', 'MERGE', 'QUERY',
]);

/** Does the line `buf[start, end)` look like a request line: `TOKEN SP ...`? */
export function looksLikeRequestLine(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end && isTokenChar(buf[i])) i++;
  return i > start && i - start <= 32 && i < end && buf[i] === SP;
}

/** Does `buf[start, end)` begin like a status line (`HTTP/d.d`)? Needs 7 bytes. */
export function looksLikeStatusLine(buf: Buffer, start: number, end: number): boolean {
  return end - start >= 7 && buf[start] === 0x48 && buf[start + 1] === 0x54 && buf[start + 2] === 0x54
    && buf[start + 3] === 0x50 && buf[start + 4] === 0x2f && buf[start + 5] >= 0x30 && buf[start + 5] <= 0x39
    && buf[start + 6] === 0x2e;
}

/** Does the line `buf[start, end)` end with an `HTTP/d.d` word (a request line's version)? */
export function endsWithHttpVersion(buf: Buffer, start: number, end: number): boolean {
  let i = end - 1;
  while (i >= start && buf[i] !== SP) i--;
  return looksLikeStatusLine(buf, i + 1, end);
}

/** Compares `buf[start, end)` with a lower-case ASCII name, ignoring case. */
function nameIs(buf: Buffer, start: number, end: number, lowerName: string): boolean {
  if (end - start !== lowerName.length) return false;
  for (let i = 0; i < lowerName.length; i++) {
    if ((buf[start + i] | 0x20) !== lowerName.charCodeAt(i)) return false;
  }
  return true;
}

/** Connection header options wiretop acts on, as bits. */
const enum ConnectionOption { None = 0, Close = 1, KeepAlive = 2, Upgrade = 4 }

/**
 * The options named in the Connection list `buf[start, end)`, read in place (it comes with
 * almost every message: no string is made of it).
 */
function connectionOptions(buf: Buffer, start: number, end: number): number {
  let options = ConnectionOption.None;
  let i = start;
  while (i < end) {
    while (i < end && (buf[i] === SP || buf[i] === HT || buf[i] === 0x2c)) i++;
    const tokenStart = i;
    while (i < end && buf[i] !== 0x2c) i++;
    const tokenEnd = trimLineEnd(buf, tokenStart, i);
    if (nameIs(buf, tokenStart, tokenEnd, 'close')) options |= ConnectionOption.Close;
    else if (nameIs(buf, tokenStart, tokenEnd, 'keep-alive')) options |= ConnectionOption.KeepAlive;
    else if (nameIs(buf, tokenStart, tokenEnd, 'upgrade')) options |= ConnectionOption.Upgrade;
  }
  return options;
}

/** Is the last coding of a Transfer-Encoding list `chunked`? */
function lastCodingIsChunked(value: string): boolean {
  const codings = value.toLowerCase().split(',');
  return codings[codings.length - 1].trim() === 'chunked';
}

function parseContentLength(buf: Buffer, start: number, end: number): number {
  if (start === end) return CONTENT_LENGTH_INVALID;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c < 0x30 || c > 0x39) return CONTENT_LENGTH_INVALID;
    value = value * 10 + (c - 0x30);
    if (value > MAX_CONTENT_LENGTH) return CONTENT_LENGTH_INVALID;
  }
  return value;
}

const enum Wanted { None, Host, UserAgent, ContentLength, TransferEncoding, Connection, Upgrade, ForwardedFor, Forwarded }

/**
 * Headers shown in a transaction's detail, by their length (the first test of a name), as
 * written there. Secrets are only said to be present: their value is never read.
 */
const KEPT_HEADERS: ReadonlyMap<number, readonly string[]> = new Map(Object.entries({
  6: ['Origin', 'Server', 'Accept'],
  7: ['Referer', 'Expires'],
  8: ['Location'],
  9: ['X-Real-IP'],
  12: ['Content-Type', 'X-Request-Id', 'X-Powered-By'],
  13: ['Cache-Control', 'Last-Modified'],
  15: ['X-Amzn-Trace-Id'],
  16: ['Content-Encoding', 'X-Correlation-Id'],
}).map(([length, names]) => [Number(length), names]));
const SECRET_HEADERS: ReadonlyMap<number, readonly string[]> = new Map([[6, ['Cookie']], [10, ['Set-Cookie']], [13, ['Authorization']], [19, ['Proxy-Authorization']]]);

/** The kept or secret header name `buf[start, end)` is, as written in the detail; '' if none. */
function keptName(table: ReadonlyMap<number, readonly string[]>, buf: Buffer, start: number, end: number): string {
  const names = table.get(end - start);
  if (names === undefined) return '';
  for (const name of names) if (nameIs(buf, start, end, name.toLowerCase())) return name;
  return '';
}

function classifyName(buf: Buffer, start: number, end: number): Wanted {
  switch (end - start) {
    case 4: return nameIs(buf, start, end, 'host') ? Wanted.Host : Wanted.None;
    case 7:
      if (nameIs(buf, start, end, 'upgrade')) return Wanted.Upgrade;
      break;
    case 9:
      if (nameIs(buf, start, end, 'forwarded')) return Wanted.Forwarded;
      break;
    case 10:
      if (nameIs(buf, start, end, 'user-agent')) return Wanted.UserAgent;
      if (nameIs(buf, start, end, 'connection')) return Wanted.Connection;
      break;
    case 14:
      if (nameIs(buf, start, end, 'content-length')) return Wanted.ContentLength;
      break;
    case 15:
      if (nameIs(buf, start, end, 'x-forwarded-for')) return Wanted.ForwardedFor;
      break;
    case 17: return nameIs(buf, start, end, 'transfer-encoding') ? Wanted.TransferEncoding : Wanted.None;
    default:
      break;
  }
  return Wanted.None;
}

/**
 * The detail's line of a header wiretop does not otherwise read, or '' when the detail does
 * not show it: the value of a kept header, only the presence of a secret one.
 */
function keptLine(buf: Buffer, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number, maxStr: number, texts?: TextCache): string {
  const name = keptName(KEPT_HEADERS, buf, nameStart, nameEnd);
  if (name !== '') return `${name}: ${boundedText(buf, valueStart, valueEnd, maxStr, texts)}\n`;
  const secret = keptName(SECRET_HEADERS, buf, nameStart, nameEnd);
  return secret === '' ? '' : `${secret}: present, not shown\n`;
}

/**
 * Parses the head in `buf[start, end)` (the bytes up to and including the blank line), into
 * `into` when given. Returns null when the start line is not HTTP. `maxHeaders` bounds the
 * header lines read; `texts`, when given, gives repeated Host and User-Agent values back as the
 * same strings. `keepHeaders`: keep the headers a transaction's detail shows (`kept`); the
 * forwarding headers are read either way (they name the client).
 */
export function parseHead(buf: Buffer, start: number, end: number, maxStr: number, maxHeaders: number, into?: MessageHead, texts?: TextCache, keepHeaders = true): MessageHead | null {
  const firstEnd = lineEnd(buf, start, end);
  const lineStop = trimLineEnd(buf, start, firstEnd < 0 ? end : firstEnd);
  const head = into ?? emptyHead();
  head.isRequest = true;
  head.method = '';
  head.uri = '';
  head.version = '';
  head.status = 0;
  head.host = '';
  head.ua = '';
  head.contentLength = CONTENT_LENGTH_ABSENT;
  head.chunked = false;
  head.close = false;
  head.upgrade = false;
  head.uriTruncated = false;
  head.forwardedFor = '';
  head.kept = '';
  if (looksLikeStatusLine(buf, start, lineStop)) {
    if (!parseStatusLine(buf, start, lineStop, head)) return null;
  } else if (looksLikeRequestLine(buf, start, lineStop)) {
    parseRequestLine(buf, start, lineStop, maxStr, head);
    if (head.version === '0.9' && !acceptableVersionless(buf, start, lineStop, head)) return null;
  } else {
    return null;
  }
  if (head.version === '0.9' && (firstEnd < 0 || firstEnd + 1 >= end)) return head;

  let keepAlive = false;
  let upgradeHeader = false;
  let connectionUpgrade = false;
  let teValue = '';
  let lastWanted = Wanted.None;
  let lines = 0;
  let keptCount = 0;
  let kept = '';
  let xForwardedFor = '';
  let forwarded = '';
  let cursor = firstEnd < 0 ? end : firstEnd + 1;
  while (cursor < end && lines < maxHeaders) {
    const nl = lineEnd(buf, cursor, end);
    const stop = trimLineEnd(buf, cursor, nl < 0 ? end : nl);
    const next = nl < 0 ? end : nl + 1;
    if (stop === cursor) break; // the blank line
    lines++;
    if (buf[cursor] === SP || buf[cursor] === HT) {
      // Obsolete line folding: the line continues the previous header's value.
      if (lastWanted === Wanted.TransferEncoding) {
        teValue += ' ' + buf.toString('latin1', skipSpaces(buf, cursor, stop), stop);
      }
      cursor = next;
      continue;
    }
    let colon = cursor;
    while (colon < stop && buf[colon] !== COLON) colon++;
    if (colon >= stop) { lastWanted = Wanted.None; cursor = next; continue; }
    const nameStop = trimLineEnd(buf, cursor, colon);
    const wanted = classifyName(buf, cursor, nameStop);
    lastWanted = wanted;
    if (wanted === Wanted.None) {
      if (keepHeaders && keptCount < MAX_KEPT_HEADERS) {
        const line = keptLine(buf, cursor, nameStop, skipSpaces(buf, colon + 1, stop), stop, maxStr, texts);
        if (line !== '') {
          kept += line;
          keptCount++;
        }
      }
    } else {
      const valueStart = skipSpaces(buf, colon + 1, stop);
      switch (wanted) {
        case Wanted.Host:
          if (head.host === '') head.host = boundedText(buf, valueStart, stop, maxStr, texts);
          break;
        case Wanted.UserAgent:
          if (head.ua === '') head.ua = boundedText(buf, valueStart, stop, maxStr, texts);
          break;
        case Wanted.ContentLength: {
          const value = parseContentLength(buf, valueStart, stop);
          if (head.contentLength === CONTENT_LENGTH_ABSENT) head.contentLength = value;
          else if (head.contentLength !== value) head.contentLength = CONTENT_LENGTH_INVALID;
          break;
        }
        case Wanted.TransferEncoding:
          teValue = teValue === '' ? buf.toString('latin1', valueStart, stop) : `${teValue},${buf.toString('latin1', valueStart, stop)}`;
          break;
        case Wanted.Connection: {
          const options = connectionOptions(buf, valueStart, stop);
          if ((options & ConnectionOption.Close) !== 0) head.close = true;
          if ((options & ConnectionOption.KeepAlive) !== 0) keepAlive = true;
          if ((options & ConnectionOption.Upgrade) !== 0) connectionUpgrade = true;
          break;
        }
        case Wanted.Upgrade:
          upgradeHeader = true;
          break;
        case Wanted.ForwardedFor: {
          // Several headers are one list, in order.
          const value = boundedText(buf, valueStart, stop, maxStr, texts);
          xForwardedFor = xForwardedFor === '' ? value : `${xForwardedFor}, ${value}`;
          if (keepHeaders && keptCount++ < MAX_KEPT_HEADERS) kept += `X-Forwarded-For: ${value}\n`;
          break;
        }
        case Wanted.Forwarded: {
          const value = boundedText(buf, valueStart, stop, maxStr);
          forwarded = forwarded === '' ? value : `${forwarded}, ${value}`;
          if (keepHeaders && keptCount++ < MAX_KEPT_HEADERS) kept += `Forwarded: ${value}\n`;
          break;
        }
      }
    }
    cursor = next;
  }
  if (teValue !== '') head.chunked = lastCodingIsChunked(teValue.replace(/\s+/g, ' '));
  head.forwardedFor = forwarded !== '' ? forwardedForOf(forwarded) : xForwardedFor;
  head.kept = kept === '' ? '' : kept.slice(0, -1);
  if (head.version === '1.0' && !keepAlive) head.close = true;
  head.upgrade = upgradeHeader && connectionUpgrade;
  return head;
}

/**
 * A request line without a version is HTTP/0.9 when it names a well-known method, or when it
 * still mentions HTTP/ (`GET /HTTP/1.1`, a missing space); never with an empty target.
 */
function acceptableVersionless(buf: Buffer, start: number, end: number, head: MessageHead): boolean {
  if (head.uri === '') return false;
  return WELL_KNOWN_METHODS.has(head.method) || buf.indexOf('HTTP/', start, 'latin1') >= 0 && buf.indexOf('HTTP/', start, 'latin1') < end;
}

function skipSpaces(buf: Buffer, from: number, end: number): number {
  while (from < end && (buf[from] === SP || buf[from] === HT)) from++;
  return from;
}

/** The version text of `buf[start, end)` (after `HTTP/`), without allocating for 1.1 and 1.0. */
function versionText(buf: Buffer, start: number, end: number): string {
  if (end - start === 3 && buf[start] === 0x31 && buf[start + 1] === 0x2e) {
    if (buf[start + 2] === 0x31) return '1.1';
    if (buf[start + 2] === 0x30) return '1.0';
  }
  return boundedText(buf, start, Math.min(end, start + 8), 8);
}

/** Common methods as constants: no string is made per request for them. */
const COMMON_METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'];

function methodText(buf: Buffer, start: number, end: number, maxStr: number): string {
  const length = end - start;
  for (const method of COMMON_METHODS) {
    if (method.length !== length) continue;
    let same = true;
    for (let i = 0; i < length && same; i++) same = buf[start + i] === method.charCodeAt(i);
    if (same) return method;
  }
  return boundedText(buf, start, end, maxStr);
}

function parseStatusLine(buf: Buffer, start: number, end: number, head: MessageHead): boolean {
  head.isRequest = false;
  let i = start + 5;
  const versionStart = i;
  while (i < end && buf[i] !== SP) i++;
  head.version = versionText(buf, versionStart, i);
  i = skipSpaces(buf, i, end);
  let status = 0;
  let digits = 0;
  while (i < end && digits < 3 && buf[i] >= 0x30 && buf[i] <= 0x39) {
    status = status * 10 + (buf[i] - 0x30);
    i++;
    digits++;
  }
  if (digits !== 3) return false;
  head.status = status;
  return true;
}

/** The `for=` addresses of a Forwarded header, as an X-Forwarded-For list (`for="[::1]:80"` → `::1`). */
export function forwardedForOf(value: string): string {
  const addresses: string[] = [];
  for (const element of value.split(',')) {
    for (const pair of element.split(';')) {
      const equals = pair.indexOf('=');
      if (equals < 0 || pair.slice(0, equals).trim().toLowerCase() !== 'for') continue;
      addresses.push(pair.slice(equals + 1).trim().replace(/^"|"$/g, ''));
    }
  }
  return addresses.join(', ');
}

/** The URI `buf[start, end)`, kept up to MAX_URI_LENGTH characters, and whether it was cut. */
function uriText(buf: Buffer, start: number, end: number, head: MessageHead): string {
  const text = boundedText(buf, start, end, MAX_URI_LENGTH);
  head.uriTruncated = end - start > MAX_URI_LENGTH;
  return text;
}

function parseRequestLine(buf: Buffer, start: number, end: number, maxStr: number, head: MessageHead): void {
  let i = start;
  while (i < end && buf[i] !== SP) i++;
  head.method = methodText(buf, start, i, maxStr);
  const uriStart = skipSpaces(buf, i, end);
  // The version is the last word when it reads HTTP/x; a request line without one is HTTP/0.9.
  let lastSpace = end - 1;
  while (lastSpace >= uriStart && buf[lastSpace] !== SP) lastSpace--;
  if (lastSpace >= uriStart - 1 && looksLikeStatusLine(buf, lastSpace + 1, end)) {
    head.version = versionText(buf, lastSpace + 6, end);
    head.uri = uriText(buf, uriStart, trimLineEnd(buf, uriStart, Math.max(uriStart, lastSpace)), head);
  } else {
    head.version = '0.9';
    head.uri = uriText(buf, uriStart, end, head);
  }
}
