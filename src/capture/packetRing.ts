/**
 * A live capture read in place (native/packet_ring.c): wiretop's own AF_PACKET socket and
 * TPACKET_V3 ring, its packets given as offsets into their block of the ring, which JavaScript
 * sees as one Buffer per block. libpcap's reader copies every packet out of the ring, bodies and
 * all (~8% of the capture thread under load); here a block of the ring goes back to the kernel
 * once the pipeline is done with the batch (it keeps nothing of a frame but copies).
 * Ethernet and loopback interfaces only; see liveSession for when libpcap reads instead.
 */
import * as fs from 'fs';
import { systemCalls } from '../platform/systemCalls';
import { LinkType } from './decode';
import { fanoutError, ReadableSignal, type DropCounts, type LiveOptions } from './libpcap';
import type { FrameSink } from './packetSource';

/** The native module's ring calls (see native/packet_ring.c). */
interface RingCalls {
  ringOpen(device: string, filter: string, snapLength: number, bufferBytes: number, timeoutMs: number, promiscuous: boolean,
    onReadable: () => void): { ring: unknown; buffer: ArrayBuffer; blockBytes: number };
  /** Fills `table` (FIELDS per packet) with the packets ready; state[0] is 1 when it took all there were. */
  ringRead(ring: unknown, table: Uint32Array, state: Uint32Array): number;
  /** The last read's frames are done with: their blocks go back to the kernel. */
  ringRelease(ring: unknown): void;
  /** The kernel's drops since the ring was opened. */
  ringDrops(ring: unknown): number;
  ringJoinFanout(ring: unknown, group: number): string;
  ringClose(ring: unknown): void;
}

/** Packets one read may hand over. */
const BATCH_PACKETS = 4096;
/** uint32 fields per packet in the table: offset in the ring, caplen, wire length, s, µs. */
const FIELDS = 5;

/** The native calls, when this build has them. */
function ringCalls(): RingCalls | null {
  const calls = systemCalls() as unknown as Partial<RingCalls> | null;
  return calls !== null && typeof calls.ringOpen === 'function' ? calls as RingCalls : null;
}

/** An open ring. */
export class RingSession {
  readonly linkType = LinkType.ETHERNET;
  /**
   * The ring's blocks, one view each. A frame is handed over in its block's view, not the whole
   * ring's: a search with no end (Buffer.indexOf) from a head cut at the frame's end then stops
   * at the block's end, 256 KB on, and not at the ring's, up to 32 MB of empty blocks on the
   * first lap (~3 ms per such head).
   */
  private readonly blocks: Buffer[] = [];
  private readonly blockShift: number;
  private readonly inBlock: number;
  private readonly table = new Uint32Array(BATCH_PACKETS * FIELDS);
  private readonly state = new Uint32Array(1);
  private closed = false;
  private readonly readable = new ReadableSignal();
  /** Interface drops (promiscuous mode only, as libpcap counts them) when the ring was opened. */
  private readonly ifDropsAtStart: number | null;

  private constructor(private readonly calls: RingCalls, private readonly ring: unknown, buffer: ArrayBuffer, blockBytes: number, private readonly device: string, private readonly promiscuous: boolean) {
    // Blocks are a power of two in size (native/packet_ring.c): a frame's block is its offset shifted.
    this.blockShift = Math.log2(blockBytes);
    this.inBlock = blockBytes - 1;
    // The native reader gives each frame's offset in 32 bits.
    if (!Number.isInteger(this.blockShift) || buffer.byteLength % blockBytes !== 0 || buffer.byteLength > 2 ** 32) {
      throw new Error(`a ring of ${buffer.byteLength} bytes in blocks of ${blockBytes}`);
    }
    for (let at = 0; at < buffer.byteLength; at += blockBytes) this.blocks.push(Buffer.from(buffer, at, blockBytes));
    this.ifDropsAtStart = promiscuous ? interfaceDrops(device) : null;
  }

  /**
   * Opens the ring on `device`, or returns null and libpcap reads instead: no native module, an
   * interface that is not Ethernet or loopback, or anything the ring's setup refused (libpcap
   * then says what is wrong in its own words: no permission, no such device, a bad filter).
   */
  static open(device: string, filter: string, options: LiveOptions): RingSession | null {
    const calls = ringCalls();
    if (calls === null) return null;
    let session: RingSession | null = null;
    try {
      const { ring, buffer, blockBytes } = calls.ringOpen(device, filter, options.snapLength, options.bufferBytes, options.timeoutMs, options.promiscuous,
        () => session?.readable.fire());
      try {
        session = new RingSession(calls, ring, buffer, blockBytes, device, options.promiscuous);
      } catch (error) {
        calls.ringClose(ring);
        throw error;
      }
    } catch {
      return null;
    }
    return session;
  }

  /** See LibpcapSession.joinFanout. */
  joinFanout(group: number): void {
    const reason = this.calls.ringJoinFanout(this.ring, group);
    if (reason !== '') throw fanoutError(reason);
  }

  /**
   * Hands every packet ready now (a bounded batch) to `sink`; returns how many. A frame is
   * valid only during its onFrame: the blocks go back to the kernel when the batch is done, not
   * at the next read, which may come after the capture loop's pause with the ring nearly full.
   */
  drainInto(sink: FrameSink): number {
    if (this.closed) return 0;
    const count = this.calls.ringRead(this.ring, this.table, this.state);
    const { blocks, blockShift, inBlock, table, linkType } = this;
    try {
      for (let i = 0, row = 0; i < count; i++, row += FIELDS) {
        const offset = table[row];
        sink.onFrame(blocks[offset >>> blockShift], offset & inBlock, table[row + 1], table[row + 2], table[row + 3] + table[row + 4] / 1e6, linkType);
      }
    } finally {
      if (count > 0) this.calls.ringRelease(this.ring);
    }
    return count;
  }

  /** The last read took every packet the kernel had ready. */
  get emptiedRing(): boolean {
    return this.state[0] === 1;
  }

  /** Resolves when the socket is readable, or after `maxMs`. */
  whenReadable(maxMs: number): Promise<void> {
    return this.readable.wait(maxMs);
  }

  drops(): DropCounts | null {
    if (this.closed) return null;
    const kernelDrops = this.calls.ringDrops(this.ring);
    const now = this.promiscuous ? interfaceDrops(this.device) : null;
    return { kernelDrops, ifDrops: now !== null && this.ifDropsAtStart !== null ? Math.max(0, now - this.ifDropsAtStart) : 0 };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.readable.fire();
    this.calls.ringClose(this.ring);
  }
}

/** The interface's drops as libpcap counts them in promiscuous mode (missed and FIFO errors); null when unknown. */
function interfaceDrops(device: string): number | null {
  try {
    const read = (name: string) => Number(fs.readFileSync(`/sys/class/net/${device}/statistics/${name}`, 'utf8'));
    const total = read('rx_missed_errors') + read('rx_fifo_errors');
    return Number.isFinite(total) ? total : null;
  } catch {
    return null;
  }
}
