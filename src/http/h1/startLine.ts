/**
 * The start line of an HTTP/1.x message: recognising a request line or a status line in place
 * (also to find where a message starts after lost bytes), and reading its method, target,
 * version and status. Common methods and versions come back as constants: no string per message.
 */
import { boundedText, type TextCache } from '../../protocol/sanitize';
import { MAX_URI_LENGTH } from '../headers';
import { SP, skipSpaces, trimLineEnd } from './lines';

/** What a start line says: a request's method, target and version, or a response's version and status. */
export interface StartLine {
  isRequest: boolean;
  method: string;
  uri: string;
  /** `1.1`, `1.0`, `0.9`... */
  version: string;
  status: number;
  /** The URI was longer than MAX_URI_LENGTH and is cut. */
  uriTruncated: boolean;
}

/** Is `c` a token character (RFC 9110 tchar)? */
function isTokenChar(c: number): boolean {
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

/**
 * Reads the start line `buf[start, end)` (without its line end) into `into`; false when it is
 * neither a status line nor a request line (an HTTP/0.9 one only with a well-known method).
 * `uris`, when given, gives a repeated request target back as the same string.
 */
export function parseStartLine(buf: Buffer, start: number, end: number, maxStr: number, into: StartLine, uris?: TextCache): boolean {
  if (looksLikeStatusLine(buf, start, end)) return parseStatusLine(buf, start, end, into);
  if (!looksLikeRequestLine(buf, start, end)) return false;
  parseRequestLine(buf, start, end, maxStr, into, uris);
  return into.version !== '0.9' || acceptableVersionless(buf, start, end, into);
}

/**
 * A request line without a version is HTTP/0.9 when it names a well-known method, or when it
 * still mentions HTTP/ (`GET /HTTP/1.1`, a missing space); never with an empty target.
 */
function acceptableVersionless(buf: Buffer, start: number, end: number, head: StartLine): boolean {
  if (head.uri === '') return false;
  return WELL_KNOWN_METHODS.has(head.method) || buf.indexOf('HTTP/', start, 'latin1') >= 0 && buf.indexOf('HTTP/', start, 'latin1') < end;
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

function parseStatusLine(buf: Buffer, start: number, end: number, head: StartLine): boolean {
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

/** The URI `buf[start, end)`, kept up to MAX_URI_LENGTH characters, and whether it was cut. */
function uriText(buf: Buffer, start: number, end: number, head: StartLine, uris: TextCache | undefined): string {
  const text = boundedText(buf, start, end, MAX_URI_LENGTH, uris);
  head.uriTruncated = end - start > MAX_URI_LENGTH;
  return text;
}

function parseRequestLine(buf: Buffer, start: number, end: number, maxStr: number, head: StartLine, uris: TextCache | undefined): void {
  let i = start;
  while (i < end && buf[i] !== SP) i++;
  head.method = methodText(buf, start, i, maxStr);
  const uriStart = skipSpaces(buf, i, end);
  // The version is the last word when it reads HTTP/x; a request line without one is HTTP/0.9.
  let lastSpace = end - 1;
  while (lastSpace >= uriStart && buf[lastSpace] !== SP) lastSpace--;
  if (lastSpace >= uriStart - 1 && looksLikeStatusLine(buf, lastSpace + 1, end)) {
    head.version = versionText(buf, lastSpace + 6, end);
    head.uri = uriText(buf, uriStart, trimLineEnd(buf, uriStart, Math.max(uriStart, lastSpace)), head, uris);
  } else {
    head.version = '0.9';
    head.uri = uriText(buf, uriStart, end, head, uris);
  }
}
