/** The streaming pcap/pcapng reader. */
import * as fs from 'fs';
import * as path from 'path';
import { CHUNK_BYTES, CaptureFileReader } from '../src/capture/captureFile';
import { LinkType } from '../src/capture/decode';
import { WiretopError } from '../src/errors';
import { Conversation, request, tempDir, writePcap, writePcapng } from './helpers/conversation';

const dir = tempDir();

function frames() {
  const conv = new Conversation().handshake();
  conv.send('client', request('GET', '/x'));
  return conv.frames;
}

function readAll(file: string): Array<{ ts: number; caplen: number; linkType: number; first: number }> {
  const reader = new CaptureFileReader(file);
  const out = [];
  for (let p = reader.next(); p !== null; p = reader.next()) out.push({ ts: p.ts, caplen: p.caplen, linkType: p.linkType, first: p.buf[p.offset] });
  reader.close();
  return out;
}

describe('CaptureFileReader', () => {
  const expected = frames().map((f) => ({ ts: f.ts, caplen: f.frame.length }));

  it('reads little-endian microsecond pcap', () => {
    const packets = readAll(writePcap(path.join(dir, 'a.pcap'), frames()));
    expect(packets.map((p) => p.caplen)).toEqual(expected.map((e) => e.caplen));
    packets.forEach((p, i) => expect(p.ts).toBeCloseTo(expected[i].ts, 6));
    expect(new Set(packets.map((p) => p.linkType))).toEqual(new Set([LinkType.ETHERNET]));
  });

  it('reads big-endian and nanosecond pcap', () => {
    const file = writePcap(path.join(dir, 'le.pcap'), frames(), LinkType.RAW);
    const le = fs.readFileSync(file);
    // Rewrite as big-endian with nanosecond timestamps.
    const be = Buffer.from(le);
    be.writeUInt32BE(0xa1b23c4d, 0);
    be.writeUInt16BE(2, 4);
    be.writeUInt16BE(4, 6);
    be.writeUInt32BE(le.readUInt32LE(16), 16);
    be.writeUInt32BE(le.readUInt32LE(20), 20);
    for (let at = 24; at < le.length;) {
      const caplen = le.readUInt32LE(at + 8);
      be.writeUInt32BE(le.readUInt32LE(at), at);
      be.writeUInt32BE(le.readUInt32LE(at + 4) * 1000, at + 4);
      be.writeUInt32BE(caplen, at + 8);
      be.writeUInt32BE(le.readUInt32LE(at + 12), at + 12);
      at += 16 + caplen;
    }
    const beFile = path.join(dir, 'be.pcap');
    fs.writeFileSync(beFile, be);
    const packets = readAll(beFile);
    expect(packets).toHaveLength(expected.length);
    packets.forEach((p, i) => expect(p.ts).toBeCloseTo(expected[i].ts, 6));
    expect(packets[0].linkType).toBe(LinkType.RAW);
  });

  it('reads pcapng in both byte orders, with the interface timestamp resolution', () => {
    for (const bigEndian of [false, true]) {
      const packets = readAll(writePcapng(path.join(dir, `x${bigEndian}.pcapng`), frames(), LinkType.ETHERNET, bigEndian));
      expect(packets.map((p) => p.caplen)).toEqual(expected.map((e) => e.caplen));
      packets.forEach((p, i) => expect(p.ts).toBeCloseTo(expected[i].ts, 6));
    }
  });

  it('grows its buffer for a record larger than a chunk, and goes back to a chunk once it is read', () => {
    // Each small record's bytes differ (its number, then a count): a byte lost or moved shows.
    const small = (i: number) => ({ ts: 1_700_000_000 + i / 1000, frame: Buffer.from(Array.from({ length: 1500 }, (_, k) => (i + k) & 0xff)) });
    // 3 MB: the grown buffer (twice that) also takes in small records after it, which the
    // return to a chunk then carries over.
    const big = { ts: 1_700_000_000.5, frame: Buffer.alloc(3 * 1024 * 1024, 0x41) };
    // 12 MB after the large record: the reader refills its buffer several times after it.
    const written = [small(0), big, ...Array.from({ length: 8000 }, (_, i) => small(i + 1))];
    const reader = new CaptureFileReader(writePcap(path.join(dir, 'large-record.pcap'), written, LinkType.RAW));
    const wrong: number[] = [];
    let count = 0;
    let largest = 0;
    for (let p = reader.next(); p !== null; p = reader.next(), count++) {
      const expected = written[count];
      if (expected === undefined || !p.buf.subarray(p.offset, p.offset + p.caplen).equals(expected.frame) || Math.abs(p.ts - expected.ts) > 1e-6) wrong.push(count);
      largest = Math.max(largest, p.buf.length);
      if (count === 8001) expect(p.buf.length).toBe(CHUNK_BYTES);
    }
    reader.close();
    expect(count).toBe(written.length);
    expect(wrong).toEqual([]);
    expect(largest).toBeGreaterThanOrEqual(3 * 1024 * 1024);
  });

  it('stops at a truncated last record and says so', () => {
    const file = writePcap(path.join(dir, 'cut.pcap'), frames());
    const whole = fs.readFileSync(file);
    fs.writeFileSync(file, whole.subarray(0, whole.length - 10));
    const reader = new CaptureFileReader(file);
    let n = 0;
    while (reader.next() !== null) n++;
    expect(n).toBe(expected.length - 1);
    expect(reader.truncated).toBe(true);
  });

  it('reads a file larger than its chunk buffer', () => {
    const many = [];
    const conv = new Conversation().handshake();
    for (let i = 0; i < 3000; i++) many.push(...conv.send('client', 'x'.repeat(1400)));
    const packets = readAll(writePcap(path.join(dir, 'big.pcap'), conv.frames));
    expect(packets).toHaveLength(conv.frames.length);
    expect(packets.every((p) => p.first === 0)).toBe(true);
  });

  it('read into buffers it is given, never overwrites a frame it handed out (another thread may read it)', () => {
    const conv = new Conversation().handshake();
    for (let i = 0; i < 4000; i++) conv.send(i % 2 === 0 ? 'client' : 'server', String.fromCharCode(65 + (i % 26)).repeat(1000 + (i % 400)));
    const file = writePcap(path.join(dir, 'given.pcap'), conv.frames);
    const given: Buffer[] = [];
    const reader = new CaptureFileReader(file, undefined, (minBytes) => {
      given.push(Buffer.alloc(minBytes));
      return given[given.length - 1];
    });
    const seen: Array<{ buf: Buffer; offset: number; caplen: number }> = [];
    for (let frame = reader.next(); frame !== null; frame = reader.next()) seen.push({ buf: frame.buf, offset: frame.offset, caplen: frame.caplen });
    reader.close();
    expect(reader.truncated).toBe(false);
    // The file (~5 MB) went through several buffers, and every frame is still where it was handed out.
    expect(given.length).toBeGreaterThan(2);
    expect(seen.map((f) => f.buf.subarray(f.offset, f.offset + f.caplen).toString('hex'))).toEqual(conv.frames.map((f) => f.frame.toString('hex')));
  });

  it('rejects what is not a capture, with a message naming the file', () => {
    const file = path.join(dir, 'text.pcap');
    fs.writeFileSync(file, 'hello, this is not a capture');
    expect(() => new CaptureFileReader(file)).toThrow(WiretopError);
    expect(() => new CaptureFileReader(file)).toThrow(/text\.pcap: unknown file format/);
    fs.writeFileSync(file, '');
    expect(() => new CaptureFileReader(file)).toThrow(/empty file/);
    expect(() => new CaptureFileReader(dir)).toThrow(/is a directory/);
  });
});
