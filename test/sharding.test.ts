/**
 * The pieces of a sharded capture, in-process: the symmetric flow hash that sends both
 * directions of a connection to one worker, the chunks frames cross threads in, and the merge
 * of the workers' transactions and counters back into one time order.
 */
import { DecodedSegment, decodeFrame, DecodeResult, LinkType } from '../src/capture/decode';
import { FlowSharder } from '../src/capture/flowHash';
import { connectionHash } from '../src/capture/flowTable';
import type { FrameSink } from '../src/capture/packetSource';
import { drainIndex, FrameIndex, giveBack, useCounts } from '../src/capture/shardChannel';
import { MAX_SHARD_HELD, ShardMerger } from '../src/capture/shardMerger';
import { workerCount } from '../src/capture/shardedCapture';
import { FANOUT_SETTLE_SECONDS, FanoutStart, fanoutJoinBoard } from '../src/capture/sources/liveSource';
import { emptyCaptureStats, type TlsConnection } from '../src/types';
import { Conversation, request, response } from './helpers/conversation';
import { httpEvent } from './helpers/events';

const T0 = 1_700_000_000;

function conversation(i: number, v6: boolean): Conversation {
  const client = v6 ? { addr: `2001:db8::${(i % 65535).toString(16)}`, port: 40000 + (i % 20000) } : { addr: `10.${(i >> 8) & 255}.${i & 255}.7`, port: 40000 + (i % 20000) };
  const server = v6 ? { addr: '2001:db8:1::80', port: 443 } : { addr: '192.0.2.80', port: 80 };
  const conv = new Conversation(client, server, T0 + i * 0.01);
  conv.handshake();
  conv.send('client', request('GET', `/c/${i}`));
  conv.send('server', response(200, 'ok'));
  conv.close(i % 2 === 0 ? 'client' : 'server');
  return conv;
}

describe('the flow hash', () => {
  it('is the same for both directions of a connection', () => {
    const segment = (src4: number, sport: number, dst4: number, dport: number) => Object.assign(new DecodedSegment(), { src4, sport, dst4, dport });
    const endPairHash = (a: number, portA: number, b: number, portB: number) => connectionHash(segment(a, portA, b, portB));
    expect(endPairHash(0x0a000001, 40000, 0xc0000250, 80)).toBe(endPairHash(0xc0000250, 80, 0x0a000001, 40000));
    expect(endPairHash(7, 1, 7, 2)).toBe(endPairHash(7, 2, 7, 1));
    expect(endPairHash(0x0a000001, 40000, 0xc0000250, 80)).not.toBe(endPairHash(0x0a000001, 40001, 0xc0000250, 80));
  });

  it('sends every frame of a connection, both ways, IPv4 and IPv6, to one worker, and spreads connections evenly', () => {
    for (const workers of [2, 3, 4]) {
      const sharder = new FlowSharder(workers);
      const perWorker = new Array<number>(workers).fill(0);
      for (let i = 0; i < 600; i++) {
        const conv = conversation(i, i % 3 === 0);
        const shards = new Set(conv.frames.map(({ frame }) => sharder.shardOf(frame, 0, frame.length, frame.length, LinkType.ETHERNET)));
        expect(shards.size).toBe(1);
        perWorker[[...shards][0]]++;
      }
      // Each worker gets its share, give or take a third.
      for (const n of perWorker) expect(Math.abs(n - 600 / workers)).toBeLessThan(600 / workers / 3);
    }
  });

  it('sends frames that are not TCP, or do not decode, to worker 0 (which counts them)', () => {
    const sharder = new FlowSharder(4);
    const arp = Buffer.alloc(42);
    arp.writeUInt16BE(0x0806, 12);
    expect(sharder.shardOf(arp, 0, arp.length, arp.length, LinkType.ETHERNET)).toBe(0);
    expect(sharder.shardOf(Buffer.alloc(5), 0, 5, 5, LinkType.ETHERNET)).toBe(0);
    expect(sharder.shardOf(arp, 0, arp.length, arp.length, 9999)).toBe(0);
  });

  it('chooses one worker beside the main thread per core, and one for the demo', () => {
    const file = { kind: 'file' as const, path: 'x.pcap', filter: '', ports: null, speed: 0 };
    expect(workerCount(0, file, 2)).toBe(1);
    expect(workerCount(0, file, 1)).toBe(1);
    expect(workerCount(0, file, 8)).toBe(7);
    expect(workerCount(0, file, 64)).toBe(8);
    expect(workerCount(3, file, 2)).toBe(3);
    expect(workerCount(4, { kind: 'demo', seed: 1, speed: 1 }, 8)).toBe(1);
  });
});

/** Collects frames as a sink sees them. */
class Collect implements FrameSink {
  readonly frames: Array<{ bytes: string; caplen: number; wireLength: number; ts: number; linkType: number }> = [];
  onFrame(buf: Buffer, offset: number, caplen: number, wireLength: number, ts: number, linkType: number): void {
    this.frames.push({ bytes: buf.subarray(offset, offset + caplen).toString('hex'), caplen, wireLength, ts, linkType });
  }
}

describe('frames handed over in shared memory', () => {
  it('are read where they lie, from the pool or from a buffer of their own, with their lengths, times and link types', () => {
    const pool = [Buffer.from(new SharedArrayBuffer(4096)), Buffer.from(new SharedArrayBuffer(4096))];
    const sent = conversation(1, false).frames.concat(conversation(2, true).frames);
    const index = new FrameIndex();
    let at = 0;
    sent.forEach(({ frame, ts }, i) => {
      const linkType = i % 2 === 0 ? LinkType.ETHERNET : LinkType.RAW;
      if (i === 3) {
        // One frame in a buffer of its own (larger than a pooled one, in real life).
        const own = new SharedArrayBuffer(frame.length);
        frame.copy(Buffer.from(own));
        index.add(index.addOwnBuffer(own), 0, frame.length, frame.length + i, ts, linkType);
        return;
      }
      const buffer = i % 2;
      frame.copy(pool[buffer], at);
      index.add(buffer, at, frame.length, frame.length + i, ts, linkType);
      at += frame.length;
    });
    const taken = index.take();
    expect(taken.count).toBe(sent.length);
    expect(taken.buffers).toEqual([0, 1]);
    expect(index.count).toBe(0);
    const sink = new Collect();
    drainIndex(taken.index, taken.count, pool, taken.ownBuffers.map((b) => Buffer.from(b)), sink);
    expect(sink.frames).toEqual(sent.map(({ frame, ts }, i) => ({ bytes: frame.toString('hex'), caplen: frame.length, wireLength: frame.length + i, ts, linkType: i % 2 === 0 ? LinkType.ETHERNET : LinkType.RAW })));
    // The decoder reads a frame in shared memory like any other.
    const seg = new DecodedSegment();
    expect(decodeFrame(pool[0], 0, sent[0].frame.length, sent[0].frame.length, LinkType.ETHERNET, seg)).toBe(DecodeResult.Tcp);
    expect(seg.dport).toBe(80);
  });

  it('are given back once per index that named their buffer, and the reader is woken', () => {
    const uses = useCounts(3);
    Atomics.add(uses, 1, 2);
    Atomics.add(uses, 2, 1);
    // Then the generation the reader waits on, then the frames in buffers of their own in flight.
    Atomics.add(uses, 4, 1);
    giveBack(uses, [1, 2]);
    expect([...uses]).toEqual([0, 1, 0, 1, 1]);
    giveBack(uses, [1], 1);
    expect([...uses]).toEqual([0, 0, 0, 2, 0]);
  });
});

function tls(ts: number, serverName: string): TlsConnection {
  return { ts, src: '10.0.0.1', sport: 1, dst: '10.0.0.2', dport: 443, serverName, versionsOffered: [], alpnOffered: [], version: 'TLS 1.3', cipher: '', alpn: '', decrypted: false } as unknown as TlsConnection;
}

describe('the start of a live capture split among workers', () => {
  it('keeps no frame until every socket has joined the fanout group, then only those captured after the last join', () => {
    const board = fanoutJoinBoard(2);
    const first = new FanoutStart(2, board, 0);
    const now = Date.now() / 1000;
    // The second worker has not joined: its socket still sees everything, so the first keeps nothing.
    expect(first.keeps(now + 10)).toBe(false);
    const second = new FanoutStart(2, board, 1);
    const lastJoin = Math.max(...new Float64Array(board, 8, 2)) + FANOUT_SETTLE_SECONDS;
    expect(first.keeps(lastJoin - 0.001)).toBe(false);
    expect(second.keeps(lastJoin - 0.001)).toBe(false);
    expect(first.done).toBe(false);
    expect(first.keeps(lastJoin)).toBe(true);
    expect(first.done).toBe(true);
    expect(second.keeps(lastJoin + 1)).toBe(true);
    // A worker says it is ready only once the capture has started: from then on every frame counts.
    second.waitForStart();
    expect(Date.now() / 1000).toBeGreaterThanOrEqual(lastJoin);
  });
});

describe('the merge of the workers', () => {
  it('gives transactions out in one time order, only up to the lowest watermark of the workers still running', () => {
    const merger = new ShardMerger(2);
    merger.addEvents(0, [httpEvent(T0 + 1), httpEvent(T0 + 3), httpEvent(T0 + 5)], T0 + 6);
    // Worker 1 has said nothing yet: nothing can go.
    expect(merger.release()).toEqual([]);
    merger.addEvents(1, [httpEvent(T0 + 2), httpEvent(T0 + 4)], T0 + 4);
    expect(merger.release().map((e) => e.ts - T0)).toEqual([1, 2, 3]);
    expect(merger.watermark()).toBe(T0 + 4);
    // Worker 1 moves on with its counters alone (no transactions): worker 0's wait no more.
    merger.addStats(1, emptyCaptureStats(), T0 + 10, T0 + 10);
    expect(merger.release().map((e) => e.ts - T0)).toEqual([4, 5]);
    // A worker that ended holds nothing back.
    merger.addEvents(0, [httpEvent(T0 + 7)], T0 + 7.5);
    merger.addEvents(1, [httpEvent(T0 + 11)], T0 + 11);
    merger.end(0);
    expect(merger.release().map((e) => e.ts - T0)).toEqual([7]);
    merger.end(1);
    expect(merger.allEnded).toBe(true);
    expect(merger.release().map((e) => e.ts - T0)).toEqual([11]);
  });

  it('puts equal times in worker order, and never moves its watermark back', () => {
    const merger = new ShardMerger(3);
    merger.addEvents(2, [httpEvent(T0, { uri: '/c' })], T0 + 1);
    merger.addEvents(0, [httpEvent(T0, { uri: '/a' })], T0 + 1);
    merger.addEvents(1, [httpEvent(T0, { uri: '/b' })], T0 + 1);
    expect(merger.release().map((e) => e.uri)).toEqual(['/a', '/b', '/c']);
    merger.addStats(0, emptyCaptureStats(), T0 + 1, T0 + 0.5);
    expect(merger.watermark()).toBe(T0 + 1);
  });

  it('gives a worker\'s TLS connections out after the transactions it sent before them', () => {
    const merger = new ShardMerger(2);
    merger.addEvents(0, [httpEvent(T0 + 1, { method: 'CONNECT' })], T0 + 1.2);
    merger.addTls(0, [tls(T0 + 1.5, 'a.example')]);
    merger.addTls(1, [tls(T0 + 0.5, 'b.example')]);
    // Worker 1 sent nothing before its connection: it is due now; worker 0's waits for its CONNECT.
    expect(merger.release()).toEqual([]);
    expect(merger.releaseTls().map((group) => group[0].serverName)).toEqual(['b.example']);
    merger.addStats(1, emptyCaptureStats(), T0 + 2, T0 + 2);
    expect(merger.release().map((e) => e.method)).toEqual(['CONNECT']);
    expect(merger.releaseTls().map((group) => group[0].serverName)).toEqual(['a.example']);
  });

  it('sums the workers\' counters, and each one\'s load is kept', () => {
    const merger = new ShardMerger(2);
    const a = { ...emptyCaptureStats(), packets: 10, events: 4, kernelDrops: 1, flowsActive: 3, interfaceDown: 1 };
    const b = { ...emptyCaptureStats(), packets: 30, events: 6, kernelDrops: 2, flowsActive: 5, interfaceDown: 1 };
    merger.addStats(0, a, T0 + 1, T0);
    merger.addStats(1, b, T0 + 2, T0);
    expect(merger.stats()).toMatchObject({ packets: 40, events: 10, kernelDrops: 3, flowsActive: 8, interfaceDown: 1 });
    expect(merger.now()).toBe(T0 + 2);
    expect(merger.loads()).toEqual([{ packets: 10, transactions: 4, kernelDrops: 1 }, { packets: 30, transactions: 6, kernelDrops: 2 }]);
  });

  it('holds a bounded number of transactions: past it, the oldest half goes out whatever a lagging worker says', () => {
    const merger = new ShardMerger(2);
    const events = Array.from({ length: MAX_SHARD_HELD + 10 }, (_, i) => httpEvent(T0 + i * 0.001));
    merger.addEvents(0, events, T0 + 1e6);
    const out = merger.release();
    expect(out.length).toBeGreaterThan(MAX_SHARD_HELD / 3);
    expect(out.length).toBeLessThan(MAX_SHARD_HELD);
    expect(out.map((e) => e.ts)).toEqual(events.slice(0, out.length).map((e) => e.ts));
  });
});
