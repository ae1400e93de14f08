/** Frames from a live interface through libpcap, in batches, as fast as they come. */
import * as fs from 'fs';
import * as os from 'os';
import type { CaptureStats } from '../../types';
import { LibpcapSession, type LiveOptions } from '../libpcap';
import type { FrameSink, PacketSource } from '../packetSource';

/** A live capture. */
export class LiveSource implements PacketSource {
  readonly live = true;
  readonly linkType: number;
  private readonly session: LibpcapSession;
  private readonly restorePriority: () => void;

  /** `nice`: the priority to give the thread that reads the capture (see raisePriority). */
  constructor(readonly name: string, filter: string, options: LiveOptions & { nice: number }) {
    this.session = LibpcapSession.openLive(name, filter, options);
    this.linkType = this.session.linkType;
    this.restorePriority = raisePriority(options.nice);
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
    this.restorePriority();
  }
}

const AUTOGROUP = '/proc/self/autogroup';

/**
 * Gives the capture the scheduling priority `nice` asks for, where the system allows it (root
 * or CAP_SYS_NICE): its work per packet is small, but when it waits behind busy server threads
 * for longer than the kernel buffer lasts, the kernel drops packets. Two settings count on
 * Linux: the calling thread's nice value (a nice value belongs to a thread, so wiretop's
 * statistics and display keep theirs), and, where the kernel shares the CPU between sessions
 * first (autogroup: wiretop started from a terminal competes as one group with the server's),
 * the session group's. Returns what puts the group's value back.
 */
function raisePriority(nice: number): () => void {
  if (nice === 0) return () => undefined;
  try {
    os.setPriority(nice);
  } catch {
    // Not allowed: capture at the normal priority.
  }
  let previous: string | null = null;
  try {
    previous = /nice (-?\d+)/.exec(fs.readFileSync(AUTOGROUP, 'utf8'))?.[1] ?? null;
    if (previous !== null && Number(previous) > nice) fs.writeFileSync(AUTOGROUP, String(nice));
    else previous = null;
  } catch {
    previous = null; // no autogroup here, or not allowed
  }
  return () => {
    if (previous === null) return;
    try {
      fs.writeFileSync(AUTOGROUP, previous);
    } catch {
      // The session keeps the raised value; nothing else depends on it.
    }
  };
}
