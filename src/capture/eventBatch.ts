/**
 * A compact, transferable form of an HttpEvent batch for the worker → main message: one
 * ArrayBuffer, transferred, not copied. Structured cloning thousands of small objects was the
 * worker's largest cost; here the numbers of every event, then for each event one index per
 * string field into the batch's distinct strings, then those strings in UTF-8, back to back.
 *
 * Why not one joined string split on arrival: V8 makes the pieces "sliced strings" that keep
 * the whole joined string alive, so one URI kept by a top-N summary pinned its batch's ~100 KB.
 * Strings decoded from bytes are fresh and own only themselves; the distinct ones are decoded
 * once per batch and shared by its events.
 */
import type { HttpEvent } from '../types';

/** The encoded batch. Its buffer holds, in order: numbers, string indices, string ends, string bytes. */
export interface EncodedBatch {
  count: number;
  /** Distinct strings in the batch. */
  strings: number;
  buffer: ArrayBuffer;
}

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
  /** Per string field, its last string in this batch and that string's index (see fieldRef). */
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
    // Reset however the batch ends: an event missing a string field throws midway, and the
    // loop's next batch must not start from its state.
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
        refs[s + 4] = this.ref(e.uri);
        refs[s + 5] = this.fieldRef(5, e.section);
        refs[s + 6] = this.fieldRef(6, e.ua);
        refs[s + 7] = this.fieldRef(7, e.version);
        refs[s + 8] = this.fieldRef(8, e.route);
        refs[s + 9] = this.fieldRef(9, e.client);
        refs[s + 10] = this.fieldRef(10, e.requestHeaders);
        refs[s + 11] = this.fieldRef(11, e.responseHeaders);
        refs[s + 12] = grpc ? this.ref(e.grpcMethod!) : 0;
        refs[s + 13] = grpc ? this.ref(e.grpcMessage ?? '') : 0;
        refs[s + 14] = sni ? this.fieldRef(14, e.sni!) : 0;
      }
      const strings = this.strings;
      const at = layout(count, strings);
      const buffer = new ArrayBuffer(at.bytes + this.used);
      new Float64Array(buffer, 0, count * NUMBER_FIELDS).set(numbers.subarray(0, count * NUMBER_FIELDS));
      new Uint32Array(buffer, at.refs, count * STRING_FIELDS).set(refs.subarray(0, count * STRING_FIELDS));
      new Uint32Array(buffer, at.ends, strings).set(this.ends.subarray(0, strings));
      new Uint8Array(buffer, at.bytes, this.used).set(this.bytes.subarray(0, this.used));
      return { count, strings, buffer };
    } finally {
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

  /** The index of `text` among the batch's distinct strings, added when new. */
  private ref(text: string): number {
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
    this.ends[at] = this.used;
    this.index.set(text, at);
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
  constructor(numbers: Float64Array, refs: Uint32Array, strings: string[], n: number, s: number) {
    const status = numbers[n + 3];
    const latency = numbers[n + 6];
    const flags = numbers[n + 7];
    // The fields in the order of an HttpEvent literal (outputs that list them keep it).
    this.ts = numbers[n];
    this.src = strings[refs[s]];
    this.sport = numbers[n + 1];
    this.dst = strings[refs[s + 1]];
    this.dport = numbers[n + 2];
    this.method = strings[refs[s + 2]];
    this.host = strings[refs[s + 3]];
    this.uri = strings[refs[s + 4]];
    this.section = strings[refs[s + 5]];
    // Null first, then the value: the fields take a representation that holds both at the first
    // event, not at the first unanswered one (see Http1Event in src/http/h1/connection).
    this.status = null;
    this.status = status === NONE ? null : status;
    this.reqBytes = numbers[n + 4];
    this.respBytes = numbers[n + 5];
    this.ua = strings[refs[s + 6]];
    this.latencyMs = null;
    this.latencyMs = latency === NONE ? null : latency;
    this.version = strings[refs[s + 7]];
    this.route = strings[refs[s + 8]];
    this.client = strings[refs[s + 9]];
    this.uriTruncated = (flags & 1) !== 0;
    this.requestHeaders = strings[refs[s + 10]];
    this.responseHeaders = strings[refs[s + 11]];
    if ((flags & 2) !== 0) this.https = true;
    if ((flags & 8) !== 0) this.sni = strings[refs[s + 14]];
    const streamId = numbers[n + 8];
    if (streamId !== NONE) this.streamId = streamId;
    if ((flags & 4) !== 0) {
      const grpcStatus = numbers[n + 9];
      this.grpcMethod = strings[refs[s + 12]];
      this.grpcStatus = grpcStatus === NONE ? null : grpcStatus;
      this.grpcMessage = strings[refs[s + 13]];
      this.grpcRequestMessages = numbers[n + 10];
      this.grpcResponseMessages = numbers[n + 11];
    }
  }
}
// The class declares no fields (they would be defined, as undefined, before the constructor
// runs, optional ones included): its instances are HttpEvents by this merged declaration.
interface DecodedEvent extends HttpEvent {}

/** Rebuilds the events of a batch. */
export function decodeEvents(batch: EncodedBatch): HttpEvent[] {
  const { count, buffer } = batch;
  const at = layout(count, batch.strings);
  const numbers = new Float64Array(buffer, 0, count * NUMBER_FIELDS);
  const refs = new Uint32Array(buffer, at.refs, count * STRING_FIELDS);
  const ends = new Uint32Array(buffer, at.ends, batch.strings);
  const bytes = Buffer.from(buffer, at.bytes, buffer.byteLength - at.bytes);
  const strings: string[] = new Array(batch.strings);
  for (let i = 0, start = 0; i < batch.strings; i++) {
    strings[i] = bytes.utf8Slice(start, ends[i]);
    start = ends[i];
  }
  const events: HttpEvent[] = new Array(count);
  for (let i = 0; i < count; i++) events[i] = new DecodedEvent(numbers, refs, strings, i * NUMBER_FIELDS, i * STRING_FIELDS);
  return events;
}
