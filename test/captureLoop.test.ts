/**
 * The capture loop with a fake packet source and a fake main thread: what it posts, how it
 * waits for a slow main thread (files) or drops and counts (live), and how it stops.
 */
import { CaptureLoop, FLUSH_MS, IDLE_FLUSH_MS, MAX_BATCH, MAX_BATCH_CHARS, MAX_BATCHES_IN_FLIGHT, MAX_LIVE_BATCHES_IN_FLIGHT, type MessageOut } from '../src/capture/captureLoop';
import { BatchDecoder } from '../src/capture/eventBatch';
import { captureLimits } from '../src/capture/limits';
import type { FromWorker } from '../src/capture/messages';
import { END, type FrameSink, type PacketSource } from '../src/capture/packetSource';
import { CapturePipeline } from '../src/capture/pipeline';
import { LinkType } from '../src/capture/decode';
import { lingerFor, MAX_LINGER_MS } from '../src/capture/sources/liveSource';
import { Conversation, request, response } from './helpers/conversation';
import { exchanges, ListSource } from './helpers/frameLists';

/** A main thread that records messages and acknowledges only when told. */
class FakeMain implements MessageOut {
  readonly messages: FromWorker[] = [];
  unacknowledged = 0;
  maxUnacknowledged = 0;

  post(message: FromWorker): void {
    this.messages.push(message);
    if (message.type === 'events') {
      this.unacknowledged++;
      this.maxUnacknowledged = Math.max(this.maxUnacknowledged, this.unacknowledged);
    }
  }

  events(): number {
    return this.messages.reduce((n, m) => n + (m.type === 'events' ? m.batch.count : 0), 0);
  }

  last(): FromWorker {
    return this.messages[this.messages.length - 1];
  }
}

const until = async (test: () => boolean) => {
  for (let i = 0; i < 2000 && !test(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
};

function loopOver(source: PacketSource, main: FakeMain): CaptureLoop {
  return new CaptureLoop(source, new CapturePipeline(captureLimits(1024), 2), main);
}

describe('the capture loop', () => {
  it('posts ready, every transaction in order in bounded batches, stats, then eof, and closes its source', async () => {
    const source = new ListSource(false, exchanges(1500), 64);
    const main = new FakeMain();
    const loop = loopOver(source, main);
    const running = loop.run();
    // A main thread that keeps up: acknowledge everything as it comes.
    const acker = setInterval(() => { loop.acknowledge(main.unacknowledged); main.unacknowledged = 0; }, 1);
    await running;
    clearInterval(acker);
    expect(main.messages[0]).toEqual({ type: 'ready', source: 'fake', linkType: LinkType.ETHERNET });
    expect(main.last()).toEqual({ type: 'eof' });
    const batches = main.messages.filter((m) => m.type === 'events');
    expect(Math.max(...batches.map((m) => (m.type === 'events' ? m.batch.count : 0)))).toBeLessThanOrEqual(MAX_BATCH);
    const decoder = new BatchDecoder();
    const uris = batches.flatMap((m) => (m.type === 'events' ? decoder.decode(m.batch).map((e) => e.uri) : []));
    expect(uris).toEqual(Array.from({ length: 1500 }, (_, i) => `/item/${i}`));
    const stats = main.messages.filter((m) => m.type === 'stats');
    expect(stats.length).toBeGreaterThan(0);
    expect(source.closed).toBe(true);
  });

  it('cuts batches of long transactions by their characters, so that one message stays small', async () => {
    // 600 transactions with 4 KB URIs: by count one batch and a bit, by characters ~10.
    const source = new ListSource(false, exchanges(600, 4000), 4096);
    const main = new FakeMain();
    const loop = new CaptureLoop(source, new CapturePipeline({ ...captureLimits(8192), maxStrLength: 8192 }, 2), main);
    const running = loop.run();
    const acker = setInterval(() => { loop.acknowledge(main.unacknowledged); main.unacknowledged = 0; }, 1);
    await running;
    clearInterval(acker);
    const decoder = new BatchDecoder();
    const batches = main.messages.flatMap((m) => (m.type === 'events' ? [decoder.decode(m.batch)] : []));
    expect(batches.flat().map((e) => e.uri)).toEqual(Array.from({ length: 600 }, (_, i) => `/item/${i}${'x'.repeat(4000)}`));
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil((600 * 4000) / MAX_BATCH_CHARS));
    for (const events of batches) {
      const chars = events.reduce((n, e) => n + e.uri.length + e.host.length + e.ua.length + e.route.length + e.requestHeaders.length + e.responseHeaders.length, 0);
      expect(chars).toBeLessThanOrEqual(MAX_BATCH_CHARS);
    }
  });

  it('makes a file wait while the main thread is behind, and go on when it catches up', async () => {
    const source = new ListSource(false, exchanges(4000), 64);
    const main = new FakeMain();
    const loop = loopOver(source, main);
    const running = loop.run();
    await until(() => main.unacknowledged > MAX_BATCHES_IN_FLIGHT);
    const readsWhenStalled = source.reads;
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Stalled: no more reads, and no more than the allowance in flight.
    expect(source.reads).toBe(readsWhenStalled);
    expect(main.unacknowledged).toBeLessThanOrEqual(MAX_BATCHES_IN_FLIGHT + Math.ceil(64 * 8 / MAX_BATCH) + 1);
    const acker = setInterval(() => { loop.acknowledge(main.unacknowledged); main.unacknowledged = 0; }, 1);
    await running;
    clearInterval(acker);
    expect(main.events()).toBe(4000);
    expect(main.last()).toEqual({ type: 'eof' });
  });

  it('never waits on a live capture: with a stalled main thread it drops transactions, counts them, and holds a bounded queue', async () => {
    const source = new ListSource(true, exchanges(40_000), 2048);
    const main = new FakeMain();
    const loop = loopOver(source, main);
    const running = loop.run();
    await until(() => source.drained);
    // Let the loop flush what it holds.
    await new Promise((resolve) => setTimeout(resolve, 250));
    loop.stop();
    await running;
    expect(main.last()).toEqual({ type: 'stopped' });
    expect(main.maxUnacknowledged).toBeLessThanOrEqual(MAX_LIVE_BATCHES_IN_FLIGHT);
    const finalStats = [...main.messages].reverse().find((m) => m.type === 'stats');
    if (finalStats?.type !== 'stats') throw new Error('no stats');
    expect(finalStats.stats.events).toBe(40_000);
    expect(finalStats.stats.eventsDropped).toBe(40_000 - main.events());
    expect(finalStats.stats.eventsDropped).toBeGreaterThan(0);
    // What only the source knows is in the counters.
    expect(finalStats.stats.kernelDrops).toBe(7);
  });

  it('a file or the demo: stats before the first transaction carry no watermark', async () => {
    // The request comes first; its response only once a stats message has gone out.
    const conv = new Conversation({ addr: '10.0.0.1', port: 40000 }, { addr: '10.0.0.2', port: 80 }, 1_700_000_000.5);
    conv.handshake();
    conv.send('client', request('GET', '/first'));
    const requestFrames = conv.frames.length;
    conv.send('server', response(200, 'ok'));
    conv.close();
    const main = new FakeMain();
    const statsPosted = () => main.messages.some((m) => m.type === 'stats');
    let next = 0;
    const source: PacketSource = {
      name: 'gated', linkType: LinkType.ETHERNET, live: false,
      read(sink: FrameSink): number {
        const stop = next < requestFrames ? requestFrames : statsPosted() ? conv.frames.length : next;
        if (next >= conv.frames.length) return END;
        const from = next;
        for (; next < stop; next++) sink.onFrame(conv.frames[next].frame, 0, conv.frames[next].frame.length, conv.frames[next].frame.length, conv.frames[next].ts, LinkType.ETHERNET);
        return next - from;
      },
      wait: (maxMs) => new Promise((resolve) => setTimeout(resolve, Math.min(maxMs, 5))),
      updateHealth: () => undefined,
      close: () => undefined,
    };
    const loop = loopOver(source, main);
    const running = loop.run();
    const acker = setInterval(() => { loop.acknowledge(main.unacknowledged); main.unacknowledged = 0; }, 1);
    await until(() => main.events() > 0);
    loop.stop();
    await running;
    clearInterval(acker);
    const firstEvents = main.messages.findIndex((m) => m.type === 'events');
    const before = main.messages.slice(0, firstEvents).flatMap((m) => (m.type === 'stats' ? [m.watermark] : []));
    expect(before.length).toBeGreaterThan(0);
    // Had they carried it, the main thread would close a second before the data's first, empty.
    expect(before.every((watermark) => watermark === -Infinity)).toBe(true);
    const after = main.messages.slice(firstEvents).flatMap((m) => (m.type === 'stats' ? [m.watermark] : []));
    expect(after.every((watermark) => Number.isFinite(watermark))).toBe(true);
  });

  it('stops promptly while waiting for a live source with nothing to read', async () => {
    const source = new ListSource(true, [], 1);
    const main = new FakeMain();
    const loop = loopOver(source, main);
    const running = loop.run();
    await until(() => source.reads > 3);
    loop.stop();
    await running;
    expect(main.last()).toEqual({ type: 'stopped' });
    expect(source.closed).toBe(true);
  });

  /** A live source that logs its reads that took frames ('frames') and how long the loop asks it to wait. */
  class RecordingSource extends ListSource {
    readonly log: Array<'frames' | number> = [];
    override read(sink: FrameSink): number {
      const read = super.read(sink);
      if (read > 0) this.log.push('frames');
      return read;
    }
    override wait(maxMs: number): Promise<void> {
      this.log.push(maxMs);
      return super.wait(maxMs);
    }
  }

  it('a live capture that read nothing waits IDLE_FLUSH_MS between health messages, and FLUSH_MS again once frames come', async () => {
    const frames = exchanges(5);
    const source = new RecordingSource(true, frames, 1000);
    const main = new FakeMain();
    const loop = loopOver(source, main);
    const running = loop.run();
    const stats = () => main.messages.filter((m) => m.type === 'stats').length;
    await until(() => stats() >= 3);
    // A quiet spell ends: the next read takes three more exchanges.
    frames.push(...exchanges(3, 0, 5));
    await until(() => main.events() >= 8);
    loop.stop();
    await running;
    const reads = source.log.flatMap((entry, at) => (entry === 'frames' ? [at] : []));
    expect(reads).toHaveLength(2);
    const waits = (from: number, to: number) => source.log.slice(from, to).filter((entry): entry is number => entry !== 'frames');
    const quiet = waits(reads[0] + 1, reads[1]);
    // Until the first health message the period is the short one; after it, nothing was read,
    // and the loop asks for up to the idle period (a slow machine only asks for less).
    expect(quiet[0]).toBeLessThanOrEqual(FLUSH_MS);
    expect(Math.max(...quiet)).toBeGreaterThan(FLUSH_MS);
    expect(Math.max(...quiet)).toBeLessThanOrEqual(IDLE_FLUSH_MS);
    // Frames came: the short period again, and they leave.
    expect(waits(reads[1] + 1, source.log.length)[0]).toBeLessThanOrEqual(FLUSH_MS);
    loop.acknowledge(main.unacknowledged);
    expect(main.events()).toBe(8);
  });

  it('one of several live workers keeps FLUSH_MS when idle: the merge waits for the slowest worker\'s clock', async () => {
    class ShardSource extends RecordingSource {
      readonly clockLag = 0.5;
    }
    const source = new ShardSource(true, [], 1);
    const main = new FakeMain();
    const loop = loopOver(source, main);
    const running = loop.run();
    await until(() => main.messages.filter((m) => m.type === 'stats').length >= 3);
    loop.stop();
    await running;
    const waits = source.log.filter((entry): entry is number => entry !== 'frames');
    expect(waits.length).toBeGreaterThan(0);
    expect(Math.max(...waits)).toBeLessThanOrEqual(FLUSH_MS);
  });

  it('asks a live source how long to let its ring fill after each read that took frames, never after an empty one', async () => {
    /** A live source whose every read with frames emptied its ring. */
    class LingeringSource extends ListSource {
      readsWithFrames = 0;
      lingerAsked = 0;
      override read(sink: FrameSink): number {
        const read = super.read(sink);
        if (read > 0) this.readsWithFrames++;
        return read;
      }
      lingerMs(): number {
        this.lingerAsked++;
        return 1;
      }
    }
    const source = new LingeringSource(true, exchanges(40), 10);
    const main = new FakeMain();
    const loop = loopOver(source, main);
    const running = loop.run();
    await until(() => source.drained && source.reads > source.readsWithFrames + 3);
    loop.stop();
    await running;
    expect(source.readsWithFrames).toBeGreaterThan(10);
    expect(source.lingerAsked).toBe(source.readsWithFrames);
    loop.acknowledge(main.unacknowledged);
    expect(main.events()).toBe(40);
  });
});

describe('the pause after a read that emptied the ring', () => {
  it('is 3 ms for the default ring, and a quarter of the time a 10 Gbit/s link takes to fill a small one', () => {
    expect(lingerFor(32 * 1024 * 1024)).toBe(MAX_LINGER_MS);
    expect(MAX_LINGER_MS).toBe(3);
    expect(lingerFor(2 * 1024 * 1024)).toBeCloseTo(2 * 1024 * 1024 / 1.25e6 / 4, 6);
    expect(lingerFor(2 * 1024 * 1024)).toBeLessThan(0.5);
  });
});
