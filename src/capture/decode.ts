/**
 * A lean frame decoder: link layer → IPv4/IPv6 → TCP, reading only the header fields the
 * reassembly needs. It writes into one reusable DecodedSegment instead of allocating objects per
 * frame (node_pcap's object decoder halves the packet rate), and never throws on hostile input.
 */

/** Link-layer header types (LINKTYPE_* values as found in pcap and pcapng files). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW_BSD: 12,
  RAW_OPENBSD: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** What a frame turned out to be. */
export const enum DecodeResult {
  Tcp = 0,
  /** Not TCP over IP (ARP, UDP, ICMP, LLDP...): skipped, not an error. */
  NotTcp = 1,
  /** An IP fragment: counted and skipped. */
  Fragment = 2,
  /** Truncated or malformed headers, or an unknown link type. */
  Error = 3,
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

/** The decoded TCP segment; its payload is a view into the frame buffer (copy what you keep). */
export class DecodedSegment {
  ipVersion = 4;
  /** IPv4 addresses as unsigned 32-bit numbers (IPv6 leaves them 0). */
  src4 = 0;
  dst4 = 0;
  /** IPv6 addresses in text form (IPv4 leaves them ''). */
  src6 = '';
  dst6 = '';
  sport = 0;
  dport = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  payloadOffset = 0;
  /** Payload bytes captured. */
  payloadLength = 0;
  /** Payload bytes on the wire after the captured ones, cut off by the snapshot length. */
  payloadUncaptured = 0;
  /** The snapshot length cut this frame: IP lengths beyond what was captured are then real. */
  frameCut = false;
}

/**
 * Big-endian reads straight from the bytes: Buffer#readUInt16BE and friends check their
 * arguments on every call, and the decoder reads a dozen fields per frame (callers have
 * already checked the bounds).
 */
function u16(buf: Buffer, at: number): number {
  return (buf[at] << 8) | buf[at + 1];
}

function u32(buf: Buffer, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
const IPPROTO_TCP = 6;
const MAX_VLAN_TAGS = 4;

/**
 * Decodes the frame at `frame[start, start + caplen)` of the given link type into `out`; it was
 * `wireLength` bytes long on the wire. Returns DecodeResult.Tcp when `out` holds a TCP segment;
 * offsets in `out` index `frame`.
 */
export function decodeFrame(frame: Buffer, start: number, caplen: number, wireLength: number, linkType: number, out: DecodedSegment): DecodeResult {
  const end = Math.min(start + caplen, frame.length);
  out.frameCut = wireLength > caplen;
  switch (linkType) {
    case LinkType.ETHERNET:
      return decodeEthernet(frame, start, end, out);
    case LinkType.LINUX_SLL:
      if (start + 16 > end) return DecodeResult.Error;
      return decodeEtherType(frame, end, u16(frame, start + 14), start + 16, out);
    case LinkType.LINUX_SLL2:
      if (start + 20 > end) return DecodeResult.Error;
      return decodeEtherType(frame, end, u16(frame, start), start + 20, out);
    case LinkType.NULL:
    case LinkType.LOOP:
      return decodeLoopback(frame, start, end, out);
    case LinkType.RAW:
    case LinkType.RAW_BSD:
    case LinkType.RAW_OPENBSD:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return decodeIp(frame, end, start, out);
    default:
      return DecodeResult.Error;
  }
}

function decodeEthernet(frame: Buffer, start: number, len: number, out: DecodedSegment): DecodeResult {
  if (start + 14 > len) return DecodeResult.Error;
  let etherType = u16(frame, start + 12);
  let offset = start + 14;
  for (let tags = 0; etherType === ETHERTYPE_VLAN || etherType === ETHERTYPE_QINQ || etherType === ETHERTYPE_QINQ_OLD; tags++) {
    if (tags === MAX_VLAN_TAGS || offset + 4 > len) return DecodeResult.Error;
    etherType = u16(frame, offset + 2);
    offset += 4;
  }
  return decodeEtherType(frame, len, etherType, offset, out);
}

function decodeEtherType(frame: Buffer, len: number, etherType: number, offset: number, out: DecodedSegment): DecodeResult {
  if (etherType === ETHERTYPE_IPV4) return decodeIpv4(frame, len, offset, out);
  if (etherType === ETHERTYPE_IPV6) return decodeIpv6(frame, len, offset, out);
  return DecodeResult.NotTcp;
}

function decodeLoopback(frame: Buffer, start: number, len: number, out: DecodedSegment): DecodeResult {
  if (start + 4 > len) return DecodeResult.Error;
  // The address family is in the capturing host's byte order (NULL) or big-endian (LOOP):
  // the value sits in either the first or the last byte.
  const family = frame[start] !== 0 ? frame[start] : frame[start + 3];
  if (family === 2) return decodeIpv4(frame, len, start + 4, out);
  if (family === 24 || family === 28 || family === 30 || family === 10) return decodeIpv6(frame, len, start + 4, out);
  return DecodeResult.NotTcp;
}

function decodeIp(frame: Buffer, len: number, offset: number, out: DecodedSegment): DecodeResult {
  if (offset >= len) return DecodeResult.Error;
  const version = frame[offset] >> 4;
  if (version === 4) return decodeIpv4(frame, len, offset, out);
  if (version === 6) return decodeIpv6(frame, len, offset, out);
  return DecodeResult.Error;
}

function decodeIpv4(frame: Buffer, len: number, offset: number, out: DecodedSegment): DecodeResult {
  if (offset + 20 > len) return DecodeResult.Error;
  const versionIhl = frame[offset];
  const headerLength = (versionIhl & 0x0f) * 4;
  if (versionIhl >> 4 !== 4 || headerLength < 20 || offset + headerLength > len) return DecodeResult.Error;
  const fragment = u16(frame, offset + 6);
  // More-fragments set, or a non-zero offset: a piece of a larger datagram.
  if ((fragment & 0x3fff) !== 0) return DecodeResult.Fragment;
  if (frame[offset + 9] !== IPPROTO_TCP) return DecodeResult.NotTcp;
  // A total length of 0 (TSO/GSO offload captures) or larger than what was captured: trust the
  // captured bytes; the rest is on the wire only if the snapshot length cut the frame. A smaller
  // one means Ethernet padding follows: cut it off.
  const totalLength = u16(frame, offset + 2);
  const end = totalLength >= headerLength && offset + totalLength <= len ? offset + totalLength : len;
  out.payloadUncaptured = out.frameCut && totalLength >= headerLength && offset + totalLength > len ? offset + totalLength - len : 0;
  out.ipVersion = 4;
  out.src4 = u32(frame, offset + 12);
  out.dst4 = u32(frame, offset + 16);
  out.src6 = '';
  out.dst6 = '';
  return decodeTcp(frame, offset + headerLength, end, out);
}

const IPV6_HOP_BY_HOP = 0;
const IPV6_ROUTING = 43;
const IPV6_FRAGMENT = 44;
const IPV6_ESP = 50;
const IPV6_AH = 51;
const IPV6_NO_NEXT = 59;
const IPV6_DEST_OPTS = 60;
const IPV6_MOBILITY = 135;
const IPV6_HIP = 139;
const IPV6_SHIM6 = 140;
const MAX_IPV6_EXTENSIONS = 8;

function decodeIpv6(frame: Buffer, len: number, offset: number, out: DecodedSegment): DecodeResult {
  if (offset + 40 > len) return DecodeResult.Error;
  if (frame[offset] >> 4 !== 6) return DecodeResult.Error;
  const payloadLength = u16(frame, offset + 4);
  // Payload length 0 is a jumbogram or offload capture: use what was captured.
  const end = payloadLength !== 0 && offset + 40 + payloadLength <= len ? offset + 40 + payloadLength : len;
  out.payloadUncaptured = out.frameCut && payloadLength !== 0 && offset + 40 + payloadLength > len ? offset + 40 + payloadLength - len : 0;
  let next = frame[offset + 6];
  let cursor = offset + 40;
  for (let hops = 0; next !== IPPROTO_TCP; hops++) {
    if (hops === MAX_IPV6_EXTENSIONS || cursor + 8 > end) return DecodeResult.Error;
    switch (next) {
      case IPV6_HOP_BY_HOP:
      case IPV6_ROUTING:
      case IPV6_DEST_OPTS:
      case IPV6_MOBILITY:
      case IPV6_HIP:
      case IPV6_SHIM6:
        next = frame[cursor];
        cursor += (frame[cursor + 1] + 1) * 8;
        break;
      case IPV6_FRAGMENT: {
        const offsetAndFlags = u16(frame, cursor + 2);
        // An "atomic" fragment (offset 0, no more fragments) carries a whole datagram.
        if (offsetAndFlags !== 0) return DecodeResult.Fragment;
        next = frame[cursor];
        cursor += 8;
        break;
      }
      case IPV6_AH:
        next = frame[cursor];
        cursor += (frame[cursor + 1] + 2) * 4;
        break;
      case IPV6_ESP:
      case IPV6_NO_NEXT:
      default:
        return DecodeResult.NotTcp;
    }
  }
  if (cursor > end) return DecodeResult.Error;
  out.ipVersion = 6;
  out.src4 = 0;
  out.dst4 = 0;
  out.src6 = formatIpv6(frame, offset + 8);
  out.dst6 = formatIpv6(frame, offset + 24);
  return decodeTcp(frame, cursor, end, out);
}

function decodeTcp(frame: Buffer, offset: number, end: number, out: DecodedSegment): DecodeResult {
  if (offset + 20 > end) return DecodeResult.Error;
  const headerLength = (frame[offset + 12] >> 4) * 4;
  if (headerLength < 20 || offset + headerLength > end) return DecodeResult.Error;
  out.sport = u16(frame, offset);
  out.dport = u16(frame, offset + 2);
  out.seq = u32(frame, offset + 4);
  out.ack = u32(frame, offset + 8);
  out.flags = frame[offset + 13];
  out.payloadOffset = offset + headerLength;
  out.payloadLength = end - out.payloadOffset;
  return DecodeResult.Tcp;
}

/** Dotted-quad text of an IPv4 address held as an unsigned 32-bit number. */
export function formatIpv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

/** RFC 5952 text of the 16-byte IPv6 address at `offset` (longest zero run compressed). */
export function formatIpv6(buf: Buffer, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(u16(buf, offset + i * 2));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}
