/**
 * Test fixtures: scripted TCP conversations turned into frames, written as pcap/pcapng files or
 * fed straight to the pipeline. Built on the product's own TCP script and frame builder (src/capture/sources/demo).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LinkType, TCP_RST } from '../../src/capture/decode';
import { captureLimits } from '../../src/capture/limits';
import { CapturePipeline } from '../../src/capture/pipeline';
import type { Endpoint, FrameOptions } from '../../src/capture/sources/demo/frames';
import { TcpConversation, type Side } from '../../src/capture/sources/demo/tcpConversation';
import { PcapWriter } from '../fixtures/pcapWriter';
import type { TimedFrame } from '../../src/capture/sources/demo/traffic';
import type { CaptureStats, HttpEvent, TlsConnection } from '../../src/types';
import type { KeyLog } from '../../src/tls/keyLog';

/**
 * A TCP connection whose packets a test writes one call at a time, each a step (`dt`, 1 ms by
 * default) after the one before; the numbering is the product's (TcpConversation).
 */
export class Conversation {
  readonly frames: TimedFrame[] = [];
  /** The time of the last frame written. */
  clock: number;
  private readonly tcp: TcpConversation;

  constructor(
    readonly client: Endpoint = { addr: '10.0.0.1', port: 40000 },
    readonly server: Endpoint = { addr: '10.0.0.2', port: 80 },
    startTs = 1_700_000_000,
    readonly frameOptions: FrameOptions = {},
  ) {
    this.clock = startTs;
    this.tcp = new TcpConversation(client, server, { client: 1000, server: 5000 }, (frame) => this.frames.push(frame), frameOptions);
  }

  /** The time of the next frame, `dt` after the last. */
  private tick(dt = 0.001): number {
    this.clock += dt;
    return this.clock;
  }

  /** One raw segment numbered `seq`; does not advance sequence numbers. */
  segment(side: Side, seq: number, flags: number, payload?: Buffer, dt = 0.001): TimedFrame {
    return this.tcp.segment(side, flags, this.tick(dt), { seq, payload });
  }

  handshake(): this {
    this.tcp.open(this.tick(), this.tick(), this.tick());
    return this;
  }

  /** Sends `data` from `side` in segments of `segmentSize` bytes; returns those frames. */
  send(side: Side, data: string | Buffer, segmentSize = 1460, dt = 0.001): TimedFrame[] {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const first = this.frames.length;
    this.tcp.send(side, bytes, this.clock + dt, { step: dt, segmentSize });
    const sent = this.frames.slice(first);
    if (sent.length > 0) this.clock = sent[sent.length - 1].ts;
    return sent;
  }

  /** Skips `bytes` of `side`'s sequence space, as if those packets were never captured. */
  lose(side: Side, bytes: number): this {
    this.tcp.skip(side, bytes);
    return this;
  }

  /** FIN from both sides. */
  close(first: Side = 'client'): this {
    this.tcp.close(this.tick(), this.tick(), this.tick(), first);
    return this;
  }

  reset(side: Side = 'client'): this {
    this.tcp.segment(side, TCP_RST, this.tick());
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
