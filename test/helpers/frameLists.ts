/**
 * Recorded traffic for tests of the capture loop and the captures that run it: one-request
 * connections as frames, and a packet source that hands them out a few at a time.
 */
import { LinkType } from '../../src/capture/decode';
import { END, type FrameSink, type PacketSource } from '../../src/capture/packetSource';
import type { TimedFrame } from '../../src/capture/sources/demo/traffic';
import type { CaptureStats } from '../../src/types';
import { Conversation, request, response } from './conversation';

/** `count` one-request connections, each on its own client port, 1 ms apart; `pad` characters more in each URI; numbered from `first`. */
export function exchanges(count: number, pad = 0, first = 0): TimedFrame[] {
  const frames: TimedFrame[] = [];
  for (let n = 0; n < count; n++) {
    const i = first + n;
    const conv = new Conversation({ addr: '10.0.0.1', port: 1024 + (i % 60000) }, { addr: '10.0.0.2', port: 80 }, 1_700_000_000 + i * 0.001);
    conv.handshake();
    conv.send('client', request('GET', `/item/${i}${'x'.repeat(pad)}`));
    conv.send('server', response(200, 'ok'));
    conv.close();
    frames.push(...conv.frames);
  }
  return frames;
}

/** A source that hands out `perRead` frames per read from a list. */
export class ListSource implements PacketSource {
  readonly name = 'fake';
  readonly linkType = LinkType.ETHERNET;
  private next = 0;
  reads = 0;
  closed = false;

  constructor(readonly live: boolean, private readonly frames: TimedFrame[], private readonly perRead: number) {}

  read(sink: FrameSink): number {
    this.reads++;
    if (this.next >= this.frames.length) return this.live ? 0 : END;
    const stop = Math.min(this.frames.length, this.next + this.perRead);
    for (; this.next < stop; this.next++) {
      const { ts, frame } = this.frames[this.next];
      sink.onFrame(frame, 0, frame.length, frame.length, ts, LinkType.ETHERNET);
    }
    return this.perRead;
  }

  get drained(): boolean {
    return this.next >= this.frames.length;
  }

  wait(maxMs: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.min(maxMs, 5)));
  }

  updateHealth(stats: CaptureStats): void {
    if (this.live) stats.kernelDrops = 7;
  }

  close(): void {
    this.closed = true;
  }
}
