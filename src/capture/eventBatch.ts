/**
 * A compact, transferable form of an HttpEvent batch for the worker → main message. Structured
 * cloning thousands of small objects was the worker's largest cost; instead numbers travel in
 * one Float64Array, and strings as the batch's distinct strings (UTF-8, back to back) with one
 * index per string field.
 *
 * Why not one joined string split on arrival: V8 makes the pieces "sliced strings" that keep
 * the whole joined string alive, so one URI kept by a top-N summary pinned its batch's ~100 KB.
 * Strings decoded from bytes are fresh and own only themselves; the distinct ones are decoded
 * once per batch and shared by its events.
 */
import type { HttpEvent } from '../types';

/** The encoded batch; its typed arrays' buffers are transferred, not copied. */
export interface EncodedBatch {
  count: number;
  /** NUMBER_FIELDS per event. */
  numbers: Float64Array;
  /** STRING_FIELDS per event: indices into the batch's distinct strings. */
  stringRefs: Uint32Array;
  /** The distinct strings in UTF-8, back to back; string i ends at `stringEnds[i]`. */
  stringBytes: Uint8Array;
  stringEnds: Uint32Array;
}

const NUMBER_FIELDS = 7; // ts, sport, dport, status, reqBytes, respBytes, latencyMs
const STRING_FIELDS = 8; // src, dst, method, host, uri, section, ua, version
const NONE = -1;

/** Encodes events (in the worker); its scratch buffer and index are reused from batch to batch. */
export class BatchEncoder {
  private scratch = Buffer.allocUnsafe(256 * 1024);
  private readonly index = new Map<string, number>();
  private ends: number[] = [];
  private used = 0;

  /** Encodes `events`; pass `transferList(batch)` to postMessage. */
  encode(events: readonly HttpEvent[]): EncodedBatch {
    const count = events.length;
    const numbers = new Float64Array(count * NUMBER_FIELDS);
    const refs = new Uint32Array(count * STRING_FIELDS);
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
      const s = i * STRING_FIELDS;
      refs[s] = this.ref(e.src);
      refs[s + 1] = this.ref(e.dst);
      refs[s + 2] = this.ref(e.method);
      refs[s + 3] = this.ref(e.host);
      refs[s + 4] = this.ref(e.uri);
      refs[s + 5] = this.ref(e.section);
      refs[s + 6] = this.ref(e.ua);
      refs[s + 7] = this.ref(e.version);
    }
    const batch: EncodedBatch = {
      count,
      numbers,
      stringRefs: refs,
      stringBytes: new Uint8Array(this.scratch.subarray(0, this.used)),
      stringEnds: Uint32Array.from(this.ends),
    };
    this.index.clear();
    this.ends = [];
    this.used = 0;
    return batch;
  }

  /** The index of `text` among the batch's distinct strings, added when new. */
  private ref(text: string): number {
    let at = this.index.get(text);
    if (at !== undefined) return at;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.used + text.length * 3 > this.scratch.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.used + text.length * 3));
      this.scratch.copy(grown, 0, 0, this.used);
      this.scratch = grown;
    }
    this.used += this.scratch.utf8Write(text, this.used);
    at = this.ends.length;
    this.ends.push(this.used);
    this.index.set(text, at);
    return at;
  }
}

/** Encodes events with a one-off encoder (tests, and callers outside the worker's hot path). */
export function encodeEvents(events: readonly HttpEvent[]): EncodedBatch {
  return new BatchEncoder().encode(events);
}

/** The buffers to transfer with a batch. */
export function transferList(batch: EncodedBatch): ArrayBuffer[] {
  return [batch.numbers.buffer, batch.stringRefs.buffer, batch.stringBytes.buffer, batch.stringEnds.buffer] as ArrayBuffer[];
}

/** Rebuilds the events of a batch. */
export function decodeEvents(batch: EncodedBatch): HttpEvent[] {
  const { count, numbers, stringRefs: refs, stringEnds: ends } = batch;
  const bytes = Buffer.from(batch.stringBytes.buffer, batch.stringBytes.byteOffset, batch.stringBytes.byteLength);
  const strings: string[] = new Array(ends.length);
  for (let i = 0, start = 0; i < ends.length; i++) {
    strings[i] = bytes.utf8Slice(start, ends[i]);
    start = ends[i];
  }
  const events: HttpEvent[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const n = i * NUMBER_FIELDS;
    const s = i * STRING_FIELDS;
    const status = numbers[n + 3];
    const latency = numbers[n + 6];
    events[i] = {
      ts: numbers[n],
      src: strings[refs[s]],
      sport: numbers[n + 1],
      dst: strings[refs[s + 1]],
      dport: numbers[n + 2],
      method: strings[refs[s + 2]],
      host: strings[refs[s + 3]],
      uri: strings[refs[s + 4]],
      section: strings[refs[s + 5]],
      status: status === NONE ? null : status,
      reqBytes: numbers[n + 4],
      respBytes: numbers[n + 5],
      ua: strings[refs[s + 6]],
      latencyMs: latency === NONE ? null : latency,
      version: strings[refs[s + 7]],
    };
  }
  return events;
}

/** Bytes a batch holds (for bounding memory kept of batches). */
export function batchBytes(batch: EncodedBatch): number {
  return batch.numbers.byteLength + batch.stringRefs.byteLength + batch.stringBytes.byteLength + batch.stringEnds.byteLength;
}
