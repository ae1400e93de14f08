/**
 * Builders of HTTP/2 bytes (RFC 9113 §4.1, §6): the preface, a frame of any type with its flags
 * and padding, gRPC's length-prefixed messages, and one side of a connection that encodes its
 * header lists with its own HPACK table, as a client or a server would. Used by the demo's
 * HTTP/2 traffic and the test fixtures, so that both speak the same HTTP/2.
 */
import { Flag, FrameType, PREFACE } from '../../../http/h2/frames';
import { HpackEncoder, type HpackEncoderOptions } from './hpackEncoder';

export { Flag, FrameType, PREFACE };

/** One frame: its 9-byte header and payload. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** A SETTINGS frame (empty: every setting at its default), or its ack. */
export function settings(ack = false): Buffer {
  return frame(FrameType.Settings, ack ? Flag.Ack : 0, 0, ack ? Buffer.alloc(0) : Buffer.from([0, 3, 0, 0, 0, 100]));
}

/** DATA frames carrying `body` on `streamId`, `frameSize` bytes of data each, the last with END_STREAM when `end`. */
export function data(streamId: number, body: Buffer | string, end: boolean, frameSize = 16384, padding = 0): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const frames: Buffer[] = [];
  for (let at = 0; at < bytes.length || frames.length === 0; at += frameSize) {
    const chunk = bytes.subarray(at, Math.min(bytes.length, at + frameSize));
    const last = at + frameSize >= bytes.length;
    const flags = (last && end ? Flag.EndStream : 0) | (padding > 0 ? Flag.Padded : 0);
    const payload = padding > 0 ? Buffer.concat([Buffer.from([padding]), chunk, Buffer.alloc(padding)]) : chunk;
    frames.push(frame(FrameType.Data, flags, streamId, payload));
  }
  return Buffer.concat(frames);
}

/** A gRPC message: the 5-byte prefix (not compressed) and its bytes. */
export function grpcMessage(bytes: Buffer | string): Buffer {
  const body = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

/** How a header block is framed. */
export interface HeadersOptions {
  end?: boolean;
  /** Split the block into a HEADERS and CONTINUATION frames of this many bytes. */
  fragment?: number;
  padding?: number;
  priority?: boolean;
}

/** One side's HPACK table and frames: each header list is encoded as that side's encoder would. */
export class H2Side {
  readonly encoder: HpackEncoder;

  constructor(options: HpackEncoderOptions = {}) {
    this.encoder = new HpackEncoder(options);
  }

  /** A header list as HEADERS (+ CONTINUATION) frames on `streamId`. */
  headers(streamId: number, headers: ReadonlyArray<readonly [string, string]>, options: HeadersOptions = {}): Buffer {
    const block = this.encoder.encode(headers);
    return headerFrames(FrameType.Headers, streamId, block, options);
  }

  /** A PUSH_PROMISE of `promisedId` with the pushed request's headers. */
  pushPromise(streamId: number, promisedId: number, headers: ReadonlyArray<readonly [string, string]>): Buffer {
    const promised = Buffer.alloc(4);
    promised.writeUInt32BE(promisedId);
    return frame(FrameType.PushPromise, Flag.EndHeaders, streamId, Buffer.concat([promised, this.encoder.encode(headers)]));
  }
}

/** A header block as HEADERS (or another first frame type) and CONTINUATION frames. */
export function headerFrames(type: number, streamId: number, block: Buffer, options: HeadersOptions = {}): Buffer {
  const size = options.fragment ?? block.length;
  const first = block.subarray(0, size);
  const rest: Buffer[] = [];
  for (let at = size; at < block.length; at += size) rest.push(block.subarray(at, at + size));
  let flags = (options.end ? Flag.EndStream : 0) | (rest.length === 0 ? Flag.EndHeaders : 0);
  const parts: Buffer[] = [];
  if (options.padding !== undefined) {
    flags |= Flag.Padded;
    parts.push(Buffer.from([options.padding]));
  }
  if (options.priority) {
    flags |= Flag.Priority;
    parts.push(Buffer.from([0, 0, 0, 0, 15]));
  }
  parts.push(first);
  if (options.padding !== undefined) parts.push(Buffer.alloc(options.padding));
  const frames = [frame(type, flags, streamId, Buffer.concat(parts))];
  rest.forEach((fragment, i) => frames.push(frame(FrameType.Continuation, i === rest.length - 1 ? Flag.EndHeaders : 0, streamId, fragment)));
  return Buffer.concat(frames);
}

/** A RST_STREAM with an error code (8: CANCEL). */
export function rstStream(streamId: number, code = 8): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FrameType.RstStream, 0, streamId, payload);
}

/** A WINDOW_UPDATE granting `increment` more bytes on `streamId` (0: the connection). */
export function windowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment);
  return frame(FrameType.WindowUpdate, 0, streamId, payload);
}

/** A GOAWAY naming the last stream the server took. */
export function goAway(lastStreamId: number, code = 0): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(lastStreamId);
  payload.writeUInt32BE(code, 4);
  return frame(FrameType.GoAway, 0, 0, payload);
}
