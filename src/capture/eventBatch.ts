/**
 * A compact, transferable form of an HttpEvent batch for the worker → main message. Structured
 * cloning thousands of small objects was the worker's largest cost; instead numbers travel in
 * one Float64Array and all strings in one NUL-joined string (event strings never hold a NUL:
 * control characters are escaped when they are read from the wire).
 */
import type { HttpEvent } from '../types';

/** The encoded batch; its typed arrays' buffers are transferred, not copied. */
export interface EncodedBatch {
  count: number;
  numbers: Float64Array;
  strings: string;
}

const NUMBER_FIELDS = 7; // ts, sport, dport, status, reqBytes, respBytes, latencyMs
const STRING_FIELDS = 8; // src, dst, method, host, uri, section, ua, version
const NONE = -1;

/** Encodes events; pass `transferList(batch)` to postMessage. */
export function encodeEvents(events: HttpEvent[]): EncodedBatch {
  const count = events.length;
  const numbers = new Float64Array(count * NUMBER_FIELDS);
  const strings: string[] = new Array(count * STRING_FIELDS);
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
    strings[s] = e.src;
    strings[s + 1] = e.dst;
    strings[s + 2] = e.method;
    strings[s + 3] = e.host;
    strings[s + 4] = e.uri;
    strings[s + 5] = e.section;
    strings[s + 6] = e.ua;
    strings[s + 7] = e.version;
  }
  return { count, numbers, strings: strings.join('\0') };
}

/** The buffers to transfer with a batch. */
export function transferList(batch: EncodedBatch): ArrayBuffer[] {
  return [batch.numbers.buffer as ArrayBuffer];
}

/** Rebuilds the events of a batch. */
export function decodeEvents(batch: EncodedBatch): HttpEvent[] {
  const { count, numbers } = batch;
  const strings = count === 0 ? [] : batch.strings.split('\0');
  const events: HttpEvent[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const n = i * NUMBER_FIELDS;
    const s = i * STRING_FIELDS;
    const status = numbers[n + 3];
    const latency = numbers[n + 6];
    events[i] = {
      ts: numbers[n],
      src: strings[s],
      sport: numbers[n + 1],
      dst: strings[s + 1],
      dport: numbers[n + 2],
      method: strings[s + 2],
      host: strings[s + 3],
      uri: strings[s + 4],
      section: strings[s + 5],
      status: status === NONE ? null : status,
      reqBytes: numbers[n + 4],
      respBytes: numbers[n + 5],
      ua: strings[s + 6],
      latencyMs: latency === NONE ? null : latency,
      version: strings[s + 7],
    };
  }
  return events;
}
