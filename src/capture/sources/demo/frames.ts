/**
 * Builds link-layer frames carrying TCP segments, for the traffic generator (demo, benchmark)
 * and the test fixtures. Checksums are left zero: nothing downstream verifies them.
 */
import { LinkType } from '../../decode';

/** An endpoint: IPv4 dotted quad or IPv6 text, and a port. */
/** One generated frame and its capture time. */
export interface TimedFrame {
  ts: number;
  frame: Buffer;
}

export interface Endpoint {
  addr: string;
  port: number;
}

/** How a frame is wrapped below IP. */
export interface FrameOptions {
  linkType?: number;
  /** 802.1Q tags (VLAN ids), outermost first; Ethernet only. */
  vlans?: number[];
  /** IPv4 options bytes (a multiple of 4). */
  ipOptions?: Buffer;
  /** IPv6 extension headers to insert (hop-by-hop, destination options), by next-header number. */
  ipv6Extensions?: number[];
  /** Mark the IPv4 packet as a fragment. */
  fragment?: boolean;
  /** Write 0 as the IPv4 total length (as TSO captures do). */
  zeroIpLength?: boolean;
}

/** A TCP segment to frame. */
export interface SegmentSpec {
  src: Endpoint;
  dst: Endpoint;
  seq: number;
  ack: number;
  flags: number;
  payload?: Buffer;
}

function ipv4Bytes(addr: string): Buffer {
  return Buffer.from(addr.split('.').map((p) => Number(p)));
}

/** 16 bytes of an IPv6 address in text form. */
export function ipv6Bytes(addr: string): Buffer {
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

function tcpHeader(spec: SegmentSpec): Buffer {
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(spec.src.port, 0);
  tcp.writeUInt16BE(spec.dst.port, 2);
  tcp.writeUInt32BE(spec.seq >>> 0, 4);
  tcp.writeUInt32BE(spec.ack >>> 0, 8);
  tcp[12] = 5 << 4;
  tcp[13] = spec.flags;
  tcp.writeUInt16BE(65535, 14);
  return tcp;
}

/** The IP packet (v4 or v6, after the address form) carrying the segment. */
export function ipPacket(spec: SegmentSpec, options: FrameOptions = {}): Buffer {
  const tcp = Buffer.concat([tcpHeader(spec), spec.payload ?? Buffer.alloc(0)]);
  if (spec.src.addr.includes(':')) {
    const extensions = options.ipv6Extensions ?? [];
    const header = Buffer.alloc(40);
    header[0] = 0x60;
    const extBytes = extensions.map((_, i) => {
      const ext = Buffer.alloc(8);
      ext[0] = i + 1 < extensions.length ? extensions[i + 1] : 6;
      return ext;
    });
    header.writeUInt16BE(tcp.length + extBytes.length * 8, 4);
    header[6] = extensions.length > 0 ? extensions[0] : 6;
    header[7] = 64;
    ipv6Bytes(spec.src.addr).copy(header, 8);
    ipv6Bytes(spec.dst.addr).copy(header, 24);
    return Buffer.concat([header, ...extBytes, tcp]);
  }
  const ipOptions = options.ipOptions ?? Buffer.alloc(0);
  const header = Buffer.alloc(20 + ipOptions.length);
  header[0] = 0x40 | ((20 + ipOptions.length) / 4);
  header.writeUInt16BE(options.zeroIpLength ? 0 : header.length + tcp.length, 2);
  if (options.fragment) header.writeUInt16BE(0x2000, 6);
  header[8] = 64;
  header[9] = 6;
  ipv4Bytes(spec.src.addr).copy(header, 12);
  ipv4Bytes(spec.dst.addr).copy(header, 16);
  ipOptions.copy(header, 20);
  return Buffer.concat([header, tcp]);
}

const ZERO_MAC = Buffer.alloc(6);

/** A whole frame of the given link type carrying the segment. */
export function buildFrame(spec: SegmentSpec, options: FrameOptions = {}): Buffer {
  const ip = ipPacket(spec, options);
  const v6 = spec.src.addr.includes(':');
  const etherType = v6 ? 0x86dd : 0x0800;
  switch (options.linkType ?? LinkType.ETHERNET) {
    case LinkType.ETHERNET: {
      const tags = (options.vlans ?? []).map((vlan, i, all) => {
        const tag = Buffer.alloc(4);
        tag.writeUInt16BE(vlan & 0x0fff, 0);
        tag.writeUInt16BE(i + 1 < all.length ? 0x8100 : etherType, 2);
        return tag;
      });
      const type = Buffer.alloc(2);
      type.writeUInt16BE(tags.length > 0 ? (tags.length > 1 ? 0x88a8 : 0x8100) : etherType);
      return Buffer.concat([ZERO_MAC, ZERO_MAC, type, ...tags, ip]);
    }
    case LinkType.LINUX_SLL: {
      const sll = Buffer.alloc(16);
      sll.writeUInt16BE(etherType, 14);
      return Buffer.concat([sll, ip]);
    }
    case LinkType.LINUX_SLL2: {
      const sll2 = Buffer.alloc(20);
      sll2.writeUInt16BE(etherType, 0);
      return Buffer.concat([sll2, ip]);
    }
    case LinkType.NULL: {
      const family = Buffer.alloc(4);
      family.writeUInt32LE(v6 ? 30 : 2);
      return Buffer.concat([family, ip]);
    }
    case LinkType.RAW:
      return ip;
    default:
      throw new Error(`cannot build frames of link type ${options.linkType}`);
  }
}
