/**
 * The libpcap session's batches, on capture files through the real binding: whether a batch
 * took everything that was ready (what tells the live capture loop it may pause, see
 * PacketSource.lingerMs) or stopped because it was full.
 */
import * as path from 'path';
import { LibpcapSession } from '../src/capture/libpcap';
import type { FrameSink } from '../src/capture/packetSource';
import { Conversation, request, response, tempDir } from './helpers/conversation';
import { PcapWriter } from './fixtures/pcapWriter';

/** A capture of `requests` keep-alive requests and their responses on one connection. */
function capture(requests: number): string {
  const file = path.join(tempDir(), `keepalive-${requests}.pcap`);
  const conv = new Conversation({ addr: '10.0.0.1', port: 40000 }, { addr: '10.0.0.2', port: 80 }, 1_700_000_000).handshake();
  for (let i = 0; i < requests; i++) {
    conv.send('client', request('GET', `/r/${i}`));
    conv.send('server', response(200, 'ok'));
  }
  const writer = new PcapWriter(file);
  for (const { ts, frame } of conv.frames) writer.write(ts, frame);
  writer.close();
  return file;
}

const counter = (): FrameSink & { frames: number } => ({ frames: 0, onFrame() { this.frames++; } });

describe('a libpcap batch', () => {
  it('says it took everything ready when it stopped short of its room', () => {
    const session = LibpcapSession.openOffline(capture(3), '');
    try {
      const sink = counter();
      expect(session.drainInto(sink)).toBeGreaterThan(0);
      expect(session.emptiedRing).toBe(true);
    } finally {
      session.close();
    }
  });

  it('says it did not when it was full (4,096 packets), until the last batch', () => {
    const session = LibpcapSession.openOffline(capture(3000), '');
    try {
      const sink = counter();
      expect(session.drainInto(sink)).toBe(4096);
      expect(session.emptiedRing).toBe(false);
      let read = session.drainInto(sink);
      for (; read === 4096; read = session.drainInto(sink)) expect(session.emptiedRing).toBe(false);
      expect(read).toBeGreaterThan(0);
      expect(session.emptiedRing).toBe(true);
      expect(sink.frames).toBe(2 * 3000 + 3);
    } finally {
      session.close();
    }
  });
});
