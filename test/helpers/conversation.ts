/**
 * Test fixtures: scripted TCP conversations turned into frames, written as pcap/pcapng files or
 * fed straight to the pipeline. Built on the product's own frame builder (src/demo/frames).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LinkType, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../src/capture/decode';
import { captureLimits } from '../../src/capture/limits';
import { CapturePipeline } from '../../src/capture/pipeline';
import { buildFrame, type Endpoint, type FrameOptions } from '../../src/capture/sources/demo/frames';
import { PcapWriter } from '../fixtures/pcapWriter';
import type { TimedFrame } from '../../src/capture/sources/demo/traffic';
import type { CaptureStats, HttpEvent, TlsConnection } from '../../src/types';
import type { KeyLog } from '../../src/tls/keyLog';

const PSH = 0x08;

export type Side = 'client' | 'server';

/** A TCP connection whose packets a test writes one call at a time. */
export class Conversation {
  readonly frames: TimedFrame[] = [];
  clock: number;
  private seq: Record<Side, number>;

  constructor(
    readonly client: Endpoint = { addr: '10.0.0.1', port: 40000 },
    readonly server: Endpoint = { addr: '10.0.0.2', port: 80 },
    startTs = 1_700_000_000,
    readonly frameOptions: FrameOptions = {},
  ) {
    this.clock = startTs;
    this.seq = { client: 1000, server: 5000 };
  }

  private ends(side: Side): [Endpoint, Endpoint] {
    return side === 'client' ? [this.client, this.server] : [this.server, this.client];
  }

  private other(side: Side): Side {
    return side === 'client' ? 'server' : 'client';
  }

  /** One raw segment; does not advance sequence numbers. */
  segment(side: Side, seq: number, flags: number, payload?: Buffer, dt = 0.001): TimedFrame {
    const [src, dst] = this.ends(side);
    this.clock += dt;
    const frame = { ts: this.clock, frame: buildFrame({ src, dst, seq, ack: this.seq[this.other(side)], flags, payload }, this.frameOptions) };
    this.frames.push(frame);
    return frame;
  }

  handshake(): this {
    this.segment('client', this.seq.client, TCP_SYN);
    this.segment('server', this.seq.server, TCP_SYN | TCP_ACK);
    this.seq.client++;
    this.seq.server++;
    this.segment('client', this.seq.client, TCP_ACK);
    return this;
  }

  /** Sends `data` from `side` in segments of `segmentSize` bytes; returns those frames. */
  send(side: Side, data: string | Buffer, segmentSize = 1460, dt = 0.001): TimedFrame[] {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const sent: TimedFrame[] = [];
    for (let offset = 0; offset < bytes.length; offset += segmentSize) {
      const piece = bytes.subarray(offset, Math.min(bytes.length, offset + segmentSize));
      sent.push(this.segment(side, this.seq[side], PSH | TCP_ACK, piece, dt));
      this.seq[side] = (this.seq[side] + piece.length) >>> 0;
    }
    return sent;
  }

  /** Skips `bytes` of `side`'s sequence space, as if those packets were never captured. */
  lose(side: Side, bytes: number): this {
    this.seq[side] = (this.seq[side] + bytes) >>> 0;
    return this;
  }

  /** FIN from both sides. */
  close(first: Side = 'client'): this {
    this.segment(first, this.seq[first], TCP_FIN | TCP_ACK);
    this.seq[first]++;
    const second = this.other(first);
    this.segment(second, this.seq[second], TCP_FIN | TCP_ACK);
    this.seq[second]++;
    this.segment(first, this.seq[first], TCP_ACK);
    return this;
  }

  reset(side: Side = 'client'): this {
    this.segment(side, this.seq[side], TCP_RST);
    return this;
  }
}

/** Frames of several conversations merged in time order. */
export function interleave(...conversations: Conversation[]): TimedFrame[] {
  return conversations.flatMap((c) => c.frames).sort((a, b) => a.ts - b.ts);
}

/** Runs frames through the pipeline in-process, each cut to `snapLength` bytes as a capture would. */
export function runFrames(frames: TimedFrame[], linkType: number = LinkType.ETHERNET, maxStrLength = 1024, snapLength = Infinity, keyLog: KeyLog | null = null): { events: HttpEvent[]; stats: CaptureStats; tls: TlsConnection[] } {
  const pipeline = new CapturePipeline(captureLimits(maxStrLength), 2, { keyLog });
  const events: HttpEvent[] = [];
  const tls: TlsConnection[] = [];
  for (const { ts, frame } of frames) {
    pipeline.onFrame(frame, 0, Math.min(frame.length, snapLength), frame.length, ts, linkType);
    pipeline.tick(pipeline.now);
    events.push(...pipeline.release());
    tls.push(...pipeline.releaseTls());
  }
  events.push(...pipeline.finish());
  tls.push(...pipeline.releaseTls());
  return { events, stats: pipeline.stats, tls };
}

/** A fresh temporary directory for one test file. */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wiretop-test-'));
}

/** Writes frames as a classic pcap file. */
export function writePcap(file: string, frames: TimedFrame[], linkType: number = LinkType.ETHERNET): string {
  const writer = new PcapWriter(file, linkType);
  for (const { ts, frame } of frames) writer.write(ts, frame);
  writer.close();
  return file;
}

/** Writes frames as a pcapng file (one interface; nanosecond resolution; big- or little-endian). */
export function writePcapng(file: string, frames: TimedFrame[], linkType: number = LinkType.ETHERNET, bigEndian = false): string {
  const blocks: Buffer[] = [];
  const u32 = (b: Buffer, v: number, at: number) => (bigEndian ? b.writeUInt32BE(v, at) : b.writeUInt32LE(v, at));
  const u16 = (b: Buffer, v: number, at: number) => (bigEndian ? b.writeUInt16BE(v, at) : b.writeUInt16LE(v, at));
  const shb = Buffer.alloc(28);
  shb.writeUInt32LE(0x0a0d0d0a, 0);
  u32(shb, 28, 4);
  u32(shb, 0x1a2b3c4d, 8);
  u16(shb, 1, 12);
  shb.writeBigInt64LE(-1n, 16);
  u32(shb, 28, 24);
  blocks.push(shb);
  const idb = Buffer.alloc(32);
  u32(idb, 1, 0);
  u32(idb, 32, 4);
  u16(idb, linkType, 8);
  u32(idb, 65535, 12);
  u16(idb, 9, 16); // if_tsresol
  u16(idb, 1, 18);
  idb[20] = 9; // 10^-9 s
  u32(idb, 32, 28);
  blocks.push(idb);
  for (const { ts, frame } of frames) {
    const padded = Math.ceil(frame.length / 4) * 4;
    const epb = Buffer.alloc(32 + padded);
    u32(epb, 6, 0);
    u32(epb, epb.length, 4);
    const units = BigInt(Math.round(ts * 1e6)) * 1000n;
    u32(epb, Number(units >> 32n), 12);
    u32(epb, Number(units & 0xffffffffn), 16);
    u32(epb, frame.length, 20);
    u32(epb, frame.length, 24);
    frame.copy(epb, 28);
    u32(epb, epb.length, epb.length - 4);
    blocks.push(epb);
  }
  fs.writeFileSync(file, Buffer.concat(blocks));
  return file;
}

/** A minimal request. */
export function request(method: string, uri: string, host = 'example.com', extra = ''): string {
  return `${method} ${uri} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: test-agent\r\n${extra}\r\n`;
}

/** A response with a Content-Length body. */
export function response(status: number, body = '', extra = ''): string {
  return `HTTP/1.1 ${status} X\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
}
