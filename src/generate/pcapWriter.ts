/** Writes classic pcap files (microsecond timestamps), buffered. */
import * as fs from 'fs';
import { LinkType } from '../capture/decode';

/** A pcap file being written. */
export class PcapWriter {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  private used = 0;

  constructor(path: string, linkType: number = LinkType.ETHERNET) {
    this.fd = fs.openSync(path, 'w');
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(65535, 16);
    header.writeUInt32LE(linkType, 20);
    this.append(header);
  }

  /** Appends one frame captured at `ts` (epoch seconds). */
  write(ts: number, frame: Buffer): void {
    if (this.used + 16 + frame.length > this.buf.length) this.flush();
    const at = this.used;
    let seconds = Math.floor(ts);
    let micros = Math.round((ts - seconds) * 1e6);
    if (micros >= 1e6) { seconds++; micros -= 1e6; }
    this.buf.writeUInt32LE(seconds, at);
    this.buf.writeUInt32LE(micros, at + 4);
    this.buf.writeUInt32LE(frame.length, at + 8);
    this.buf.writeUInt32LE(frame.length, at + 12);
    this.used += 16;
    this.append(frame);
  }

  private append(bytes: Buffer): void {
    if (this.used + bytes.length > this.buf.length) this.flush();
    if (bytes.length > this.buf.length) {
      fs.writeSync(this.fd, bytes);
      return;
    }
    bytes.copy(this.buf, this.used);
    this.used += bytes.length;
  }

  private flush(): void {
    if (this.used > 0) fs.writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}
