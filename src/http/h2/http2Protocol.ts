/**
 * HTTP/2 as a protocol of the dispatcher: h2c on any port, from its client preface (or the
 * server's SETTINGS, which a server may send before the preface arrives); TLS plaintext whose
 * ALPN says `h2`; an HTTP/1 connection upgraded to `h2c`; and, joined mid-way, a segment that
 * starts with a plausible run of frames (see frames.ts).
 */
import type { FlowContext } from '../../protocol/flowContext';
import { Probe, type Protocol, type ProtocolSession } from '../../protocol/protocol';
import type { TextCache } from '../../protocol/sanitize';
import type { HeaderOptions } from '../headers';
import { FRAME_HEADER_LENGTH, FrameType, Guess, PREFACE, findFrameBoundary, guessFrameBoundary, isPlausibleFrameHeader } from './frames';
import { Http2Connection, type Http2Limits, type StreamNaming } from './http2Connection';

/** Ended sessions kept for new connections at most. */
const MAX_SPARE_SESSIONS = 256;

/** Does `buf[start, end)` begin the client preface (all of it, or as much as there is)? */
function prefaceAnswer(buf: Buffer, start: number, end: number): Probe {
  const length = Math.min(end - start, PREFACE.length);
  for (let i = 0; i < length; i++) if (buf[start + i] !== PREFACE[i]) return Probe.No;
  return length === PREFACE.length ? Probe.Yes : Probe.NeedMore;
}

/** A server's first frame: SETTINGS on stream 0, not an ack. */
function isServerPreface(buf: Buffer, start: number, end: number): Probe {
  if (end - start < FRAME_HEADER_LENGTH) return buf[start] === 0 ? Probe.NeedMore : Probe.No;
  return buf[start + 3] === FrameType.Settings && buf[start + 4] === 0 && isPlausibleFrameHeader(buf, start) ? Probe.Yes : Probe.No;
}

/** HTTP/2: probe, sessions, and their pool. */
export class Http2Protocol implements Protocol {
  readonly name = 'http/2';
  readonly alpn = ['h2', 'h2c'] as const;
  private readonly spare: Http2Connection[] = [];

  /** `texts`: the capture's cache of repeated header strings. */
  constructor(private readonly limits: Http2Limits, private readonly naming: StreamNaming, private readonly headerOptions: HeaderOptions, private readonly texts: TextCache) {}

  probe(buf: Buffer, start: number, end: number, midStream: boolean): Probe {
    if (midStream) {
      const guess = guessFrameBoundary(buf, start, end);
      if (guess === Guess.Yes) return Probe.Yes;
      // A segment that starts inside a frame: frames may start again further in.
      return findFrameBoundary(buf, start + 1, end) >= 0 ? Probe.Yes : guess === Guess.NeedMore ? Probe.NeedMore : Probe.No;
    }
    const preface = prefaceAnswer(buf, start, end);
    return preface !== Probe.No ? preface : isServerPreface(buf, start, end);
  }

  open(context: FlowContext): ProtocolSession {
    context.stats.h2Flows++;
    const session = this.spare.pop();
    if (session === undefined) return new Http2Connection(context, this.limits, this.naming, this.headerOptions, this.texts);
    session.attach(context);
    return session;
  }

  recycle(session: ProtocolSession): void {
    if (this.spare.length < MAX_SPARE_SESSIONS) this.spare.push(session as Http2Connection);
  }
}
