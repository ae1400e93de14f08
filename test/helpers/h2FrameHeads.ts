/**
 * The HTTP/2 framing of recorded bytes, read the simplest way (RFC 9113 §4.1: a 9-byte header
 * with a 24-bit length), for checking recordings and choosing where to cut them. Headers are not
 * decoded: what a request was comes from the server's access log, not from this reading.
 */

import { PREFACE } from '../../src/http/h2/frames';

/** The client connection preface (RFC 9113 §3.4). */
export const H2_PREFACE = PREFACE;

export const FrameType = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;

/** One frame's header and where it starts in the direction's bytes. */
export interface FrameHead {
  offset: number;
  /** Payload length. */
  length: number;
  type: number;
  flags: number;
  streamId: number;
}

/** The frames of one direction's bytes from `offset` (after the preface for a client's), as far as they are whole. */
export function frameHeads(bytes: Buffer, offset = bytes.subarray(0, H2_PREFACE.length).equals(H2_PREFACE) ? H2_PREFACE.length : 0): FrameHead[] {
  const heads: FrameHead[] = [];
  while (offset + 9 <= bytes.length) {
    const length = bytes.readUIntBE(offset, 3);
    if (offset + 9 + length > bytes.length) break;
    heads.push({ offset, length, type: bytes[offset + 3], flags: bytes[offset + 4], streamId: bytes.readUInt32BE(offset + 5) & 0x7fffffff });
    offset += 9 + length;
  }
  return heads;
}

/** The client's HEADERS frames that open a stream, in order: the requests as the server received them. */
export function requestHeads(clientBytes: Buffer): FrameHead[] {
  const seen = new Set<number>();
  return frameHeads(clientBytes).filter((head) => {
    if (head.type !== FrameType.HEADERS || seen.has(head.streamId)) return false;
    seen.add(head.streamId);
    return true;
  });
}
