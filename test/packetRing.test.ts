/**
 * wiretop's own live reader (src/capture/packetRing, native/packet_ring.c), as root on the
 * loopback interface: which reader a capture gets, every packet once (loopback shows each
 * twice to a packet socket), the frames in place in the ring (each in its block's view), and when
 * it gives way to libpcap.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { spawnSync } from 'child_process';
import * as dgram from 'dgram';
import { LibpcapSession } from '../src/capture/libpcap';
import { RingSession } from '../src/capture/packetRing';
import { LiveSource, readerFor } from '../src/capture/sources/liveSource';
import type { FrameSink } from '../src/capture/packetSource';
import { repoRoot } from './helpers/corpus';

const ROOT = repoRoot();
const asRoot = process.getuid?.() === 0 && fs.existsSync(path.join(ROOT, 'native/build/Release/wiretop_sys.node')) ? describe : describe.skip;
/** As a live capture opens it: a 32 MB ring whose blocks the kernel hands over when full or 50 ms old. */
const OPTIONS = { bufferBytes: 32 * 1024 * 1024, snapLength: 262144, timeoutMs: 50, promiscuous: false };

describe('which reader a live capture uses', () => {
  it('the ring, unless told not to or the filter names VLANs (libpcap compiles those for tags the kernel took off)', () => {
    expect(readerFor('tcp port 80', true)).toBe('ring');
    expect(readerFor('', true)).toBe('ring');
    expect(readerFor('tcp port 80', false)).toBe('libpcap');
    expect(readerFor('vlan 10 and tcp port 80', true)).toBe('libpcap');
    expect(readerFor('tcp port 80 or (VLAN and tcp)', true)).toBe('libpcap');
  });
});

asRoot('the ring on lo', () => {
  let server: http.Server;
  let port = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => res.end(`${req.url} `.repeat(2000)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function requests(count: number): Promise<void> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < count; i++) {
      await new Promise<void>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: `/ring/${i}`, agent }, (res) => { res.resume(); res.on('end', () => resolve()); }).on('error', reject);
      });
    }
    agent.destroy();
  }

  /** Reads until the ring has nothing more (bounded); returns the request lines seen and the frames. */
  async function drain(session: RingSession): Promise<{ requestLines: string[]; frames: number; emptied: boolean }> {
    const requestLines: string[] = [];
    let frames = 0;
    const sink: FrameSink = {
      onFrame(buf, offset, caplen, wireLength, ts) {
        frames++;
        expect(caplen).toBeLessThanOrEqual(wireLength);
        // In its block's view, not the whole ring's: a search with no end stops at the block's end.
        expect(buf.length).toBe(256 * 1024);
        expect(offset + caplen).toBeLessThanOrEqual(buf.length);
        expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(60);
        const text = buf.toString('latin1', offset, offset + caplen);
        const at = text.indexOf('GET /ring/');
        if (at >= 0) requestLines.push(text.slice(at, text.indexOf('\r\n', at)));
      },
    };
    let emptied = false;
    // The kernel hands a block over when it is full or 50 ms old (timeoutMs above).
    for (let idle = 0; idle < 10; idle++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (let read = session.drainInto(sink); read > 0; read = session.drainInto(sink)) idle = 0;
      emptied = session.emptiedRing;
    }
    return { requestLines, frames, emptied };
  }

  it('hands over every packet once, in place, and says when it took all there were', async () => {
    const session = RingSession.open('lo', `tcp port ${port}`, OPTIONS);
    expect(session).not.toBeNull();
    try {
      await requests(50);
      const { requestLines, frames, emptied } = await drain(session!);
      expect(requestLines).toEqual(Array.from({ length: 50 }, (_, i) => `GET /ring/${i} HTTP/1.1`));
      expect(frames).toBeGreaterThanOrEqual(100);
      expect(emptied).toBe(true);
      expect(session!.drops()).toEqual({ kernelDrops: 0, ifDrops: 0 });
    } finally {
      session!.close();
    }
    expect(session!.drainInto({ onFrame: () => { throw new Error('a closed ring has no frames'); } })).toBe(0);
  });

  it('takes only what its filter passes', async () => {
    const session = RingSession.open('lo', 'tcp port 9', OPTIONS);
    try {
      await requests(5);
      expect((await drain(session!)).frames).toBe(0);
    } finally {
      session!.close();
    }
  });

  /**
   * What a reader hands over, frame by frame: lengths and bytes, and the times apart. Each
   * packet socket reads the clock itself when the packet has no time of its own (loopback):
   * the two readers' times differ by a microsecond or so.
   */
  function collector(): FrameSink & { frames: string[]; times: number[] } {
    return {
      frames: [],
      times: [],
      onFrame(buf, offset, caplen, wireLength, ts) {
        this.frames.push(`${caplen}/${wireLength} ${buf.toString('hex', offset, offset + caplen)}`);
        this.times.push(ts);
      },
    };
  }

  /** Runs `traffic` with both readers open on `device`, then returns what each handed over. */
  async function bothReaders(device: string, filter: string, traffic: () => Promise<void>): Promise<{ ring: string[]; libpcap: string[] }> {
    const ring = RingSession.open(device, filter, OPTIONS)!;
    const libpcap = LibpcapSession.openLive(device, filter, OPTIONS);
    const fromRing = collector();
    const fromLibpcap = collector();
    try {
      await traffic();
      for (let idle = 0; idle < 10; idle++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        while (ring.drainInto(fromRing) > 0) idle = 0;
        while (libpcap.drainInto(fromLibpcap) > 0) idle = 0;
      }
    } finally {
      ring.close();
      libpcap.close();
    }
    expect(fromRing.times.length).toBe(fromLibpcap.times.length);
    fromRing.times.forEach((ts, i) => expect(Math.abs(ts - fromLibpcap.times[i])).toBeLessThan(0.001));
    return { ring: fromRing.frames, libpcap: fromLibpcap.frames };
  }

  it('hands over the same frames as libpcap: bytes, lengths, and times within a millisecond', async () => {
    const { ring, libpcap } = await bothReaders('lo', `tcp port ${port}`, () => requests(30));
    expect(ring.length).toBeGreaterThanOrEqual(60);
    expect(ring).toEqual(libpcap);
  });

  it('puts back the VLAN tag the kernel took off, as libpcap does', async () => {
    // A veth pair of our own (removed at the end): frames sent on one end with an 802.1Q tag
    // arrive on the other with the tag taken off into the packet's metadata (VLAN offload).
    if (spawnSync('ip', ['link', 'add', 'wtr0', 'type', 'veth', 'peer', 'name', 'wtr1']).status !== 0) return;
    try {
      spawnSync('ip', ['link', 'set', 'wtr0', 'up']);
      spawnSync('ip', ['link', 'set', 'wtr1', 'up']);
      // Two frames tagged VLAN 100 and one untagged, of a local experimental EtherType (0x88b5).
      const sender = [
        'import socket, struct',
        's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)',
        "s.bind(('wtr0', 0))",
        "head = b'\\xff' * 6 + b'\\x02\\x00\\x00\\x00\\x00\\x01'",
        'for i, vlan in enumerate((100, 100, 0)):',
        "    tag = struct.pack('!HH', 0x8100, vlan) if vlan else b''",
        "    s.send(head + tag + struct.pack('!HI', 0x88b5, i) + bytes(range(64)))",
      ].join('\n');
      const send = async () => { expect(spawnSync('python3', ['-c', sender]).status).toBe(0); };
      const { ring, libpcap } = await bothReaders('wtr1', 'ether proto 0x88b5', send);
      expect(ring).toHaveLength(3);
      expect(ring).toEqual(libpcap);
      // After the two addresses: the tag put back (0x8100, VLAN 100), then the frame's own EtherType.
      expect(ring.map((frame) => frame.split(' ')[1].slice(24, 36))).toEqual(['8100006488b5', '8100006488b5', '88b500000002']);
    } finally {
      spawnSync('ip', ['link', 'del', 'wtr0']);
    }
  });

  it('gives the blocks of a batch back to the kernel once the batch is done, not at the next read', async () => {
    // 4 MB of ring in 16 blocks of 256 KB (4 datagrams of 60 KB each), mostly filled, read, then half filled again before the next read.
    const session = RingSession.open('lo', 'udp port 9997', { ...OPTIONS, bufferBytes: 4 * 1024 * 1024 })!;
    const socket = dgram.createSocket({ type: 'udp4', sendBufferSize: 8 * 1024 * 1024 });
    const burst = async (count: number) => {
      for (let i = 0; i < count; i++) await new Promise<void>((resolve) => socket.send(Buffer.alloc(60_000, 0x78), 9997, '127.0.0.1', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 100));
    };
    try {
      let frames = 0;
      const sink: FrameSink = { onFrame: () => { frames++; } };
      await burst(44);
      // One read takes them all, as the capture loop's does before it pauses (~6 blocks).
      expect(session.drainInto(sink)).toBe(44);
      await burst(24);
      while (session.drainInto(sink) > 0);
      expect(frames).toBe(68);
      expect(session.drops()?.kernelDrops).toBe(0);
    } finally {
      socket.close();
      session.close();
    }
  });

  it.each(['exit', 'terminate'])('lets a worker thread that holds an open ring end (%s)', async (how) => {
    // A process of its own, where only the worker loads the native module (as a test harness might).
    const script = path.join(fs.mkdtempSync('/tmp/wiretop-ring-'), 'worker.js');
    const module = path.join(ROOT, 'native/build/Release/wiretop_sys.node');
    fs.writeFileSync(script, `
      const { Worker, isMainThread } = require('worker_threads');
      if (isMainThread) {
        const worker = new Worker(__filename);
        if (${JSON.stringify(how)} === 'terminate') setTimeout(() => worker.terminate(), 300);
      } else {
        const calls = require(${JSON.stringify(module)});
        const { ring } = calls.ringOpen('lo', 'tcp port 9', 262144, 4 << 20, 50, false, () => {});
        const table = new Uint32Array(4096 * 5), state = new Uint32Array(1);
        if (${JSON.stringify(how)} === 'exit') setTimeout(() => process.exit(0), 100);
        else setInterval(() => calls.ringRead(ring, table, state), 1);
      }`);
    const child = spawnSync(process.execPath, [script], { timeout: 20_000 });
    expect({ status: child.status, signal: child.signal }).toEqual({ status: 0, signal: null });
  });

  it('leaves no packet socket to the programs wiretop starts, whichever reader opened it', () => {
    const packetSockets = () => new Set(fs.readFileSync('/proc/net/packet', 'utf8').trim().split('\n').slice(1).map((line) => line.trim().split(/\s+/).pop()!));
    const ring = RingSession.open('lo', 'tcp port 9', OPTIONS)!;
    const libpcap = LibpcapSession.openLive('lo', 'tcp port 9', OPTIONS);
    try {
      const ours = packetSockets();
      expect(ours.size).toBeGreaterThanOrEqual(2);
      const inherited = spawnSync('sh', ['-c', 'for fd in /proc/self/fd/*; do readlink "$fd"; done'], { encoding: 'utf8' }).stdout;
      const inodes = [...inherited.matchAll(/socket:\[(\d+)\]/g)].map((match) => match[1]);
      expect(inodes.filter((inode) => ours.has(inode))).toEqual([]);
    } finally {
      ring.close();
      libpcap.close();
    }
  });

  it('gives way to libpcap where it cannot open: no such interface, a filter it cannot compile', () => {
    expect(RingSession.open('no-such-if0', '', OPTIONS)).toBeNull();
    expect(RingSession.open('lo', 'tcp port', OPTIONS)).toBeNull();
  });

  it('is what a live source on lo reads with, and libpcap when zero_copy is off', () => {
    for (const [zeroCopy, reader] of [[true, 'ring'], [false, 'libpcap']] as const) {
      const source = new LiveSource('lo', 'tcp port 9', { ...OPTIONS, nice: 0, zeroCopy });
      try {
        expect(source.reader).toBe(reader);
      } finally {
        source.close();
      }
    }
  });
});
