/**
 * What a message's headers mean to wiretop, whichever HTTP version carried them: which are read
 * (Host, User-Agent, the forwarding headers that name the client behind a proxy), which are kept
 * for a transaction's detail and under which name, and that secrets (Authorization, cookies) are
 * never read or shown, only said to be present. Values are bounded to `max_str_length` and
 * sanitised. An HTTP/1 head and an HTTP/2 header block both feed a HeaderCollector one field at
 * a time; what frames a message (Content-Length, Transfer-Encoding, Connection) is the version's own.
 */
import { boundedOctets, boundedText, type TextCache } from '../protocol/sanitize';

/** The header fields of a message that wiretop keeps, whatever its version. */
export interface HeaderFields {
  host: string;
  ua: string;
  /** X-Forwarded-For, or `Forwarded` (as `for=` values), for the client behind a proxy; '' if none. */
  forwardedFor: string;
  /** The other headers shown in a transaction's detail, `Name: value` lines (see KEPT_HEADERS). */
  kept: string;
}

/**
 * Request targets are kept whole up to this many characters, nginx's default limit for a request
 * line (`large_client_header_buffers`); longer ones are cut and marked.
 */
export const MAX_URI_LENGTH = 8192;

/** Headers kept whole per message, at most, for its detail. */
export const MAX_KEPT_HEADERS = 16;

/** Headers kept per message, at most, when every header is kept (for a HAR export). */
export const MAX_ALL_HEADERS = 48;

/** Longest header name kept (a name from the wire is hostile like the rest). */
const MAX_NAME_LENGTH = 64;

/** A header name as the detail writes it, and lower-cased to compare with. */
interface HeaderName {
  readonly written: string;
  readonly lower: string;
}

/** Headers shown in a transaction's detail, by their length (the first test of a name). */
const KEPT_HEADERS = byLength([
  'Origin', 'Server', 'Accept', 'Referer', 'Expires', 'Location', 'X-Real-IP', 'Content-Type', 'X-Request-Id',
  'X-Powered-By', 'Cache-Control', 'Last-Modified', 'X-Amzn-Trace-Id', 'Content-Encoding', 'X-Correlation-Id',
]);
/** What the detail says of a secret header's value. */
const SECRET_VALUE = 'present, not shown';

/**
 * Headers that carry credentials: only their presence is shown, their value is never read.
 * Beside the standard ones, the API-key and token headers in common use: a HAR export keeps
 * every other header, and those must not go out with it.
 */
const SECRET_HEADERS = byLength([
  'Cookie', 'Set-Cookie', 'Authorization', 'Proxy-Authorization', 'X-Api-Key', 'X-Auth-Token', 'X-Amz-Security-Token',
  'X-Csrf-Token', 'X-Xsrf-Token', 'Private-Token', 'X-Vault-Token',
]);

/** An HTTP token (RFC 9110 §5.6.2): what a header name must be to be kept under its own name. */
const TOKEN_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Are `buf[start, end)` the characters of a token? */
function isTokenBytes(buf: Buffer, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alnum && '!#$%&\'*+.^_`|~-'.indexOf(String.fromCharCode(c)) < 0) return false;
  }
  return true;
}

/** The written name of each header in `table`, by its lower-case name (HTTP/2 names are lower case on the wire). */
function byLowerName(table: ByLength): ReadonlyMap<string, string> {
  const names = new Map<string, string>();
  for (const same of table) for (const name of same ?? []) names.set(name.lower, name.written);
  return names;
}

const KEPT_BY_LOWER_NAME = byLowerName(KEPT_HEADERS);
const SECRET_BY_LOWER_NAME = byLowerName(SECRET_HEADERS);

/**
 * Header names by their length: the names of length `n` at index `n` (undefined when none). An
 * array and not a map: every header of every message is looked for here, and an index is cheaper
 * than a hash lookup.
 */
type ByLength = ReadonlyArray<readonly HeaderName[] | undefined>;

function byLength(names: readonly string[]): ByLength {
  const table: Array<HeaderName[] | undefined> = new Array<HeaderName[] | undefined>(Math.max(...names.map((n) => n.length)) + 1).fill(undefined);
  for (const written of names) {
    const name = { written, lower: written.toLowerCase() };
    const same = table[written.length];
    if (same === undefined) table[written.length] = [name];
    else same.push(name);
  }
  return table;
}

/** Is the value of the header named `name` (lower case) read by some version's collector? Secrets' never are. */
export function isReadHeader(name: string): boolean {
  return fieldOfName(name) !== Field.Other || KEPT_BY_LOWER_NAME.has(name);
}

/** Compares `buf[start, end)` with a lower-case ASCII name, ignoring case. */
export function nameIs(buf: Buffer, start: number, end: number, lowerName: string): boolean {
  if (end - start !== lowerName.length) return false;
  for (let i = 0; i < lowerName.length; i++) {
    if ((buf[start + i] | 0x20) !== lowerName.charCodeAt(i)) return false;
  }
  return true;
}

/** The name `buf[start, end)` has in `table`, as written in the detail; '' if none. */
function nameIn(table: ByLength, buf: Buffer, start: number, end: number): string {
  const length = end - start;
  const names = length < table.length ? table[length] : undefined;
  if (names === undefined) return '';
  for (const name of names) if (nameIs(buf, start, end, name.lower)) return name.written;
  return '';
}

const enum Field { Other, Host, UserAgent, ForwardedFor, Forwarded }

/** The field a lower-case header name is. */
function fieldOfName(name: string): Field {
  switch (name) {
    case 'host': return Field.Host;
    case 'forwarded': return Field.Forwarded;
    case 'user-agent': return Field.UserAgent;
    case 'x-forwarded-for': return Field.ForwardedFor;
    default: return Field.Other;
  }
}

function fieldOf(buf: Buffer, start: number, end: number): Field {
  switch (end - start) {
    case 4: return nameIs(buf, start, end, 'host') ? Field.Host : Field.Other;
    case 9: return nameIs(buf, start, end, 'forwarded') ? Field.Forwarded : Field.Other;
    case 10: return nameIs(buf, start, end, 'user-agent') ? Field.UserAgent : Field.Other;
    case 15: return nameIs(buf, start, end, 'x-forwarded-for') ? Field.ForwardedFor : Field.Other;
    default: return Field.Other;
  }
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

/** How a collector bounds what it reads. */
export interface HeaderOptions {
  /** Longest string kept from a value (`max_str_length`). */
  maxStrLength: number;
  /**
   * Keep the headers a transaction's detail shows (only the dashboard shows them); the
   * forwarding headers are read either way. `all`: every header (a HAR export asks for them),
   * up to MAX_ALL_HEADERS a message, secrets only as present.
   */
  keepHeaders?: boolean | 'all';
}

/** Messages whose kept lines are remembered (see KeptLines). */
const KEPT_LINES_REMEMBERED = 4;
/** Longest kept lines remembered (with their parts, twice this at most an entry). */
const KEPT_LINES_REMEMBERED_LENGTH = 4096;

/** Are the first `length` parts of `given` the texts of `kept`? */
function sameParts(kept: readonly string[], given: readonly string[], length: number): boolean {
  if (kept.length !== length) return false;
  for (let i = 0; i < length; i++) if (kept[i] !== given[i]) return false;
  return true;
}

/** The detail lines (`Name: value`, one a line) of the first `length` of `parts` (name, value, name, value...). */
function linesOf(parts: readonly string[], length: number): string {
  let text = `${parts[0]}: ${parts[1]}`;
  for (let i = 2; i < length; i += 2) text += `\n${parts[i]}: ${parts[i + 1]}`;
  return text;
}

/**
 * The detail lines of the last few messages' kept headers, for the collector of a capture's
 * HTTP/1 heads (one a capture: an HTTP/2 connection's collector has none, so that a thousand
 * connections do not each keep four sets). Messages repeat them (one client's requests, one
 * server's responses), so the same parts give back the same string: not a new one a message,
 * that the capture would then hash into its batch and the dashboard keep. Values up to 256 bytes
 * come from the capture's TextCache, so comparing parts is mostly comparing the very same strings.
 */
class KeptLines {
  private readonly parts: string[][] = [];
  private readonly texts: string[] = [];
  private next = 0;

  /** The lines of the first `length` of `parts` (name, value, name, value...). */
  text(parts: readonly string[], length: number): string {
    for (let i = 0; i < this.parts.length; i++) if (sameParts(this.parts[i], parts, length)) return this.texts[i];
    const text = linesOf(parts, length);
    if (text.length > KEPT_LINES_REMEMBERED_LENGTH) return text;
    this.parts[this.next] = parts.slice(0, length);
    this.texts[this.next] = text;
    this.next = (this.next + 1) % KEPT_LINES_REMEMBERED;
    return text;
  }
}

/**
 * Gathers one message's header fields, one `add` per field, then writes them out with `finish`.
 * One collector serves every message of a parser in turn (`start` clears it): nothing is
 * allocated per message but the strings kept.
 */
export class HeaderCollector {
  private readonly maxStr: number;
  private readonly keepHeaders: boolean;
  /** Every header is kept, not only the detail's. */
  private readonly keepAll: boolean;
  private readonly maxKept: number;
  private host = '';
  private ua = '';
  private xForwardedFor = '';
  private forwarded = '';
  /**
   * The kept headers' names (as the detail writes them) and values, in turn: the first
   * `keptLength`. Made at its full size, reused from message to message: an array that grows
   * under the optimised code's writes sends it back to the interpreter.
   */
  private readonly keptParts: string[];
  private keptLength = 0;
  private keptCount = 0;
  private readonly keptLines: KeptLines | null;

  /**
   * `texts`, when given, gives repeated Host, User-Agent and X-Forwarded-For values back as the
   * same strings, and repeated sets of kept headers as the same lines (see KeptLines).
   */
  constructor(options: HeaderOptions, private readonly texts?: TextCache) {
    this.maxStr = options.maxStrLength;
    this.keepHeaders = (options.keepHeaders ?? true) !== false;
    this.keepAll = options.keepHeaders === 'all';
    this.maxKept = this.keepAll ? MAX_ALL_HEADERS : MAX_KEPT_HEADERS;
    this.keptParts = new Array<string>(this.keepHeaders ? 2 * this.maxKept : 0).fill('');
    this.keptLines = texts !== undefined && this.keepHeaders ? new KeptLines() : null;
  }

  /** Clears what the previous message left. */
  start(): void {
    this.host = '';
    this.ua = '';
    this.xForwardedFor = '';
    this.forwarded = '';
    // The last message's values go: a collector waiting for its next message keeps no text.
    for (let i = 0; i < this.keptLength; i++) this.keptParts[i] = '';
    this.keptLength = 0;
    this.keptCount = 0;
  }

  /** One header field: its name `buf[nameStart, nameEnd)` (any case) and its value `buf[valueStart, valueEnd)`. */
  add(buf: Buffer, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): void {
    const field = fieldOf(buf, nameStart, nameEnd);
    if (field === Field.Other) {
      if (this.keepHeaders && this.keptCount < this.maxKept) this.keep(buf, nameStart, nameEnd, valueStart, valueEnd);
      return;
    }
    // Only the first Host and User-Agent count: a repeated one is not even read.
    if ((field === Field.Host && this.host !== '') || (field === Field.UserAgent && this.ua !== '')) return;
    // Forwarded values are lists that differ from request to request: not worth caching.
    this.addRead(field, boundedText(buf, valueStart, valueEnd, this.maxStr, field === Field.Forwarded ? undefined : this.texts));
  }

  /**
   * One header field given as text (an HTTP/2 field from HPACK): `name` in lower case, `value`
   * octets one character a byte. The same rules as `add`.
   */
  addText(name: string, value: string): void {
    const field = fieldOfName(name);
    if (field === Field.Other) {
      if (this.keepHeaders && this.keptCount < this.maxKept) this.keepText(name, value);
      return;
    }
    this.addRead(field, boundedOctets(value, this.maxStr));
  }

  /** A field wiretop reads, its value bounded and sanitised. */
  private addRead(field: Field, value: string): void {
    switch (field) {
      case Field.Host:
        if (this.host === '') this.host = value;
        return;
      case Field.UserAgent:
        if (this.ua === '') this.ua = value;
        return;
      case Field.ForwardedFor:
        this.xForwardedFor = this.xForwardedFor === '' ? value : `${this.xForwardedFor}, ${value}`;
        if (this.keepHeaders && this.keptCount++ < this.maxKept) this.keepPart('X-Forwarded-For', value);
        return;
      case Field.Forwarded:
        this.forwarded = this.forwarded === '' ? value : `${this.forwarded}, ${value}`;
        if (this.keepHeaders && this.keptCount++ < this.maxKept) this.keepPart('Forwarded', value);
        return;
      case Field.Other:
    }
  }

  /** `keep` for a field given as text. */
  private keepText(wireName: string, value: string): void {
    // HTTP/2 names are lower case on the wire; one that is not (a hostile peer) is still the same header.
    const name = wireName.toLowerCase().trim();
    const kept = KEPT_BY_LOWER_NAME.get(name);
    if (kept !== undefined) {
      this.keepLine(kept, boundedOctets(value, this.maxStr));
      return;
    }
    const secret = SECRET_BY_LOWER_NAME.get(name);
    if (secret === undefined) {
      if (!this.keepAll || !TOKEN_NAME.test(name)) return;
      this.keepLine(boundedOctets(name, MAX_NAME_LENGTH), boundedOctets(value, this.maxStr));
      return;
    }
    this.keepLine(secret, SECRET_VALUE);
  }

  /** The detail's line of a header not otherwise read: the value of a kept one, only the presence of a secret one. */
  private keep(buf: Buffer, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): void {
    const name = nameIn(KEPT_HEADERS, buf, nameStart, nameEnd);
    if (name !== '') {
      this.keepLine(name, boundedText(buf, valueStart, valueEnd, this.maxStr, this.texts));
      return;
    }
    const secret = nameIn(SECRET_HEADERS, buf, nameStart, nameEnd);
    if (secret === '') {
      if (!this.keepAll || !isTokenBytes(buf, nameStart, nameEnd)) return;
      this.keepLine(boundedText(buf, nameStart, nameEnd, MAX_NAME_LENGTH, this.texts), boundedText(buf, valueStart, valueEnd, this.maxStr));
      return;
    }
    this.keepLine(secret, SECRET_VALUE);
  }

  private keepLine(name: string, value: string): void {
    this.keepPart(name, value);
    this.keptCount++;
  }

  private keepPart(name: string, value: string): void {
    this.keptParts[this.keptLength++] = name;
    this.keptParts[this.keptLength++] = value;
  }

  /** Writes the message's fields into `into`: a `Forwarded` header names the client before X-Forwarded-For. */
  finish(into: HeaderFields): void {
    into.host = this.host;
    into.ua = this.ua;
    into.forwardedFor = this.forwarded !== '' ? forwardedForOf(this.forwarded) : this.xForwardedFor;
    const length = this.keptLength;
    into.kept = length === 0 ? '' : this.keptLines !== null ? this.keptLines.text(this.keptParts, length) : linesOf(this.keptParts, length);
  }
}
