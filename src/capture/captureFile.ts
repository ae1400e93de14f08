/**
 * A streaming reader of pcap and pcapng files. It reads the file in chunks and hands out
 * one packet at a time as a view into its chunk buffer, so a multi-gigabyte capture is read in
 * bounded memory, at full speed, and can be paused (for paced replay) or stopped between any
 * two packets, which libpcap's synchronous offline dispatch cannot do.
 */
import * as fs from 'fs';
import { WiretopError } from '../errors';
import type { Frame } from './packetSource';
import { BUFFER_BYTES } from './shardChannel';

/**
 * The reader's own buffer. Reading a file into a reused 2 MiB buffer took the kernel ~3.5 times
 * as long here (~180 ms against ~50 ms for 448 MB), and the frames are parsed while the chunk
 * is still in the core's cache. A larger record grows it for a while. A `bufferSource` (a
 * sharded capture's pool, see shardChannel) hands out buffers of BUFFER_BYTES.
 */
export const CHUNK_BYTES = 124 * 1024;
/** With buffers supplied (see the constructor), a read into less room than this moves on to a fresh buffer. */
const MIN_READ_BYTES = 64 * 1024;
/** A record larger than this is taken as a corrupt file, not a reason to allocate more. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;
const PCAPNG_IDB = 1;
const PCAPNG_OPB = 2;
const PCAPNG_SPB = 3;
const PCAPNG_EPB = 6;

interface PcapngInterface {
  linkType: number;
  snapLength: number;
  /** Timestamp units per second. */
  unitsPerSecond: number;
  offsetSeconds: number;
}

/** Reads packets from a pcap or pcapng file, or from standard input when the path is `-`. */
export class CaptureFileReader {
  private buf: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private start = 0;
  private end = 0;
  private eof = false;
  private readonly fd: number;
  /** null until the header has been read (and for good when a stop came first). */
  private format: 'pcap' | 'pcapng' | null = null;
  private littleEndian = true;
  private pcapLinkType = 0;
  private pcapUnitsPerSecond = 1e6;
  private interfaces: PcapngInterface[] = [];
  /** The packet handed out; `buf[offset, offset + caplen)` is valid until the next call to next(). */
  private readonly view: Frame = { buf: this.buf, offset: 0, caplen: 0, wireLength: 0, ts: 0, linkType: 0 };
  /** The file ended inside a record. */
  truncated = false;

  /**
   * `stopSignal`: set to 1 by the main thread to stop; a wait for a stalled pipe ends on it (as
   * the end of the input). `bufferSource`, when given, supplies the buffers the file is read into, and the reader never
   * overwrites bytes it has handed out: another thread may still read those frames (a sharded
   * capture's reader, see shardChannel). A record left over at a buffer's end moves to a new one.
   */
  constructor(
    private readonly path: string,
    private readonly stopSignal: Int32Array = new Int32Array(new SharedArrayBuffer(4)),
    private readonly bufferSource?: (minBytes: number) => Buffer,
  ) {
    if (bufferSource !== undefined) {
      this.buf = bufferSource(BUFFER_BYTES);
      this.view.buf = this.buf;
    }
    try {
      this.fd = openForReading(path);
    } catch (error) {
      throw new WiretopError('file', `${path}: ${describeFsError(error)}`);
    }
    this.readHeader();
  }

  /** The link type of the first interface (pcap: the file's). */
  get linkType(): number {
    return this.format === 'pcap' ? this.pcapLinkType : (this.interfaces[0]?.linkType ?? -1);
  }

  close(): void {
    if (this.fd !== 0) fs.closeSync(this.fd);
  }

  /** The main thread asked the capture to stop. */
  private get stopRequested(): boolean {
    return isSet(this.stopSignal);
  }

  /** The next packet, or null at the end of the file. */
  next(): Frame | null {
    if (this.format === null) return null; // stopped before the file's header came
    return this.format === 'pcap' ? this.nextPcap() : this.nextPcapng();
  }

  /** Makes at least `n` bytes available from `this.start`; false at the end of the file. */
  private fill(n: number): boolean {
    if (this.end - this.start >= n) return true;
    if (n > MAX_RECORD_BYTES) throw new WiretopError('file', `${this.path}: corrupt capture (a record of ${n} bytes)`);
    if (this.bufferSource !== undefined) {
      if (this.buf.length - this.end < Math.max(MIN_READ_BYTES, n - (this.end - this.start))) this.moveToFreshBuffer(n);
    } else if (this.start > 0) {
      // What is left is less than `n` here (fill returned early otherwise), so it fits a chunk.
      if (this.buf.length > CHUNK_BYTES && n <= CHUNK_BYTES) {
        // A record larger than a chunk grew the buffer (up to twice MAX_RECORD_BYTES): once it is
        // read, back to a chunk. Kept, it would hold that memory for the rest of the file, and a
        // line-end search with no end bound from a head cut at a packet's end could run through it.
        const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
        this.buf.copy(chunk, 0, this.start, this.end);
        this.buf = chunk;
        this.view.buf = chunk;
      } else {
        this.buf.copy(this.buf, 0, this.start, this.end);
      }
      this.end -= this.start;
      this.start = 0;
    }
    if (n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.end);
      this.buf = grown;
      this.view.buf = grown;
    }
    while (this.end - this.start < n && !this.eof) {
      let got: number;
      try {
        got = readSome(this.fd, this.buf, this.end, this.buf.length - this.end, this.stopSignal);
      } catch (error) {
        throw new WiretopError('file', `${this.path}: ${describeFsError(error)}`);
      }
      if (got === 0) this.eof = true;
      this.end += got;
    }
    return this.end - this.start >= n;
  }

  /** Moves what is left of the current buffer to the start of a fresh one from `bufferSource`. */
  private moveToFreshBuffer(n: number): void {
    const fresh = this.bufferSource!(Math.max(n, BUFFER_BYTES));
    this.buf.copy(fresh, 0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
    this.buf = fresh;
    this.view.buf = fresh;
  }

  /** A 32-bit field in the file's byte order, read from the bytes (Buffer#readUInt32* checks its arguments each call). */
  private u32(at: number): number {
    const buf = this.buf;
    return this.littleEndian
      ? (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0
      : ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
  }

  private u16(at: number): number {
    return this.littleEndian ? this.buf.readUInt16LE(at) : this.buf.readUInt16BE(at);
  }

  private readHeader(): void {
    if (!this.fill(4)) {
      // Stopped while waiting for a pipe's first bytes: an empty input, not a bad one.
      if (this.stopRequested) return;
      throw new WiretopError('file', `${this.path}: empty file, not a pcap or pcapng capture`);
    }
    const magicLE = this.buf.readUInt32LE(this.start);
    const magicBE = this.buf.readUInt32BE(this.start);
    if (magicLE === PCAPNG_SHB) {
      this.format = 'pcapng';
      return;
    }
    if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) this.littleEndian = true;
    else if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) this.littleEndian = false;
    else throw new WiretopError('file', `${this.path}: unknown file format (not a pcap or pcapng capture)`);
    if (!this.fill(24)) {
      if (this.stopRequested) return;
      throw new WiretopError('file', `${this.path}: truncated pcap header`);
    }
    this.pcapUnitsPerSecond = this.u32(this.start) === PCAP_MAGIC_NS ? 1e9 : 1e6;
    // The upper bits of the link-type field may carry FCS flags.
    this.pcapLinkType = this.u32(this.start + 20) & 0xffff;
    this.format = 'pcap';
    this.consume(24);
  }

  private consume(n: number): void {
    this.start += n;
  }

  private nextPcap(): Frame | null {
    if (this.end - this.start < 16 && !this.fill(16)) return this.atEnd();
    const caplen = this.u32(this.start + 8);
    if (this.end - this.start < 16 + caplen && !this.fill(16 + caplen)) return this.atEnd();
    const at = this.start;
    const view = this.view;
    view.ts = this.u32(at) + this.u32(at + 4) / this.pcapUnitsPerSecond;
    view.offset = at + 16;
    view.caplen = caplen;
    view.wireLength = Math.max(caplen, this.u32(at + 12));
    view.linkType = this.pcapLinkType;
    this.consume(16 + caplen);
    return view;
  }

  private atEnd(): null {
    if (this.end > this.start) this.truncated = true;
    return null;
  }

  private nextPcapng(): Frame | null {
    for (;;) {
      if (!this.fill(12)) return this.atEnd();
      let type = this.buf.readUInt32LE(this.start);
      if (type === PCAPNG_SHB) {
        this.readSectionHeader();
        continue;
      }
      type = this.u32(this.start);
      const length = this.u32(this.start + 4);
      if (length < 12 || length % 4 !== 0) throw new WiretopError('file', `${this.path}: corrupt pcapng block`);
      if (!this.fill(length)) return this.atEnd();
      const at = this.start;
      this.consume(length);
      switch (type) {
        case PCAPNG_IDB:
          this.readInterface(at, length);
          break;
        case PCAPNG_EPB:
        case PCAPNG_OPB: {
          // Enhanced and obsolete packet blocks share their layout but for the interface id's width.
          if (length < 32) break;
          const iface = this.interfaces[type === PCAPNG_EPB ? this.u32(at + 8) : this.u16(at + 8)];
          if (iface === undefined) break;
          const caplen = Math.min(this.u32(at + 20), length - 32);
          return this.packet(iface, this.u32(at + 12), this.u32(at + 16), at + 28, caplen, this.u32(at + 24));
        }
        case PCAPNG_SPB: {
          const iface = this.interfaces[0];
          if (iface === undefined || length < 16) break;
          let caplen = Math.min(this.u32(at + 8), length - 16);
          if (iface.snapLength > 0) caplen = Math.min(caplen, iface.snapLength);
          // A simple packet carries no timestamp: it stands at the time of the last one.
          const previousTs = this.view.ts;
          const view = this.packet(iface, 0, 0, at + 12, caplen, this.u32(at + 8));
          view.ts = previousTs;
          return view;
        }
        default:
          break; // statistics, name resolution, custom blocks: not needed
      }
    }
  }

  private packet(iface: PcapngInterface, high: number, low: number, offset: number, caplen: number, wireLength: number): Frame {
    const view = this.view;
    const units = high * 4294967296 + low;
    const whole = Math.floor(units / iface.unitsPerSecond);
    view.ts = whole + (units - whole * iface.unitsPerSecond) / iface.unitsPerSecond + iface.offsetSeconds;
    view.offset = offset;
    view.caplen = caplen;
    view.wireLength = Math.max(caplen, wireLength);
    view.linkType = iface.linkType;
    return view;
  }

  private readSectionHeader(): void {
    if (!this.fill(12)) return;
    const order = this.buf.readUInt32LE(this.start + 8);
    if (order === PCAPNG_BYTE_ORDER) this.littleEndian = true;
    else if (this.buf.readUInt32BE(this.start + 8) === PCAPNG_BYTE_ORDER) this.littleEndian = false;
    else throw new WiretopError('file', `${this.path}: corrupt pcapng section header`);
    const length = this.u32(this.start + 4);
    if (length < 28 || length % 4 !== 0 || !this.fill(length)) throw new WiretopError('file', `${this.path}: corrupt pcapng section header`);
    this.interfaces = [];
    this.consume(length);
  }

  private readInterface(at: number, length: number): void {
    const iface: PcapngInterface = {
      linkType: this.u16(at + 8),
      snapLength: this.u32(at + 12),
      unitsPerSecond: 1e6,
      offsetSeconds: 0,
    };
    let option = at + 16;
    const stop = at + length - 4;
    while (option + 4 <= stop) {
      const code = this.u16(option);
      const size = this.u16(option + 2);
      if (code === 0) break;
      if (code === 9 && size >= 1) {
        const resolution = this.buf[option + 4];
        iface.unitsPerSecond = (resolution & 0x80) !== 0 ? 2 ** (resolution & 0x7f) : 10 ** resolution;
      } else if (code === 14 && size >= 8) {
        iface.offsetSeconds = this.u32(option + 4 + (this.littleEndian ? 4 : 0)) * 4294967296 + this.u32(option + 4 + (this.littleEndian ? 0 : 4));
      }
      option += 4 + Math.ceil(size / 4) * 4;
    }
    this.interfaces.push(iface);
  }
}

/**
 * Opens a capture for reading. A pipe (a FIFO, or standard input) is opened anew non-blocking
 * once its writer is there: a read that would block then returns at once, so a stalled writer
 * cannot hold the capture thread in the kernel where no stop reaches it.
 */
function openForReading(path: string): number {
  const fd = path === '-' ? 0 : fs.openSync(path, 'r');
  try {
    if (!fs.fstatSync(fd).isFIFO()) return fd;
    // /dev/stdin reopens standard input's pipe as a new open file: its flags are its own.
    const again = fs.openSync(path === '-' ? '/dev/stdin' : path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (fd !== 0) fs.closeSync(fd);
    return again;
  } catch {
    return fd;
  }
}

/** Has the main thread set the stop signal? */
function isSet(stopSignal: Int32Array): boolean {
  return Atomics.load(stopSignal, 0) !== 0;
}

/**
 * fs.readSync that waits out EAGAIN on a non-blocking pipe, a few milliseconds at a time;
 * a stop (`stopSignal` set to 1) ends the wait as the end of the input.
 */
function readSome(fd: number, buf: Buffer, offset: number, length: number, stopSignal: Int32Array): number {
  for (;;) {
    try {
      return fs.readSync(fd, buf, offset, length, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        if (isSet(stopSignal)) return 0;
        Atomics.wait(stopSignal, 0, 0, 5);
        continue;
      }
      if (code === 'EOF') return 0;
      throw error;
    }
  }
}

/** The one-line reason of a failed open. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': return 'No such file or directory';
    case 'EACCES': return 'Permission denied';
    case 'EISDIR': return 'is a directory, not a capture file';
    default: return (error as Error).message;
  }
}
