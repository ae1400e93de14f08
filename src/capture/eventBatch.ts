/**
 * A compact, transferable form of an HttpEvent batch for the worker → main message: one
 * ArrayBuffer, transferred, not copied. Structured cloning thousands of small objects was the
 * worker's largest cost; here the numbers of every event, then for each event one reference per
 * string field, then the batch's new strings in UTF-8, back to back.
 *
 * Why not one joined string split on arrival: V8 makes the pieces "sliced strings" that keep
 * the whole joined string alive, so one URI kept by a top-N summary pinned its batch's ~100 KB.
 * Strings decoded from bytes are fresh and own only themselves; the distinct ones are decoded
 * once per batch and shared by its events.
 *
 * Strings that repeat from batch to batch (hosts, agents, sections, methods, addresses: all but
 * the request target and a gRPC message) are kept by the encoder and its decoder alike, up to a
 * bound: a batch carries such a string once, the first time, and then only its number. The main
 * thread so gets the very same string object for the same value in every batch, and its
 * statistics find their keys by identity instead of comparing characters (decoding and counting
 * a capture's batches took 12–21% less time); the worker writes, and the main thread decodes,
 * only the new ones.
 */
import type { HttpEvent } from '../types';

/** The encoded batch. Its buffer holds, in order: numbers, string references, string ends, string bytes. */
export interface EncodedBatch {
  count: number;
  /** Strings the batch carries: its own distinct ones, and the kept ones it is the first to carry. */
  strings: number;
  /** The decoder forgets the strings it kept before this batch (the encoder's were full, or a batch failed). */
  fresh: boolean;
  buffer: ArrayBuffer;
}

/**
 * A string reference at or above this is the number of a kept string (less this), below it an
 * index into the batch's strings; a string end with this bit set ends a string to keep.
 */
const KEPT = 0x80000000;
/** Strings kept between batches, at most, and their characters (~512 KB on each side at most). */
const KEPT_MAX_STRINGS = 4096;
const KEPT_MAX_CHARS = 256 * 1024;
/** Longer strings are carried by each batch that has them: long values seldom repeat. */
const KEPT_MAX_LENGTH = 256;

// ts, sport, dport, status, reqBytes, respBytes, latencyMs, flags (uriTruncated 1, https 2, gRPC 4, sni 8), streamId, grpcStatus, grpcRequestMessages, grpcResponseMessages
const NUMBER_FIELDS = 12;
// src, dst, method, host, uri, section, ua, version, route, client, requestHeaders, responseHeaders, grpcMethod, grpcMessage, sni
const STRING_FIELDS = 15;
const NONE = -1;
/** An encoded event's numbers and string indices, in bytes (its strings come on top). */
export const ENCODED_BYTES_PER_EVENT = NUMBER_FIELDS * 8 + STRING_FIELDS * 4;

/** Byte offsets of a batch's parts in its buffer. */
function layout(count: number, strings: number): { refs: number; ends: number; bytes: number } {
  const refs = count * NUMBER_FIELDS * 8;
  const ends = refs + count * STRING_FIELDS * 4;
  return { refs, ends, bytes: ends + strings * 4 };
}

/** Encodes events (in the worker); its scratch space is reused from batch to batch. */
export class BatchEncoder {
  private numbers = new Float64Array(0);
  private refs = new Uint32Array(0);
  private ends = new Uint32Array(1024);
  private bytes = Buffer.allocUnsafe(256 * 1024);
  private readonly index = new Map<string, number>();
  /** Strings the decoder keeps too, by their numbers (see KEPT). */
  private readonly kept = new Map<string, number>();
  private keptChars = 0;
  /** The next batch tells the decoder to forget its kept strings, and starts keeping anew. */
  private startOver = false;
  /** Per string field, its last string in this batch and that string's reference (see fieldRef). */
  private readonly lastText: Array<string | null> = new Array<string | null>(STRING_FIELDS).fill(null);
  private readonly lastRef = new Uint32Array(STRING_FIELDS);
  private strings = 0;
  private used = 0;

  /** Encodes `events`; pass `transferList(batch)` to postMessage. */
  encode(events: readonly HttpEvent[]): EncodedBatch {
    const count = events.length;
    if (this.numbers.length < count * NUMBER_FIELDS) {
      this.numbers = new Float64Array(count * NUMBER_FIELDS);
      this.refs = new Uint32Array(count * STRING_FIELDS);
    }
    const fresh = this.startOver;
    if (fresh) {
      this.kept.clear();
      this.keptChars = 0;
      this.startOver = false;
    }
    let encoded = false;
    // Reset however the batch ends: an event missing a string field throws midway, and the
    // loop's next batch must not start from its state. The strings it began to keep never
    // reached the decoder: both sides start over with the next batch.
    try {
      const { numbers, refs } = this;
      for (let i = 0; i < count; i++) {
        const e = events[i];
        const n = i * NUMBER_FIELDS;
        numbers[n] = e.ts;
        numbers[n + 1] = e.sport;
        numbers[n + 2] = e.dport;
        numbers[n + 3] = e.status === null ? NONE : e.status;
        numbers[n + 4] = e.reqBytes;
        numbers[n + 5] = e.respBytes;
        numbers[n + 6] = e.latencyMs === null ? NONE : e.latencyMs;
        const grpc = e.grpcMethod !== undefined;
        const sni = e.sni !== undefined;
        numbers[n + 7] = (e.uriTruncated ? 1 : 0) | (e.https === true ? 2 : 0) | (grpc ? 4 : 0) | (sni ? 8 : 0);
        numbers[n + 8] = e.streamId ?? NONE;
        numbers[n + 9] = e.grpcStatus ?? NONE;
        numbers[n + 10] = e.grpcRequestMessages ?? 0;
        numbers[n + 11] = e.grpcResponseMessages ?? 0;
        const s = i * STRING_FIELDS;
        refs[s] = this.fieldRef(0, e.src);
        refs[s + 1] = this.fieldRef(1, e.dst);
        refs[s + 2] = this.fieldRef(2, e.method);
        refs[s + 3] = this.fieldRef(3, e.host);
        refs[s + 5] = this.fieldRef(5, e.section);
        refs[s + 6] = this.fieldRef(6, e.ua);
        refs[s + 7] = this.fieldRef(7, e.version);
        refs[s + 8] = this.fieldRef(8, e.route);
        // The client is the peer's address unless a trusted proxy named another.
        refs[s + 9] = e.client === e.src ? refs[s] : this.fieldRef(9, e.client);
        refs[s + 10] = this.fieldRef(10, e.requestHeaders);
        refs[s + 11] = this.fieldRef(11, e.responseHeaders);
        // After the section and the route: a target that is one of them (`/`, `/health`) is then
        // found kept, not first made one of the batch's own strings (which are never kept).
        refs[s + 4] = this.ref(e.uri, false);
        refs[s + 12] = grpc ? this.ref(e.grpcMethod!) : 0;
        refs[s + 13] = grpc ? this.ref(e.grpcMessage ?? '', false) : 0;
        refs[s + 14] = sni ? this.fieldRef(14, e.sni!) : 0;
      }
      const strings = this.strings;
      const at = layout(count, strings);
      const buffer = new ArrayBuffer(at.bytes + this.used);
      new Float64Array(buffer, 0, count * NUMBER_FIELDS).set(numbers.subarray(0, count * NUMBER_FIELDS));
      new Uint32Array(buffer, at.refs, count * STRING_FIELDS).set(refs.subarray(0, count * STRING_FIELDS));
      new Uint32Array(buffer, at.ends, strings).set(this.ends.subarray(0, strings));
      new Uint8Array(buffer, at.bytes, this.used).set(this.bytes.subarray(0, this.used));
      encoded = true;
      return { count, strings, fresh, buffer };
    } finally {
      if (!encoded) this.startOver = true;
      this.index.clear();
      this.lastText.fill(null);
      this.strings = 0;
      this.used = 0;
    }
  }

  /**
   * `ref` for field `field`, with the field's last string remembered: a method, a version, a
   * host or the empty headers repeat from event to event, and comparing the very same string
   * object is cheaper than hashing it into the batch's map.
   */
  private fieldRef(field: number, text: string): number {
    if (text === this.lastText[field]) return this.lastRef[field];
    const at = this.ref(text);
    this.lastText[field] = text;
    this.lastRef[field] = at;
    return at;
  }

  /**
   * The reference of `text`: its number when kept, else its index among the batch's strings,
   * added when new (and kept from now on, when `keep` and there is room).
   */
  private ref(text: string, keep = true): number {
    const number = this.kept.get(text);
    if (number !== undefined) return (KEPT + number) >>> 0;
    let at = this.index.get(text);
    if (at !== undefined) return at;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.used + text.length * 3 > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + text.length * 3));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    this.used += this.bytes.utf8Write(text, this.used);
    if (this.strings === this.ends.length) {
      const grown = new Uint32Array(this.ends.length * 2);
      grown.set(this.ends);
      this.ends = grown;
    }
    at = this.strings++;
    // A string end never reaches KEPT: a batch holds at most MAX_BATCH_CHARS characters beside
    // one transaction's (captureLoop), a few megabytes of UTF-8.
    if (keep && text.length <= KEPT_MAX_LENGTH && this.kept.size < KEPT_MAX_STRINGS && this.keptChars + text.length <= KEPT_MAX_CHARS) {
      // The decoder keeps it in the same order: its number is the count kept before it.
      this.ends[at] = (this.used | KEPT) >>> 0;
      this.kept.set(text, this.kept.size);
      this.keptChars += text.length;
      if (this.kept.size === KEPT_MAX_STRINGS || this.keptChars + KEPT_MAX_LENGTH > KEPT_MAX_CHARS) this.startOver = true;
    } else {
      this.ends[at] = this.used;
      this.index.set(text, at);
    }
    return at;
  }
}

/** The buffers to transfer with a batch. */
export function transferList(batch: EncodedBatch): ArrayBuffer[] {
  return [batch.buffer];
}

/**
 * An event rebuilt from a batch. A constructor and not an object literal, for the garbage
 * collector: V8 moves an object literal's allocations to the old generation for good once a
 * young collection finds nearly all of them alive ("allocation-site pretenuring"), and one that
 * comes while a batch is being decoded or counted finds exactly that, every event of the batch
 * still in use. From then on each event was made old, each of its strings stored into it took
 * the write barrier's slow path, and the dead events piled up for full collections (9 on the
 * main thread instead of 2 over 200,000 requests; which run it hit depended on timing). Objects
 * made by `new` always start young, and die there.
 */
class DecodedEvent {
  constructor(numbers: Float64Array, refs: Uint32Array, strings: string[], kept: string[], n: number, s: number) {
    const status = numbers[n + 3];
    const latency = numbers[n + 6];
    const flags = numbers[n + 7];
    // The fields in the order of an HttpEvent literal (outputs that list them keep it).
    this.ts = numbers[n];
    this.src = textOf(strings, kept, refs[s]);
    this.sport = numbers[n + 1];
    this.dst = textOf(strings, kept, refs[s + 1]);
    this.dport = numbers[n + 2];
    this.method = textOf(strings, kept, refs[s + 2]);
    this.host = textOf(strings, kept, refs[s + 3]);
    this.uri = textOf(strings, kept, refs[s + 4]);
    this.section = textOf(strings, kept, refs[s + 5]);
    // Null first, then the value: the fields take a representation that holds both at the first
    // event, not at the first unanswered one (see Http1Event in src/http/h1/connection).
    this.status = null;
    this.status = status === NONE ? null : status;
    this.reqBytes = numbers[n + 4];
    this.respBytes = numbers[n + 5];
    this.ua = textOf(strings, kept, refs[s + 6]);
    this.latencyMs = null;
    this.latencyMs = latency === NONE ? null : latency;
    this.version = textOf(strings, kept, refs[s + 7]);
    this.route = textOf(strings, kept, refs[s + 8]);
    this.client = textOf(strings, kept, refs[s + 9]);
    this.uriTruncated = (flags & 1) !== 0;
    this.requestHeaders = textOf(strings, kept, refs[s + 10]);
    this.responseHeaders = textOf(strings, kept, refs[s + 11]);
    if ((flags & 2) !== 0) this.https = true;
    if ((flags & 8) !== 0) this.sni = textOf(strings, kept, refs[s + 14]);
    const streamId = numbers[n + 8];
    if (streamId !== NONE) this.streamId = streamId;
    if ((flags & 4) !== 0) {
      const grpcStatus = numbers[n + 9];
      this.grpcMethod = textOf(strings, kept, refs[s + 12]);
      this.grpcStatus = grpcStatus === NONE ? null : grpcStatus;
      this.grpcMessage = textOf(strings, kept, refs[s + 13]);
      this.grpcRequestMessages = numbers[n + 10];
      this.grpcResponseMessages = numbers[n + 11];
    }
  }
}
// The class declares no fields (they would be defined, as undefined, before the constructor
// runs, optional ones included): its instances are HttpEvents by this merged declaration.
interface DecodedEvent extends HttpEvent {}

/** The string a reference names: one of the batch's, or a kept one. */
function textOf(strings: string[], kept: string[], ref: number): string {
  return ref < KEPT ? strings[ref] : kept[ref - KEPT];
}

/**
 * Rebuilds the events of one encoder's batches, given in the order it encoded them: it keeps
 * the strings the encoder keeps (see KEPT).
 */
export class BatchDecoder {
  private kept: string[] = [];

  decode(batch: EncodedBatch): HttpEvent[] {
    const { count, buffer } = batch;
    if (batch.fresh) this.kept = [];
    const kept = this.kept;
    const at = layout(count, batch.strings);
    const numbers = new Float64Array(buffer, 0, count * NUMBER_FIELDS);
    const refs = new Uint32Array(buffer, at.refs, count * STRING_FIELDS);
    const ends = new Uint32Array(buffer, at.ends, batch.strings);
    const bytes = Buffer.from(buffer, at.bytes, buffer.byteLength - at.bytes);
    const strings: string[] = new Array(batch.strings);
    for (let i = 0, start = 0; i < batch.strings; i++) {
      const end = ends[i] >= KEPT ? ends[i] - KEPT : ends[i];
      strings[i] = bytes.utf8Slice(start, end);
      if (end !== ends[i]) kept.push(strings[i]);
      start = end;
    }
    const events: HttpEvent[] = new Array(count);
    for (let i = 0; i < count; i++) events[i] = new DecodedEvent(numbers, refs, strings, kept, i * NUMBER_FIELDS, i * STRING_FIELDS);
    return events;
  }
}
