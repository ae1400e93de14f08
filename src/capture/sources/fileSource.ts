/**
 * Frames from a capture file: read by wiretop's own streaming reader, or by libpcap when a BPF
 * filter applies (libpcap's filter engine). Both can be paced (`--speed`) and stopped between
 * any two frames.
 */
import type { CaptureStats } from '../../types';
import { CaptureFileReader } from '../captureFile';
import { LibpcapSession } from '../libpcap';
import { PacedSource, type Frame } from '../packetSource';

/** A pcap or pcapng file (or standard input, `-`) read by wiretop. */
export class FileSource extends PacedSource {
  readonly name: string;
  readonly linkType: number;
  private readonly reader: CaptureFileReader;
  private truncationCounted = false;

  /** `bufferSource`: where the file is read into (see CaptureFileReader). */
  constructor(path: string, speed: number, stopSignal?: Int32Array, bufferSource?: (minBytes: number) => Buffer) {
    super(speed);
    this.reader = new CaptureFileReader(path, stopSignal, bufferSource);
    this.name = path === '-' ? 'stdin' : path;
    this.linkType = this.reader.linkType;
  }

  protected next(): Frame | null {
    return this.reader.next();
  }

  override updateHealth(stats: CaptureStats): void {
    // The file ended inside a record: one frame could not be read.
    if (this.reader.truncated && !this.truncationCounted) {
      this.truncationCounted = true;
      stats.decodeErrors++;
    }
  }

  close(): void {
    this.reader.close();
  }
}

/** A capture file read through libpcap, which applies a BPF filter. */
export class FilteredFileSource extends PacedSource {
  readonly linkType: number;
  private readonly session: LibpcapSession;

  constructor(readonly name: string, filter: string, speed: number) {
    super(speed);
    this.session = LibpcapSession.openOffline(name, filter);
    this.linkType = this.session.linkType;
  }

  protected next(): Frame | null {
    return this.session.nextFrame() ?? (this.session.fill() > 0 ? this.session.nextFrame() : null);
  }

  close(): void {
    this.session.close();
  }
}
