/**
 * The dashboard's memory of the last transactions, from which a new filter and a row's list
 * start: the last RECENT_EVENTS within a byte bound, kept in columns, not as objects (50,000
 * event objects with their own strings cost ~65 MB of heap).
 *
 * Segments of up to SEGMENT_EVENTS transactions: each number in a typed array, each string as a
 * 16-bit index into the segment's distinct strings, so ~59 bytes a transaction beside the
 * strings. The oldest segment is forgotten whole, its strings with it, and its arrays serve the
 * next one: under steady traffic nothing is allocated per transaction or per batch but a new
 * distinct string (and the rare fields: gRPC, a program with --processes). Batches encoded into
 * buffers of their own did this job before: each batch a buffer that outlived a young
 * collection, and so waited for a full one once dropped (12 MB of the process's malloc heap under
 * the bench's load, and ~1 µs of CPU a request, against ~3 MB of columns here).
 */
import { ownText } from '../src/protocol/sanitize';
import type { HttpEvent, ProcessOwner } from '../src/types';

/** Transactions remembered to prime a new filter. */
export const RECENT_EVENTS = 50_000;

// The string fields, in the order of their columns.
const SRC = 0;
const DST = 1;
const METHOD = 2;
const HOST = 3;
const URI = 4;
const SECTION = 5;
const UA = 6;
const VERSION = 7;
const ROUTE = 8;
const CLIENT = 9;
const REQUEST_HEADERS = 10;
const RESPONSE_HEADERS = 11;
/** Those in the columns of every transaction; a server name and a node have columns of their own, made when one comes. */
const COMMON_STRING_FIELDS = 12;
const SNI = 12;
const NODE = 13;
const STRING_FIELDS = 14;

/** Transactions in a segment: few enough that its distinct strings fit a 16-bit index. */
export const SEGMENT_EVENTS = 4000;

/** What a transaction's columns take: two doubles (time, latency), two 32-bit body sizes, three 16-bit numbers, its flags, its stream, its string indices. */
export const BYTES_PER_EVENT = 2 * 8 + 2 * 4 + 3 * 2 + 1 + 4 + COMMON_STRING_FIELDS * 2;
/** What the server name's and node's columns add, once made. */
const TAG_BYTES = 2 * 2;
/** A distinct string beside its characters (two bytes each at most): its slot, its map entry, its header. */
const STRING_COST = 64;
/** The rare fields (gRPC, numbers that do not fit their columns), as an object of their own. */
const EXTRA_COST = 160;
/** A transaction's program (--processes): an entry in the segment's map (the program itself is shared). */
const OWNER_COST = 32;

const TRUNCATED = 1;
const HTTPS = 2;
const HAS_SNI = 4;
const HAS_STREAM = 8;
const HAS_NODE = 16;
const HAS_EXTRA = 32;
const HAS_OWNER = 64;
/** The status column's value for none (no response): a status of 65535 itself goes with the rare fields. */
const NO_STATUS = 0xffff;

/** What a transaction has beyond its columns: its gRPC fields, and numbers too large for theirs. */
type Extra = Partial<Pick<HttpEvent, 'sport' | 'dport' | 'status' | 'reqBytes' | 'respBytes' | 'streamId' | 'grpcMethod' | 'grpcStatus' | 'grpcMessage' | 'grpcRequestMessages' | 'grpcResponseMessages'>>;

/** The rows a new segment has room for: it grows to SEGMENT_EVENTS as it fills. */
const FIRST_CAPACITY = 250;

const fitsPort = (value: number): boolean => (value & 0xffff) === value;
const fitsStatus = (value: number): boolean => fitsPort(value) && value !== NO_STATUS;

/** Up to SEGMENT_EVENTS transactions in columns, with their distinct strings. */
class Segment {
  count = 0;
  /** Rows its columns have room for. */
  capacity = FIRST_CAPACITY;
  /** What its strings and rare fields take beyond the columns. */
  extraBytes = 0;
  private ts = new Float64Array(FIRST_CAPACITY);
  private reqBytes = new Uint32Array(FIRST_CAPACITY);
  private respBytes = new Uint32Array(FIRST_CAPACITY);
  private latencyMs = new Float64Array(FIRST_CAPACITY);
  private sport = new Uint16Array(FIRST_CAPACITY);
  private dport = new Uint16Array(FIRST_CAPACITY);
  private status = new Uint16Array(FIRST_CAPACITY);
  private flags = new Uint8Array(FIRST_CAPACITY);
  private streamId = new Uint32Array(FIRST_CAPACITY);
  private refs = new Uint16Array(FIRST_CAPACITY * COMMON_STRING_FIELDS);
  /** The server name's and node's string indices, two a transaction; null until a transaction has one. */
  private tags: Uint16Array | null = null;
  private strings: string[] = [];
  private readonly index = new Map<string, number>();
  /** Per string field, its last string and that string's index: most repeat from one transaction to the next. */
  private readonly lastText: Array<string | null> = new Array<string | null>(STRING_FIELDS).fill(null);
  private readonly lastRef = new Uint16Array(STRING_FIELDS);
  private extras: Map<number, Extra> | null = null;
  private owners: Map<number, ProcessOwner> | null = null;

  /** What it takes, in bytes. */
  get bytes(): number {
    return this.capacity * (BYTES_PER_EVENT + (this.tags === null ? 0 : TAG_BYTES)) + this.extraBytes;
  }

  /**
   * Room for twice the rows, at most SEGMENT_EVENTS. A segment starts small: under long strings
   * it closes after a few rows (see RecentTransactions), and full-sized columns would take the
   * bound's room from the transactions.
   */
  grow(): void {
    const capacity = Math.min(SEGMENT_EVENTS, this.capacity * 2);
    const grown = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(column: T, make: new (length: number) => T, width = 1): T => {
      const next = new make(capacity * width);
      next.set(column);
      return next;
    };
    this.ts = grown(this.ts, Float64Array);
    this.reqBytes = grown(this.reqBytes, Uint32Array);
    this.respBytes = grown(this.respBytes, Uint32Array);
    this.latencyMs = grown(this.latencyMs, Float64Array);
    this.sport = grown(this.sport, Uint16Array);
    this.dport = grown(this.dport, Uint16Array);
    this.status = grown(this.status, Uint16Array);
    this.flags = grown(this.flags, Uint8Array);
    this.streamId = grown(this.streamId, Uint32Array);
    this.refs = grown(this.refs, Uint16Array, COMMON_STRING_FIELDS);
    if (this.tags !== null) this.tags = grown(this.tags, Uint16Array, 2);
    this.capacity = capacity;
  }

  /** Empties it for reuse (its columns stay as large as they grew). */
  reset(): void {
    this.count = 0;
    this.extraBytes = 0;
    this.strings = [];
    this.index.clear();
    this.lastText.fill(null);
    this.extras = null;
    this.owners = null;
    this.tags = null;
  }

  /** Adds a transaction in the next row (there must be room: see `capacity`). */
  add(e: HttpEvent): void {
    // Counted once whole: a transaction that throws midway (a field that is no string) leaves no row.
    const i = this.count;
    this.ts[i] = e.ts;
    this.latencyMs[i] = e.latencyMs === null ? NaN : e.latencyMs;
    let flags = (e.uriTruncated ? TRUNCATED : 0) | (e.https === true ? HTTPS : 0);
    let extra: Extra | null = null;
    if (fitsPort(e.sport) && fitsPort(e.dport) && (e.status === null || fitsStatus(e.status))) {
      this.sport[i] = e.sport;
      this.dport[i] = e.dport;
      this.status[i] = e.status === null ? NO_STATUS : e.status;
    } else {
      extra = { sport: e.sport, dport: e.dport, status: e.status };
    }
    if (e.reqBytes >>> 0 === e.reqBytes && e.respBytes >>> 0 === e.respBytes) {
      this.reqBytes[i] = e.reqBytes;
      this.respBytes[i] = e.respBytes;
    } else {
      extra ??= {};
      extra.reqBytes = e.reqBytes;
      extra.respBytes = e.respBytes;
    }
    if (e.streamId !== undefined) {
      if (e.streamId >>> 0 === e.streamId) {
        this.streamId[i] = e.streamId;
        flags |= HAS_STREAM;
      } else {
        (extra ??= {}).streamId = e.streamId;
      }
    }
    if (e.grpcMethod !== undefined) {
      extra ??= {};
      extra.grpcMethod = ownText(e.grpcMethod);
      if (e.grpcStatus !== undefined) extra.grpcStatus = e.grpcStatus;
      if (e.grpcMessage !== undefined) extra.grpcMessage = ownText(e.grpcMessage);
      if (e.grpcRequestMessages !== undefined) extra.grpcRequestMessages = e.grpcRequestMessages;
      if (e.grpcResponseMessages !== undefined) extra.grpcResponseMessages = e.grpcResponseMessages;
      this.extraBytes += 2 * (e.grpcMethod.length + (e.grpcMessage?.length ?? 0));
    }
    if (extra !== null) {
      (this.extras ??= new Map()).set(i, extra);
      this.extraBytes += EXTRA_COST;
      flags |= HAS_EXTRA;
    }
    if (e.owner !== undefined) {
      // One shared object per program: the transaction keeps a reference.
      (this.owners ??= new Map()).set(i, e.owner);
      this.extraBytes += OWNER_COST;
      flags |= HAS_OWNER;
    }
    const s = i * COMMON_STRING_FIELDS;
    const refs = this.refs;
    refs[s + SRC] = this.ref(SRC, e.src);
    refs[s + DST] = this.ref(DST, e.dst);
    refs[s + METHOD] = this.ref(METHOD, e.method);
    refs[s + HOST] = this.ref(HOST, e.host);
    refs[s + URI] = this.ref(URI, e.uri);
    refs[s + SECTION] = this.ref(SECTION, e.section);
    refs[s + UA] = this.ref(UA, e.ua);
    refs[s + VERSION] = this.ref(VERSION, e.version);
    refs[s + ROUTE] = this.ref(ROUTE, e.route);
    refs[s + CLIENT] = this.ref(CLIENT, e.client);
    refs[s + REQUEST_HEADERS] = this.ref(REQUEST_HEADERS, e.requestHeaders);
    refs[s + RESPONSE_HEADERS] = this.ref(RESPONSE_HEADERS, e.responseHeaders);
    if (e.sni !== undefined) {
      this.tagsMade()[2 * i] = this.ref(SNI, e.sni);
      flags |= HAS_SNI;
    }
    if (e.node !== undefined) {
      this.tagsMade()[2 * i + 1] = this.ref(NODE, e.node);
      flags |= HAS_NODE;
    }
    this.flags[i] = flags;
    this.count = i + 1;
  }

  private tagsMade(): Uint16Array {
    return (this.tags ??= new Uint16Array(this.capacity * 2));
  }

  /** The index of `text` among the segment's strings, added when new. */
  private ref(field: number, text: string): number {
    if (text === this.lastText[field]) return this.lastRef[field];
    let at = this.index.get(text);
    if (at === undefined) {
      at = this.strings.length;
      const own = ownText(text);
      this.strings.push(own);
      this.index.set(own, at);
      this.extraBytes += STRING_COST + 2 * text.length;
    }
    this.lastText[field] = this.strings[at];
    this.lastRef[field] = at;
    return at;
  }

  /** Its transactions from the `from`th, rebuilt, appended to `into`. */
  rebuild(from: number, into: HttpEvent[]): void {
    for (let i = from; i < this.count; i++) into.push(this.event(i));
  }

  private event(i: number): HttpEvent {
    const { strings } = this;
    const s = i * COMMON_STRING_FIELDS;
    const refs = this.refs;
    const flags = this.flags[i];
    const extra = (flags & HAS_EXTRA) !== 0 ? this.extras!.get(i)! : null;
    const status = this.status[i];
    const latencyMs = this.latencyMs[i];
    const event = new RecalledEvent(
      this.ts[i], strings[refs[s + SRC]], this.sport[i], strings[refs[s + DST]], this.dport[i],
      strings[refs[s + METHOD]], strings[refs[s + HOST]], strings[refs[s + URI]], strings[refs[s + SECTION]],
      status === NO_STATUS ? null : status, this.reqBytes[i], this.respBytes[i], strings[refs[s + UA]],
      Number.isNaN(latencyMs) ? null : latencyMs, strings[refs[s + VERSION]], strings[refs[s + ROUTE]],
      strings[refs[s + CLIENT]], (flags & TRUNCATED) !== 0, strings[refs[s + REQUEST_HEADERS]], strings[refs[s + RESPONSE_HEADERS]],
    );
    if (extra?.reqBytes !== undefined) {
      event.reqBytes = extra.reqBytes;
      event.respBytes = extra.respBytes!;
    }
    if (extra?.sport !== undefined) {
      event.sport = extra.sport;
      event.dport = extra.dport!;
      event.status = extra.status!;
    }
    if ((flags & HTTPS) !== 0) event.https = true;
    if ((flags & HAS_SNI) !== 0) event.sni = strings[this.tags![2 * i]];
    if ((flags & HAS_STREAM) !== 0) event.streamId = this.streamId[i];
    else if (extra?.streamId !== undefined) event.streamId = extra.streamId;
    if (extra?.grpcMethod !== undefined) {
      event.grpcMethod = extra.grpcMethod;
      if (extra.grpcStatus !== undefined) event.grpcStatus = extra.grpcStatus;
      if (extra.grpcMessage !== undefined) event.grpcMessage = extra.grpcMessage;
      if (extra.grpcRequestMessages !== undefined) event.grpcRequestMessages = extra.grpcRequestMessages;
      if (extra.grpcResponseMessages !== undefined) event.grpcResponseMessages = extra.grpcResponseMessages;
    }
    if ((flags & HAS_NODE) !== 0) event.node = strings[this.tags![2 * i + 1]];
    if ((flags & HAS_OWNER) !== 0) event.owner = this.owners!.get(i)!;
    return event;
  }
}

/**
 * A transaction rebuilt from its columns. A constructor and not an object literal, for the
 * garbage collector (see DecodedEvent in src/capture/eventBatch): 50,000 of them made at once
 * must not teach V8 to make every later one old.
 */
class RecalledEvent {
  constructor(
    public ts: number, public src: string, public sport: number, public dst: string, public dport: number,
    public method: string, public host: string, public uri: string, public section: string,
    public status: number | null, public reqBytes: number, public respBytes: number, public ua: string,
    public latencyMs: number | null, public version: string, public route: string, public client: string,
    public uriTruncated: boolean, public requestHeaders: string, public responseHeaders: string,
  ) {}
}
interface RecalledEvent extends HttpEvent {}

/**
 * The last RECENT_EVENTS transactions within `maxBytes` (and less than one segment more). The
 * byte bound matters: hostile 3 KB strings would make 50,000 take 150 MB; a segment closes
 * early once its strings take an eighth of the bound, so that the oldest can go.
 */
export class RecentTransactions {
  private readonly segments: Segment[] = [];
  /** The last forgotten segment, kept for the next one's arrays (outside the bound: one segment's columns at most). */
  private spare: Segment | null = null;

  constructor(private readonly maxBytes: number) {}

  /** Transactions as they arrive, oldest first. */
  add(events: readonly HttpEvent[]): void {
    if (events.length === 0) return;
    let open = this.segments.length === 0 ? this.start() : this.segments[this.segments.length - 1];
    const stringsBound = this.maxBytes / 8;
    for (let i = 0; i < events.length; i++) {
      if (open.count === open.capacity || open.extraBytes >= stringsBound) {
        const full = open.extraBytes < stringsBound;
        if (full && open.capacity < SEGMENT_EVENTS) {
          open.grow();
        } else {
          this.forget();
          // Under long strings the next segment starts small too: a spare's grown columns would take the strings' room.
          open = this.start(full);
        }
      }
      open.add(events[i]);
    }
    this.forget();
  }

  /** The remembered transactions, oldest first. */
  events(): HttpEvent[] {
    const events: HttpEvent[] = [];
    let skip = Math.max(0, this.count - RECENT_EVENTS);
    for (const segment of this.segments) {
      if (skip >= segment.count) {
        skip -= segment.count;
        continue;
      }
      segment.rebuild(skip, events);
      skip = 0;
    }
    return events;
  }

  /** What it takes now, in bytes. */
  get size(): number {
    return this.segments.reduce((sum, segment) => sum + segment.bytes, 0);
  }

  /** Transactions remembered (the last RECENT_EVENTS of them are given back). */
  private get count(): number {
    return this.segments.reduce((sum, segment) => sum + segment.count, 0);
  }

  /** A new segment, the spare's arrays reused if `reuse`. */
  private start(reuse = true): Segment {
    const segment = (reuse ? this.spare : null) ?? new Segment();
    this.spare = null;
    this.segments.push(segment);
    return segment;
  }

  /** Forgets the oldest segments while the others hold enough. Sums over the segments (a dozen or so) after each batch: no running totals to keep right. */
  private forget(): void {
    const { segments } = this;
    let count = this.count;
    let bytes = this.size;
    while (segments.length > 1) {
      const oldest = segments[0];
      if (count - oldest.count < RECENT_EVENTS && bytes - oldest.bytes < this.maxBytes) break;
      segments.shift();
      count -= oldest.count;
      bytes -= oldest.bytes;
      oldest.reset();
      this.spare = oldest;
    }
  }
}
