/** Frames of the built-in demo traffic (generated, with a spike), paced like a capture. */
import { demoProfile } from './demo/demo';
import { generateTraffic } from './demo/traffic';
import { LinkType } from '../decode';
import { PacedSource, type Frame } from '../packetSource';

/** The demo: generated traffic that starts now. */
export class DemoSource extends PacedSource {
  readonly name = 'demo';
  readonly linkType = LinkType.ETHERNET;
  private readonly frames: Iterator<{ ts: number; frame: Buffer }>;
  private readonly frame: Frame = { buf: Buffer.alloc(0), offset: 0, caplen: 0, wireLength: 0, ts: 0, linkType: LinkType.ETHERNET };

  constructor(seed: number, speed: number) {
    super(speed);
    this.frames = generateTraffic(demoProfile(Date.now() / 1000, seed))[Symbol.iterator]();
  }

  protected next(): Frame | null {
    const next = this.frames.next();
    if (next.done === true) return null;
    const frame = this.frame;
    frame.buf = next.value.frame;
    frame.caplen = frame.wireLength = next.value.frame.length;
    frame.ts = next.value.ts;
    return frame;
  }

  close(): void {}
}
