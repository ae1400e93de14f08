/** Frames from a live interface through libpcap, in batches, as fast as they come. */
import type { CaptureStats } from '../../types';
import { LibpcapSession, type LiveOptions } from '../libpcap';
import type { FrameSink, PacketSource } from '../packetSource';

/** A live capture. */
export class LiveSource implements PacketSource {
  readonly live = true;
  readonly linkType: number;
  private readonly session: LibpcapSession;

  constructor(readonly name: string, filter: string, options: LiveOptions) {
    this.session = LibpcapSession.openLive(name, filter, options);
    this.linkType = this.session.linkType;
  }

  read(sink: FrameSink): number {
    return this.session.drainInto(sink);
  }

  wait(maxMs: number): Promise<void> {
    return this.session.whenReadable(maxMs);
  }

  updateHealth(stats: CaptureStats): void {
    const drops = this.session.drops();
    if (drops === null) return;
    stats.kernelDrops = drops.kernelDrops;
    stats.ifDrops = drops.ifDrops;
  }

  close(): void {
    this.session.close();
  }
}
