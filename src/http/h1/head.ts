/**
 * Parses one HTTP/1.x message head from a buffer: its start line (startLine.ts), its header
 * lines (with obsolete folding), and the headers that frame an HTTP/1 message (Content-Length,
 * Transfer-Encoding, Connection, Upgrade). Every other header goes to the HeaderCollector
 * (src/http/headers.ts), which knows what any HTTP version keeps of it. Values are read straight
 * from the bytes; nothing else becomes a string.
 */
import { TextCache } from '../../protocol/sanitize';
import { HeaderCollector, nameIs, type HeaderFields, type HeaderOptions } from '../headers';
import { HT, SP, lineEnd, skipSpaces, trimLineEnd } from './lines';
import { parseStartLine, type StartLine } from './startLine';

/** The parts of a request or response head that wiretop keeps. */
export interface MessageHead extends StartLine, HeaderFields {
  /** Content-Length: -1 when absent, -2 when present but invalid. */
  contentLength: number;
  chunked: boolean;
  /** Connection: close (or HTTP/1.0 without keep-alive). */
  close: boolean;
  /** Connection: upgrade with an Upgrade header. */
  upgrade: boolean;
  /** The first protocol an Upgrade header names, lower-cased (`websocket`, `h2c`); '' when none. */
  upgradeProtocol: string;
}

export const CONTENT_LENGTH_ABSENT = -1;
export const CONTENT_LENGTH_INVALID = -2;

const COLON = 0x3a;

/** Longest protocol name read from an Upgrade header (the names registered are a few characters). */
const MAX_UPGRADE_NAME = 64;

// Largest Content-Length taken at face value; beyond it the value is treated as invalid.
const MAX_CONTENT_LENGTH = 2 ** 50;

/** A MessageHead with every field empty. */
export function emptyHead(): MessageHead {
  return {
    isRequest: true, method: '', uri: '', version: '', status: 0, host: '', ua: '',
    contentLength: CONTENT_LENGTH_ABSENT, chunked: false, close: false, upgrade: false, upgradeProtocol: '',
    uriTruncated: false, forwardedFor: '', kept: '',
  };
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

/** The first protocol of the Upgrade list `buf[start, end)`, lower-cased and bounded; '' when none. */
function firstUpgradeProtocol(buf: Buffer, start: number, end: number): string {
  let stop = start;
  while (stop < end && stop - start < MAX_UPGRADE_NAME && buf[stop] !== 0x2c && buf[stop] !== SP && buf[stop] !== HT) stop++;
  return buf.toString('latin1', start, stop).toLowerCase();
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

/** The headers that frame an HTTP/1 message; any other goes to the HeaderCollector. */
const enum Framing { None, ContentLength, TransferEncoding, Connection, Upgrade }

function framingHeaderOf(buf: Buffer, start: number, end: number): Framing {
  switch (end - start) {
    case 7: return nameIs(buf, start, end, 'upgrade') ? Framing.Upgrade : Framing.None;
    case 10: return nameIs(buf, start, end, 'connection') ? Framing.Connection : Framing.None;
    case 14: return nameIs(buf, start, end, 'content-length') ? Framing.ContentLength : Framing.None;
    case 17: return nameIs(buf, start, end, 'transfer-encoding') ? Framing.TransferEncoding : Framing.None;
    default: return Framing.None;
  }
}

/** Sets of the request-target cache: 2,048 targets of up to 256 bytes, 512 KiB. */
const URI_CACHE_SETS = 1024;

/** How a HeadParser bounds what it reads. */
export interface HeadOptions extends HeaderOptions {
  /** Header lines read per head, at most. */
  maxHeaders: number;
}

/**
 * Parses message heads. It holds its bounds and its HeaderCollector, so that parsing a head
 * (on the hot path: every message) allocates nothing but the strings kept; one parser serves
 * any number of connections, one head at a time.
 */
export class HeadParser {
  private readonly maxStr: number;
  private readonly maxHeaders: number;
  private readonly headers: HeaderCollector;
  /** Request targets seen, so that a repeated one comes back as the same string (see the constructor). */
  private readonly uris: TextCache | undefined;

  /**
   * `texts`, when given, gives repeated header values back as the same strings; repeated request
   * targets then come back so too, from a cache of their own (a scan of distinct paths must not
   * push the hosts and agents out). The same string, not an equal one: the route and section
   * lookups, the batch's index of strings and the write barriers of the objects that hold it all
   * cost less for a string seen before than for a new one.
   */
  constructor(options: HeadOptions, texts?: TextCache) {
    this.maxStr = options.maxStrLength;
    this.maxHeaders = options.maxHeaders;
    this.headers = new HeaderCollector(options, texts);
    this.uris = texts === undefined ? undefined : new TextCache(URI_CACHE_SETS);
  }

  /**
   * Parses the head in `buf[start, end)` (the bytes up to and including the blank line), into
   * `into` when given. Returns null when the start line is not HTTP.
   */
  parse(buf: Buffer, start: number, end: number, into?: MessageHead): MessageHead | null {
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
    head.upgradeProtocol = '';
    head.uriTruncated = false;
    head.forwardedFor = '';
    head.kept = '';
    if (!parseStartLine(buf, start, lineStop, this.maxStr, head, this.uris)) return null;
    if (head.version === '0.9' && (firstEnd < 0 || firstEnd + 1 >= end)) return head;
    this.readHeaders(buf, firstEnd < 0 ? end : firstEnd + 1, end, head);
    return head;
  }

  /** The header lines of `buf[cursor, end)`, up to the blank line. */
  private readHeaders(buf: Buffer, cursor: number, end: number, head: MessageHead): void {
    const headers = this.headers;
    headers.start();
    let keepAlive = false;
    let upgradeHeader = false;
    let connectionUpgrade = false;
    let teValue = '';
    let lastFraming = Framing.None;
    let lines = 0;
    while (cursor < end && lines < this.maxHeaders) {
      const nl = lineEnd(buf, cursor, end);
      const stop = trimLineEnd(buf, cursor, nl < 0 ? end : nl);
      const next = nl < 0 ? end : nl + 1;
      if (stop === cursor) break; // the blank line
      lines++;
      if (buf[cursor] === SP || buf[cursor] === HT) {
        // Obsolete line folding: the line continues the previous header's value.
        if (lastFraming === Framing.TransferEncoding) {
          teValue += ' ' + buf.toString('latin1', skipSpaces(buf, cursor, stop), stop);
        }
        cursor = next;
        continue;
      }
      let colon = cursor;
      while (colon < stop && buf[colon] !== COLON) colon++;
      if (colon >= stop) { lastFraming = Framing.None; cursor = next; continue; }
      const nameStop = trimLineEnd(buf, cursor, colon);
      const framing = framingHeaderOf(buf, cursor, nameStop);
      lastFraming = framing;
      const valueStart = skipSpaces(buf, colon + 1, stop);
      switch (framing) {
        case Framing.None:
          headers.add(buf, cursor, nameStop, valueStart, stop);
          break;
        case Framing.ContentLength: {
          const value = parseContentLength(buf, valueStart, stop);
          if (head.contentLength === CONTENT_LENGTH_ABSENT) head.contentLength = value;
          else if (head.contentLength !== value) head.contentLength = CONTENT_LENGTH_INVALID;
          break;
        }
        case Framing.TransferEncoding:
          teValue = teValue === '' ? buf.toString('latin1', valueStart, stop) : `${teValue},${buf.toString('latin1', valueStart, stop)}`;
          break;
        case Framing.Connection: {
          const options = connectionOptions(buf, valueStart, stop);
          if ((options & ConnectionOption.Close) !== 0) head.close = true;
          if ((options & ConnectionOption.KeepAlive) !== 0) keepAlive = true;
          if ((options & ConnectionOption.Upgrade) !== 0) connectionUpgrade = true;
          break;
        }
        case Framing.Upgrade:
          upgradeHeader = true;
          if (head.upgradeProtocol === '') head.upgradeProtocol = firstUpgradeProtocol(buf, valueStart, stop);
          break;
      }
      cursor = next;
    }
    headers.finish(head);
    if (teValue !== '') head.chunked = lastCodingIsChunked(teValue.replace(/\s+/g, ' '));
    if (head.version === '1.0' && !keepAlive) head.close = true;
    head.upgrade = upgradeHeader && connectionUpgrade;
  }
}

