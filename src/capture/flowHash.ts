/**
 * Which capture worker a frame belongs to: a hash of its connection that is the same for both
 * directions, so that each worker sees whole connections (the file reader's counterpart of the
 * kernel's PACKET_FANOUT_HASH on a live capture). Frames that are not TCP, fragments and
 * frames that do not decode go to worker 0, which counts them.
 */
import { DecodeResult, DecodedSegment, decodeFrame } from './decode';

/** 32-bit avalanche (murmur3's finaliser): nearby addresses and ports spread over all workers. */
function mix(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a of an IPv6 address's text (IPv6 addresses are decoded as text). */
function textHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The symmetric hash of one end pair: the two ends (address, port) are put in one order
 * before hashing, so a→b and b→a hash alike.
 */
export function endPairHash(addressA: number, portA: number, addressB: number, portB: number): number {
  if (addressA < addressB || (addressA === addressB && portA <= portB)) return mix(mix(addressA ^ mix(addressB)) ^ ((portA << 16) | portB));
  return mix(mix(addressB ^ mix(addressA)) ^ ((portB << 16) | portA));
}

/** Sorts frames to workers by connection. */
export class FlowSharder {
  private readonly segment = new DecodedSegment();

  constructor(readonly workers: number) {}

  /** The worker (0 ≤ n < workers) for the frame `buf[offset, offset + caplen)`. */
  shardOf(buf: Buffer, offset: number, caplen: number, wireLength: number, linkType: number): number {
    if (this.workers === 1) return 0;
    const seg = this.segment;
    if (decodeFrame(buf, offset, caplen, wireLength, linkType, seg) !== DecodeResult.Tcp) return 0;
    const hash = seg.ipVersion === 4
      ? endPairHash(seg.src4, seg.sport, seg.dst4, seg.dport)
      : endPairHash(textHash(seg.src6), seg.sport, textHash(seg.dst6), seg.dport);
    return hash % this.workers;
  }
}
