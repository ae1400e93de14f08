/**
 * Which capture worker a frame belongs to: its connection's hash, the same for both directions
 * (connectionHash, unkeyed: the flow table keys its own), so that each worker sees whole connections — the file
 * reader's counterpart of the kernel's PACKET_FANOUT_HASH on a live capture. Frames that are not
 * TCP, fragments and frames that do not decode go to worker 0, which counts them.
 */
import { DecodeResult, DecodedSegment, decodeFrame } from './decode';
import { connectionHash } from './flowTable';

/** Sorts frames to workers by connection. */
export class FlowSharder {
  private readonly segment = new DecodedSegment();

  constructor(readonly workers: number) {}

  /** The worker (0 ≤ n < workers) for the frame `buf[offset, offset + caplen)`. */
  shardOf(buf: Buffer, offset: number, caplen: number, wireLength: number, linkType: number): number {
    if (this.workers === 1) return 0;
    const seg = this.segment;
    if (decodeFrame(buf, offset, caplen, wireLength, linkType, seg) !== DecodeResult.Tcp) return 0;
    return connectionHash(seg) % this.workers;
  }
}
