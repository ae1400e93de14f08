/**
 * A filter's tree → one predicate over transactions: closures built once, no `eval`. Values are
 * read at compile time (units, classes, ranges, networks, regexes), so a transaction costs only
 * the field reads and compares. Regexes run on RE2 (re2js): time linear in the text, so a
 * pattern from a user cannot freeze the dashboard on a long URI from the wire.
 */
import { BlockList, isIP } from 'net';
import type { RE2JS } from 're2js';
import { memoized } from '../memo';
import type { HttpEvent } from '../types';
import { fieldNamed, fieldNames, type AddressField, type Field, type FlagField, type NumberField, type TextField } from './fields';
import { FilterError, type FilterNode, type Operator, type ValueNode } from './syntax';

export type Predicate = (e: HttpEvent) => boolean;

/**
 * RE2, loaded by the first filter with a pattern (most runs have none, and it is a large module
 * to load), or before by loadRegexEngine.
 */
function re2(): typeof RE2JS {
  return (require('re2js') as typeof import('re2js')).RE2JS;
}

/** Loads RE2 now (a run that may compile patterns after it has given up its privileges). */
export function loadRegexEngine(): void {
  re2();
}

/** The regex flag a pattern may carry (`i`, `s`, `m`), as RE2 knows it. */
function flagOf(flag: string): number {
  const { CASE_INSENSITIVE, DOTALL, MULTILINE } = re2();
  return flag === 'i' ? CASE_INSENSITIVE : flag === 's' ? DOTALL : flag === 'm' ? MULTILINE : 0;
}

/** RE2's own prefix of every pattern error (said once, as `bad regex`). */
const RE2_PREFIX = 'error parsing regexp: ';

/** Compiles a parsed filter. Throws FilterError for a value that does not fit its field. */
export function compileNode(node: FilterNode): Predicate {
  switch (node.kind) {
    case 'and': {
      const left = compileNode(node.left);
      const right = compileNode(node.right);
      return (e) => left(e) && right(e);
    }
    case 'or': {
      const left = compileNode(node.left);
      const right = compileNode(node.right);
      return (e) => left(e) || right(e);
    }
    case 'not': {
      const operand = compileNode(node.operand);
      return (e) => !operand(e);
    }
    case 'text': return textAnywhere(node.value);
    case 'flag': {
      const field = known(node.field, node.fieldPosition);
      if (field.kind !== 'flag') throw new FilterError(`"${field.name}" needs an operator and a value, e.g. ${example(field)}`, node.fieldPosition + 1);
      return field.get;
    }
    case 'compare': return compare(known(node.field, node.fieldPosition), node.op, node.opPosition, node.value);
    case 'in': {
      const field = known(node.field, node.fieldPosition);
      const tests = node.values.map((value) => compare(field, '=', node.fieldPosition, value));
      const any: Predicate = tests.length === 1 ? tests[0] : (e) => tests.some((test) => test(e));
      return node.negated ? (e) => !any(e) : any;
    }
  }
}

function known(name: string, position: number): Field {
  const field = fieldNamed(name);
  if (field === undefined) throw new FilterError(`unknown field "${name}"`, position + 1, `fields: ${fieldNames()}`);
  return field;
}

function example(field: Field): string {
  return /: (.*)$/.exec(field.description)?.[1] ?? `${field.name} = …`;
}

/** `!=` and `!~` are the negations of `=` and `~`: a transaction without the value (no status) passes them. */
function compare(field: Field, op: Operator, opPosition: number, value: ValueNode): Predicate {
  if (op === '!=' || op === '!~') {
    const positive = compare(field, op === '!=' ? '=' : '~', opPosition, value);
    return (e) => !positive(e);
  }
  switch (field.kind) {
    case 'text': return compareText(field, op, opPosition, value);
    case 'number': return compareNumber(field, op, opPosition, value);
    case 'address': return compareAddress(field, op, opPosition, value);
    case 'flag': return compareFlag(field, op, opPosition, value);
  }
}

function wrongOperator(field: Field, op: Operator, opPosition: number, allowed: string): FilterError {
  return new FilterError(`"${field.name}" takes ${allowed}, not ${op}`, opPosition + 1);
}

/**
 * The largest regex program (RE2 instructions) a filter may run: linear time is still time, and
 * `.{1000}.{1000}x` would take a good part of a second on each long URI from the wire.
 */
export const MAX_REGEX_PROGRAM = 1000;

/** A compiled RE2 pattern, or a FilterError at the value. */
function pattern(value: ValueNode, extraFlags = 0): RE2JS {
  let flags = extraFlags;
  for (const flag of value.regexFlags ?? '') flags |= flagOf(flag);
  const tooLarge = () => new FilterError(`regex too large (RE2 runs at most ${MAX_REGEX_PROGRAM} instructions): use fewer or smaller {n} repeats`, value.position + 1);
  // Counted repeats are what make a program large, and compiling a huge one takes seconds: refused before.
  let repeated = 0;
  for (const m of value.text.matchAll(/\{(\d+)(?:,(\d*))?\}/g)) repeated += Math.max(Number(m[1]), Number(m[2] || 0));
  if (repeated > MAX_REGEX_PROGRAM) throw tooLarge();
  let re: RE2JS;
  try {
    re = re2().compile(value.text, flags);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new FilterError(`bad regex: ${message.startsWith(RE2_PREFIX) ? message.slice(RE2_PREFIX.length) : message}`, value.position + 1);
  }
  if (re.programSize() > MAX_REGEX_PROGRAM) throw tooLarge();
  return re;
}

/** Answers remembered per text, at most (a regex runs once per distinct path or user agent, not per request). */
const MAX_REMEMBERED_TEXTS = 4096;

/** Texts longer than this are not remembered: 4,096 of them stay under 1 MB a regex. */
const MAX_REMEMBERED_LENGTH = 256;

/**
 * `test` with its answers remembered by text: traffic repeats its paths, hosts and user agents,
 * and re2js, RE2 written in JavaScript, takes microseconds a match. Bounded in count and, by
 * leaving long texts out, in bytes.
 */
function remembered(test: (text: string) => boolean): (text: string) => boolean {
  return memoized(test, MAX_REMEMBERED_TEXTS, (text) => text.length <= MAX_REMEMBERED_LENGTH);
}

/** Characters with a meaning in a regex; a pattern without them (but `^`, `$` at its ends, and escaped punctuation) is a literal. */
const REGEX_SYNTAX = /[\\.+*?()[\]{}|^$]/;

/**
 * A pattern that is a literal text, maybe anchored (`^/api`, `\.png$`, `(?i)bot`), as a string
 * test: no regex engine at all. Null for a real regex.
 */
function literalTest(value: ValueNode, re: RE2JS): ((text: string) => boolean) | null {
  let source = value.text;
  let caseless = (value.regexFlags ?? '').includes('i');
  if ((value.regexFlags ?? '').replace('i', '') !== '') return null;
  if (source.startsWith('(?i)')) {
    caseless = true;
    source = source.slice(4);
  }
  const start = source.startsWith('^');
  if (start) source = source.slice(1);
  const end = source.endsWith('$') && !source.endsWith('\\$');
  if (end) source = source.slice(0, -1);
  // Escaped punctuation (`\.`, `\/`, `\-`) is itself; any other escape or syntax is a regex.
  // A NUL of its own would be taken for the escape marker below: such a pattern goes to RE2.
  if (source.includes('\u0000')) return null;
  const literal = source.replace(/\\([^A-Za-z0-9])/g, '\u0000$1');
  if (REGEX_SYNTAX.test(literal.replace(/\u0000./g, ''))) return null;
  let needle = literal.replace(/\u0000/g, '');
  if (caseless) {
    // Only where lower-casing is exact both ways (ASCII): RE2's case folding is wider.
    if (!/^[\x20-\x7e]*$/.test(needle)) return null;
    needle = needle.toLowerCase();
  }
  const compare = start && end ? (t: string) => t === needle : start ? (t: string) => t.startsWith(needle) : end ? (t: string) => t.endsWith(needle) : (t: string) => t.includes(needle);
  if (!caseless) return compare;
  // RE2 folds some non-ASCII letters onto ASCII ones (ſ on s, the Kelvin sign on k): such texts go to it.
  return remembered((text) => (/^[\x00-\x7f]*$/.test(text) ? compare(text.toLowerCase()) : re.matcher(text).find()));
}

function searches(value: ValueNode): (text: string) => boolean {
  const re = pattern(value);
  return literalTest(value, re) ?? remembered((text) => re.matcher(text).find());
}

/** A word, quoted text or /regex/ alone: in the host, the URI or the node, as the dashboard's `/` always matched (text without regard to case). */
function textAnywhere(value: ValueNode): Predicate {
  if (value.regexFlags !== null) {
    const found = searches(value);
    return (e) => found(e.host) || found(e.uri) || (e.node !== undefined && found(e.node));
  }
  const needle = value.text.toLowerCase();
  return (e) => e.host.toLowerCase().includes(needle) || e.uri.toLowerCase().includes(needle) || (e.node !== undefined && e.node.toLowerCase().includes(needle));
}

function compareText(field: TextField, op: Operator, opPosition: number, value: ValueNode): Predicate {
  const get = field.get;
  if (op === '~') {
    const found = searches(value);
    return (e) => found(get(e));
  }
  if (op !== '=') throw wrongOperator(field, op, opPosition, '=, !=, ~, !~ or in');
  // Unquoted, `*` is a wildcard; quoted, it is itself.
  if (!value.quoted && value.text.includes('*')) {
    // A wildcard: `*.example.com`, `/api/*`; the rest of the value is literal.
    const matches = wildcard(value.text, field.caseless);
    return (e) => matches(get(e));
  }
  if (field.caseless) {
    const lower = value.text.toLowerCase();
    return (e) => {
      const text = get(e);
      return text === value.text || (text.length === lower.length && text.toLowerCase() === lower);
    };
  }
  const exact = value.text;
  return (e) => get(e) === exact;
}

/** A `*` wildcard pattern as a test: a prefix, a suffix or both, by string compares; a `*` in the middle through RE2 (remembered). */
function wildcard(text: string, caseless: boolean): (text: string) => boolean {
  const parts = text.split('*');
  const fold = caseless ? (t: string) => t.toLowerCase() : (t: string) => t;
  if (parts.length === 2) {
    const [prefix, suffix] = parts.map(fold);
    return (t) => {
      const folded = fold(t);
      return folded.length >= prefix.length + suffix.length && folded.startsWith(prefix) && folded.endsWith(suffix);
    };
  }
  const RE2 = re2();
  const re = RE2.compile(`^${parts.map((part) => RE2.quote(part)).join('.*')}$`, caseless ? RE2.CASE_INSENSITIVE : 0);
  return remembered((t) => re.matcher(t).matches());
}

/** A number or range as written for a field: `[low, high]`, both included; null for `none` (no value). */
type Range = readonly [number, number] | null;

const DURATION_MS: Record<string, number> = { us: 0.001, 'µs': 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const BYTE_MULTIPLES: Record<string, number> = { b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

function numberOf(field: NumberField, text: string): number | null {
  const lower = text.toLowerCase();
  const named = field.names?.get(lower);
  if (named !== undefined) return named;
  const match = /^(\d+(?:\.\d+)?)([a-zµ]*)$/.exec(lower);
  if (match === null) return null;
  const n = Number(match[1]);
  const unit = match[2];
  switch (field.unit) {
    case 'duration': {
      const scale = unit === '' ? 1 : Object.hasOwn(DURATION_MS, unit) ? DURATION_MS[unit] : undefined;
      return scale === undefined ? null : n * scale;
    }
    case 'bytes': {
      const scale = unit === '' ? 1 : Object.hasOwn(BYTE_MULTIPLES, unit) ? BYTE_MULTIPLES[unit] : undefined;
      return scale === undefined ? null : Math.round(n * scale);
    }
    default:
      return unit === '' ? n : null;
  }
}

function howWritten(field: NumberField): string {
  switch (field.unit) {
    case 'status': return 'a status (404), a class (5xx), a range (500..599) or none';
    case 'duration': return 'a time such as 250ms, 1.5s or 200us (ms when no unit), or a range (100ms..1s)';
    case 'bytes': return 'a size such as 512, 64k or 2m (k = 1024), or a range (1k..1m)';
    case 'plain': return field.names !== undefined ? 'a number or a gRPC status name (NOT_FOUND)' : 'a whole number or a range (8000..8999)';
  }
}

function rangeOf(field: NumberField, value: ValueNode): Range {
  const text = value.text.trim();
  const fail = () => new FilterError(`"${shortValue(text)}" is not a value of ${field.name}: give ${howWritten(field)}`, value.position + 1);
  if (field.nullable === true && text.toLowerCase() === 'none') return null;
  if (field.unit === 'status') {
    const cls = /^([1-9])xx$/i.exec(text);
    if (cls !== null) return [Number(cls[1]) * 100, Number(cls[1]) * 100 + 99];
  }
  const range = /^(.+?)(?:\.\.|-)(.+)$/.exec(text);
  if (range !== null) {
    // `1-2s` is one to two seconds: an end written without a unit takes the other end's.
    const unit = (end: string) => /[a-zµ]+$/i.exec(end)?.[0] ?? '';
    const [lowText, highText] = [range[1], range[2]];
    const low = numberOf(field, unit(lowText) === '' && field.names === undefined ? `${lowText}${unit(highText)}` : lowText);
    const high = numberOf(field, unit(highText) === '' && field.names === undefined ? `${highText}${unit(lowText)}` : highText);
    if (low === null || high === null) throw fail();
    if (low > high) throw new FilterError(`the range "${shortValue(text)}" runs backwards (write the lower end first)`, value.position + 1);
    return [low, high];
  }
  const n = numberOf(field, text);
  if (n === null) throw fail();
  return [n, n];
}

function compareNumber(field: NumberField, op: Operator, opPosition: number, value: ValueNode): Predicate {
  const get = field.get;
  if (op === '~') {
    const found = searches(value);
    return (e) => {
      const n = get(e);
      return found(n === null ? '' : String(n));
    };
  }
  const range = rangeOf(field, value);
  if (range === null) {
    if (op !== '=') throw wrongOperator(field, op, opPosition, '= or != with none');
    // `none`: the transaction has no such value (no response, no latency).
    return (e) => get(e) === null;
  }
  const [low, high] = range;
  if (op === '=') return (e) => {
    const n = get(e);
    return n !== null && n >= low && n <= high;
  };
  // Against a class or range, `<` is below its lower end and `>` above its upper end.
  switch (op) {
    case '<': return (e) => { const n = get(e); return n !== null && n < low; };
    case '<=': return (e) => { const n = get(e); return n !== null && n <= high; };
    case '>': return (e) => { const n = get(e); return n !== null && n > high; };
    case '>=': return (e) => { const n = get(e); return n !== null && n >= low; };
    default: throw wrongOperator(field, op, opPosition, 'a comparison');
  }
}

/** An address value: an IP, a network, a port, or an IP and a port. */
interface AddressValue {
  /** The addresses or networks, or null for any address. */
  ips: BlockList | null;
  /** The port, or null for any port. */
  port: number | null;
}

function addressValue(field: AddressField, value: ValueNode): AddressValue {
  const text = value.text.trim();
  const fail = (why: string) => new FilterError(`"${shortValue(text)}" is not an address of ${field.name}: ${why}`, value.position + 1);
  let host = text;
  let port: number | null = null;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const v4WithPort = /^([^:]*):(\d+)$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1];
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (v4WithPort !== null) {
    host = v4WithPort[1];
    port = Number(v4WithPort[2]);
  }
  if (port !== null && (port < 0 || port > 65535)) throw fail('the port must be 0..65535');
  if (host === '') return { ips: null, port };
  const list = new BlockList();
  const slash = host.indexOf('/');
  const ip = slash < 0 ? host : host.slice(0, slash);
  const family = isIP(ip);
  if (family === 0) throw fail('give an IP (10.0.0.5, ::1), a network (10.0.0.0/8), a port (:8080) or IP:port');
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) list.addAddress(ip, type);
  else {
    const bits = Number(host.slice(slash + 1));
    if (!/^\d+$/.test(host.slice(slash + 1)) || bits > (family === 4 ? 32 : 128)) throw fail(`the prefix length must be 0..${family === 4 ? 32 : 128}`);
    list.addSubnet(ip, bits, type);
  }
  return { ips: list, port };
}

/** Addresses checked against networks, remembered (an address recurs on every request of its client). */
const MAX_REMEMBERED = 4096;

function compareAddress(field: AddressField, op: Operator, opPosition: number, value: ValueNode): Predicate {
  const ipOf = field.ip;
  if (op === '~') {
    const found = searches(value);
    return (e) => found(ipOf(e));
  }
  if (op !== '=') throw wrongOperator(field, op, opPosition, '=, !=, ~, !~ or in (IPs, networks such as 10.0.0.0/8, :port)');
  const { ips, port } = addressValue(field, value);
  const portOf = field.port;
  if (ips === null) return (e) => portOf(e) === port;
  const remembered = new Map<string, boolean>();
  const inList = (ip: string): boolean => {
    let known = remembered.get(ip);
    if (known === undefined) {
      const family = isIP(ip);
      known = family !== 0 && ips.check(ip, family === 4 ? 'ipv4' : 'ipv6');
      if (remembered.size >= MAX_REMEMBERED) remembered.clear();
      remembered.set(ip, known);
    }
    return known;
  };
  return port === null ? (e) => inList(ipOf(e)) : (e) => portOf(e) === port && inList(ipOf(e));
}

const YES = new Set(['true', 'yes', '1']);
const NO = new Set(['false', 'no', '0']);

function compareFlag(field: FlagField, op: Operator, opPosition: number, value: ValueNode): Predicate {
  if (op !== '=') throw wrongOperator(field, op, opPosition, '= or != with true or false (or stands alone)');
  const text = value.text.toLowerCase();
  const get = field.get;
  if (YES.has(text)) return get;
  if (NO.has(text)) return (e) => !get(e);
  throw new FilterError(`"${shortValue(value.text)}" is not a value of ${field.name}: give true or false`, value.position + 1);
}

function shortValue(text: string): string {
  return text.length > 30 ? `${text.slice(0, 29)}…` : text;
}
