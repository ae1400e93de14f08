/** What one direction of a connection's bytes is given to, in order (a protocol parser, or the dispatcher choosing one). */

/** Receives a direction's bytes in order. Views are only valid during the call: copy what is kept. */
export interface StreamReceiver {
  push(buf: Buffer, start: number, end: number, ts: number): void;
  /** `missing` bytes (-1: unknown, a stream joined mid-way) are lost before the next push. */
  gap(ts: number, missing: number): void;
}
