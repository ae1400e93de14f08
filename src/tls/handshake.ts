/**
 * TLS handshake metadata from the first bytes of each direction of a connection: the
 * ClientHello (server name, ALPN offered, versions offered, legacy version) and the
 * ServerHello (version and cipher suite chosen, ALPN chosen). The handshake message may span
 * several records and segments; the caller feeds bytes as they come and asks when it has them.
 *
 * Hostile input like everything from the wire: bounded (a hello of more than MAX_HELLO bytes is
 * given up), never throws, strings bounded and escaped, GREASE values skipped.
 */
import { escapeControls } from '../http/sanitize';

/** Bytes of handshake data gathered at most for one hello. */
export const MAX_HELLO = 64 * 1024;

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const SERVER_HELLO = 2;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;

/** What a ClientHello says. */
export interface ClientHello {
  serverName: string;
  alpn: string[];
  /** The versions offered (`TLS 1.3`, `TLS 1.2`...), GREASE left out; the legacy version when there is no extension. */
  versions: string[];
}

/** What a ServerHello says. */
export interface ServerHello {
  version: string;
  cipherSuite: number;
  alpn: string;
}

/** Does a stream start like a TLS handshake record (type 22, version 3.x)? Needs 3 bytes. */
export function looksLikeTls(buf: Buffer, offset = 0): boolean {
  return buf.length - offset >= 3 && buf[offset] === HANDSHAKE && buf[offset + 1] === 3 && buf[offset + 2] <= 4;
}

/** The name of a protocol version: 0x0304 → `TLS 1.3`. */
export function versionName(version: number): string {
  switch (version) {
    case 0x0300: return 'SSL 3.0';
    case 0x0301: return 'TLS 1.0';
    case 0x0302: return 'TLS 1.1';
    case 0x0303: return 'TLS 1.2';
    case 0x0304: return 'TLS 1.3';
    default: return `0x${version.toString(16).padStart(4, '0')}`;
  }
}

/** GREASE values (RFC 8701) are sent to keep servers honest: never real choices. */
function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && (value >> 8) === (value & 0xff);
}

/**
 * Gathers the handshake bytes of one direction out of its TLS records, up to the first
 * handshake message. `push` returns the message body once whole, null while more is needed,
 * and `false` once it is clear that none will come (not TLS, too large, malformed).
 */
export class HelloCollector {
  private records = Buffer.alloc(0);
  private handshake = Buffer.alloc(0);
  private failed = false;

  /** Takes the next bytes of the direction. */
  push(bytes: Buffer): { type: number; body: Buffer } | null | false {
    if (this.failed) return false;
    if (this.records.length + bytes.length > MAX_HELLO + 5 * 64) return this.fail();
    this.records = Buffer.concat([this.records, bytes]);
    // Peel whole records off into the handshake buffer.
    while (this.records.length >= 5) {
      if (this.records[0] !== HANDSHAKE || this.records[1] !== 3) return this.fail();
      const length = this.records.readUInt16BE(3);
      if (length === 0 || length > 16384 + 2048) return this.fail();
      if (this.records.length < 5 + length) break;
      this.handshake = Buffer.concat([this.handshake, this.records.subarray(5, 5 + length)]);
      this.records = this.records.subarray(5 + length);
      if (this.handshake.length > MAX_HELLO) return this.fail();
    }
    if (this.handshake.length < 4) return null;
    const type = this.handshake[0];
    const length = this.handshake.readUIntBE(1, 3);
    if (length > MAX_HELLO) return this.fail();
    if (this.handshake.length < 4 + length) return null;
    return { type, body: this.handshake.subarray(4, 4 + length) };
  }

  private fail(): false {
    this.failed = true;
    this.records = Buffer.alloc(0);
    this.handshake = Buffer.alloc(0);
    return false;
  }
}

/** A bounds-checked reader: every read past the end makes it fail, not throw. */
class Reader {
  ok = true;
  constructor(private readonly buf: Buffer, public at = 0, private readonly end = buf.length) {}

  u8(): number {
    if (this.at + 1 > this.end) { this.ok = false; return 0; }
    return this.buf[this.at++];
  }

  u16(): number {
    if (this.at + 2 > this.end) { this.ok = false; return 0; }
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }

  /** A sub-reader over the next `length` bytes (skipped here). */
  slice(length: number): Reader {
    if (this.at + length > this.end) { this.ok = false; return new Reader(this.buf, this.end, this.end); }
    const sub = new Reader(this.buf, this.at, this.at + length);
    this.at += length;
    return sub;
  }

  get left(): number {
    return this.end - this.at;
  }

  text(length: number, max: number): string {
    const sub = this.slice(length);
    if (!this.ok) return '';
    return escapeControls(this.buf.latin1Slice(sub.at, Math.min(sub.at + length, sub.at + max)), max);
  }
}

/** The extensions of a hello: type → its reader. */
function extensions(r: Reader): Map<number, Reader> {
  const found = new Map<number, Reader>();
  if (r.left === 0) return found;
  const all = r.slice(r.u16());
  while (all.ok && all.left >= 4) {
    const type = all.u16();
    const body = all.slice(all.u16());
    if (!found.has(type)) found.set(type, body);
  }
  return found;
}

function alpnList(r: Reader | undefined, maxStr: number): string[] {
  if (r === undefined) return [];
  const list = r.slice(r.u16());
  const names: string[] = [];
  while (list.ok && list.left > 0 && names.length < 32) names.push(list.text(list.u8(), maxStr));
  return names.filter((n) => n !== '');
}

/** Parses a ClientHello body; null when it is not one. */
export function parseClientHello(body: Buffer, maxStr = 256): ClientHello | null {
  const r = new Reader(body);
  const legacy = r.u16();
  r.slice(32); // random
  r.slice(r.u8()); // session id
  r.slice(r.u16()); // cipher suites
  r.slice(r.u8()); // compression methods
  if (!r.ok) return null;
  const ext = extensions(r);
  let serverName = '';
  const sni = ext.get(EXT_SERVER_NAME);
  if (sni !== undefined) {
    const list = sni.slice(sni.u16());
    while (list.ok && list.left >= 3) {
      const type = list.u8();
      const name = list.text(list.u16(), maxStr);
      if (type === 0 && serverName === '') serverName = name.toLowerCase();
    }
  }
  const versions: string[] = [];
  const supported = ext.get(EXT_SUPPORTED_VERSIONS);
  if (supported !== undefined) {
    const list = supported.slice(supported.u8());
    while (list.ok && list.left >= 2) {
      const v = list.u16();
      if (!isGrease(v)) versions.push(versionName(v));
    }
  }
  if (versions.length === 0) versions.push(versionName(legacy));
  return { serverName, alpn: alpnList(ext.get(EXT_ALPN), maxStr).filter((name) => !/^\\x[0-9a-f]{2}\\x[0-9a-f]{2}$/.test(name)), versions };
}

/** Parses a ServerHello body; null when it is not one. */
export function parseServerHello(body: Buffer, maxStr = 256): ServerHello | null {
  const r = new Reader(body);
  const legacy = r.u16();
  r.slice(32);
  r.slice(r.u8());
  const cipherSuite = r.u16();
  r.u8(); // compression
  if (!r.ok) return null;
  const ext = extensions(r);
  const supported = ext.get(EXT_SUPPORTED_VERSIONS);
  const version = supported !== undefined && supported.left >= 2 ? supported.u16() : legacy;
  return { version: versionName(version), cipherSuite, alpn: alpnList(ext.get(EXT_ALPN), maxStr)[0] ?? '' };
}

/** The hello types, for the collector's result. */
export const HELLO = { CLIENT: CLIENT_HELLO, SERVER: SERVER_HELLO } as const;
