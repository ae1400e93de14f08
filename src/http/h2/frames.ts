/**
 * The HTTP/2 frame layer's constants (RFC 9113 §4, §6) and the test of whether bytes look like
 * the start of a frame, used to recognise HTTP/2 on a connection joined mid-way and to find a
 * frame boundary again after lost bytes.
 */

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER_LENGTH = 9;

/** Frame types. */
export const enum FrameType {
  Data = 0x0,
  Headers = 0x1,
  Priority = 0x2,
  RstStream = 0x3,
  Settings = 0x4,
  PushPromise = 0x5,
  Ping = 0x6,
  GoAway = 0x7,
  WindowUpdate = 0x8,
  Continuation = 0x9,
}

/** Frame flags. */
export const enum Flag {
  EndStream = 0x1,
  Ack = 0x1,
  EndHeaders = 0x4,
  Padded = 0x8,
  Priority = 0x20,
}

/** The largest SETTINGS_MAX_FRAME_SIZE a peer may set (2^24 - 1). */
export const MAX_FRAME_LENGTH = 0xffffff;
/** The default SETTINGS_MAX_FRAME_SIZE: most frames of most servers are within it. */
export const DEFAULT_MAX_FRAME_LENGTH = 16384;

/** Flags each frame type defines; any other bit set makes a guessed boundary implausible. */
const DEFINED_FLAGS = [
  Flag.EndStream | Flag.Padded, // DATA
  Flag.EndStream | Flag.EndHeaders | Flag.Padded | Flag.Priority, // HEADERS
  0, 0, // PRIORITY, RST_STREAM
  Flag.Ack, // SETTINGS
  Flag.EndHeaders | Flag.Padded, // PUSH_PROMISE
  Flag.Ack, // PING
  0, 0, // GOAWAY, WINDOW_UPDATE
  Flag.EndHeaders, // CONTINUATION
];

/** Frame types that belong to a stream (a non-zero id); the others are the connection's (id 0). */
function onStream(type: number): boolean {
  return type !== FrameType.Settings && type !== FrameType.Ping && type !== FrameType.GoAway;
}

/** Payload lengths the frame types fix (-1: any). */
function fixedLength(type: number): number {
  switch (type) {
    case FrameType.Priority: return 5;
    case FrameType.RstStream: return 4;
    case FrameType.Ping: return 8;
    case FrameType.WindowUpdate: return 4;
    default: return -1;
  }
}

/** Stream ids above this are taken as noise when guessing a boundary (a connection would need a million requests). */
const MAX_GUESSED_STREAM_ID = 1 << 24;

/**
 * Could `buf[at, at + 9)` be a frame header? Strict, since a guess on noise costs a connection's
 * worth of wrong transactions: a frame of the default maximum size at most, a known type, only
 * its defined flags, the reserved bit clear, a stream id where the type needs one (and none
 * where it must not), the lengths the type fixes.
 */
export function isPlausibleFrameHeader(buf: Buffer, at: number): boolean {
  const length = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
  const type = buf[at + 3];
  if (length > DEFAULT_MAX_FRAME_LENGTH || type > FrameType.Continuation) return false;
  if ((buf[at + 4] & ~DEFINED_FLAGS[type]) !== 0) return false;
  if ((buf[at + 5] & 0x80) !== 0) return false;
  const streamId = buf.readUInt32BE(at + 5);
  if (onStream(type) !== (streamId !== 0) && type !== FrameType.WindowUpdate) return false;
  if (streamId > MAX_GUESSED_STREAM_ID) return false;
  if (type === FrameType.Settings && length % 6 !== 0) return false;
  if (type === FrameType.GoAway && length < 8) return false;
  const fixed = fixedLength(type);
  return fixed < 0 || length === fixed;
}

/** The answer of a boundary guess. */
export const enum Guess { No, Yes, NeedMore }

/**
 * Does `buf[start, end)` begin at a frame boundary? The first header must be plausible, and so
 * must the next one when the first frame ends within the bytes given; a frame that runs past
 * them is taken on its header alone, but only a frame that carries a stream's data (HEADERS or
 * DATA) or SETTINGS, the frames a segment most often starts with.
 */
export function guessFrameBoundary(buf: Buffer, start: number, end: number): Guess {
  if (end - start < FRAME_HEADER_LENGTH) return Guess.NeedMore;
  if (!isPlausibleFrameHeader(buf, start)) return Guess.No;
  const next = start + FRAME_HEADER_LENGTH + ((buf[start] << 16) | (buf[start + 1] << 8) | buf[start + 2]);
  if (next === end) return Guess.Yes;
  if (next + FRAME_HEADER_LENGTH <= end) return isPlausibleFrameHeader(buf, next) ? Guess.Yes : Guess.No;
  if (next < end) return Guess.NeedMore;
  const type = buf[start + 3];
  return type === FrameType.Data || type === FrameType.Headers || type === FrameType.Settings ? Guess.Yes : Guess.No;
}

/** The shortest lone DATA frame taken as a boundary when it runs past the bytes seen (servers send bodies in frames of 8 or 16 KiB). */
const MIN_OPEN_DATA_LENGTH = 4096;

/** The payload length in a frame header at `at`. */
function lengthAt(buf: Buffer, at: number): number {
  return (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
}

/**
 * Do plausible frames run from `at` to the end of the bytes given: every whole header on the
 * way plausible, and either the last frame ending exactly at `end`, or at least two frames seen
 * before the bytes run out, or (`openData`) one DATA frame that runs past them.
 */
function framesRunFrom(buf: Buffer, at: number, end: number, openData: boolean): boolean {
  let frames = 0;
  const first = at;
  while (at + FRAME_HEADER_LENGTH <= end) {
    if (!isPlausibleFrameHeader(buf, at)) return false;
    frames++;
    at += FRAME_HEADER_LENGTH + lengthAt(buf, at);
    if (at === end) return true;
  }
  // A lone DATA frame must be a long one (a body in large frames), not a few bytes that happen to parse.
  return frames >= 2 || (openData && frames === 1 && at > end && buf[first + 3] === FrameType.Data && lengthAt(buf, first) >= MIN_OPEN_DATA_LENGTH);
}

/**
 * Where frames start again within `buf[start, end)`, bytes having been lost before them (a
 * segment that begins inside a frame): the first offset from which plausible frames run to the
 * end (see framesRunFrom), looked for within one maximum frame of the start; -1 when none.
 * `openData` takes a lone DATA frame running past the end too (a long body sent in frames of
 * the maximum size has one boundary a segment): its reader confirms it with the next header.
 */
export function findFrameBoundary(buf: Buffer, start: number, end: number, openData = false): number {
  const found = scanForFrames(buf, start, end, false);
  // A run of frames anywhere is better evidence than a lone DATA frame: looked for first.
  return found >= 0 || !openData ? found : scanForFrames(buf, start, end, true);
}

function scanForFrames(buf: Buffer, start: number, end: number, openData: boolean): number {
  const last = Math.min(end - FRAME_HEADER_LENGTH, start + DEFAULT_MAX_FRAME_LENGTH + FRAME_HEADER_LENGTH);
  for (let at = start; at <= last; at++) {
    // A length of at most 16,384 starts with a zero byte: most offsets stop here.
    if (buf[at] !== 0 || buf[at + 1] > 0x40) continue;
    if (framesRunFrom(buf, at, end, openData)) return at;
  }
  return -1;
}
