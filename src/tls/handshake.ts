/**
 * TLS handshake metadata from the first bytes of each direction of a connection: the
 * ClientHello (server name, ALPN offered, versions offered, legacy version) and the
 * ServerHello (version and cipher suite chosen, ALPN chosen); and, once decrypted, what later
 * handshake messages say (the ALPN in EncryptedExtensions, a KeyUpdate). The handshake message
 * may span several records and segments; the caller feeds bytes as they come and asks when it
 * has them.
 *
 * Hostile input like everything from the wire: bounded (a hello of more than MAX_HELLO bytes is
 * given up), never throws, strings bounded and escaped, GREASE values skipped.
 */
import { ByteBudget } from '../protocol/byteBudget';
import { escapeControls } from '../protocol/sanitize';
import { HandshakeAssembler, MAX_HELLO, RecordReader, ownCopy, type RecordHandler } from './records';

export { MAX_HELLO };

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const SERVER_HELLO = 2;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;
const ENCRYPTED_EXTENSIONS = 8;
const KEY_UPDATE = 24;

/** What a ClientHello says. */
export interface ClientHello {
  /** The client's 32 random bytes: the key log names a connection's secrets by them. */
  random: Buffer;
  serverName: string;
  alpn: string[];
  /** The versions offered (`TLS 1.3`, `TLS 1.2`...), GREASE left out; the legacy version when there is no extension. */
  versions: string[];
}

/** What a ServerHello says. */
export interface ServerHello {
  random: Buffer;
  /** The version chosen, as a number (0x0304) and a name (`TLS 1.3`). */
  versionNumber: number;
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
 * Gathers the first handshake message of one direction out of its TLS records (the framing and
 * gathering the capture uses, with a budget of its own). `push` returns the message body once
 * whole, null while more is needed, and `false` once it is clear that none will come (not TLS,
 * too large, malformed).
 */
export class HelloCollector implements RecordHandler {
  private readonly budget = new ByteBudget(4 * MAX_HELLO);
  private readonly records = new RecordReader(this, this.budget);
  private readonly assembler = new HandshakeAssembler(this.budget);
  private result: { type: number; body: Buffer } | null | false = null;

  /** Takes the next bytes of the direction. */
  push(bytes: Buffer): { type: number; body: Buffer } | null | false {
    if (this.result !== null) return this.result;
    this.records.push(bytes, 0, bytes.length, 0);
    if (this.records.lost && this.result === null) this.result = false;
    return this.result;
  }

  onRecord(type: number, _header: Buffer, body: Buffer, start: number, end: number): void {
    if (this.result !== null) return;
    if (type !== HANDSHAKE) {
      this.result = false;
      return;
    }
    const message = this.assembler.add(body, start, end);
    if (message !== null) this.result = message === false ? false : { type: message.type, body: Buffer.from(message.body) };
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

  /** A copy of the next `length` bytes (empty when they are not there). */
  bytes(length: number): Buffer {
    if (this.at + length > this.end) { this.ok = false; return Buffer.alloc(0); }
    const copy = ownCopy(this.buf.subarray(this.at, this.at + length));
    this.at += length;
    return copy;
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

/** ALPN names kept of a list at most, and characters of each: real ones are a few short tokens, and they are kept for the connection's life. */
const MAX_ALPN_NAMES = 8;
const MAX_ALPN_LENGTH = 64;
/** Versions kept of a ClientHello's list at most (distinct, GREASE left out). */
const MAX_VERSIONS = 8;

function alpnList(r: Reader | Map<number, Reader> | undefined, maxStr: number): string[] {
  if (r instanceof Map) r = r.get(EXT_ALPN);
  if (r === undefined) return [];
  const list = r.slice(r.u16());
  const names: string[] = [];
  while (list.ok && list.left > 0 && names.length < MAX_ALPN_NAMES) names.push(list.text(list.u8(), Math.min(maxStr, MAX_ALPN_LENGTH)));
  return names.filter((n) => n !== '');
}

/** Parses a ClientHello body; null when it is not one. */
export function parseClientHello(body: Buffer, maxStr = 256): ClientHello | null {
  const r = new Reader(body);
  const legacy = r.u16();
  const random = r.bytes(32);
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
    while (list.ok && list.left >= 2 && versions.length < MAX_VERSIONS) {
      const v = list.u16();
      const name = versionName(v);
      if (!isGrease(v) && !versions.includes(name)) versions.push(name);
    }
  }
  if (versions.length === 0) versions.push(versionName(legacy));
  return { random, serverName, alpn: alpnList(ext.get(EXT_ALPN), maxStr).filter((name) => !/^\\x[0-9a-f]{2}\\x[0-9a-f]{2}$/.test(name)), versions };
}

/** Parses a ServerHello body; null when it is not one. */
export function parseServerHello(body: Buffer, maxStr = 256): ServerHello | null {
  const r = new Reader(body);
  const legacy = r.u16();
  const random = r.bytes(32);
  r.slice(r.u8());
  const cipherSuite = r.u16();
  r.u8(); // compression
  if (!r.ok) return null;
  const ext = extensions(r);
  const supported = ext.get(EXT_SUPPORTED_VERSIONS);
  const version = supported !== undefined && supported.left >= 2 ? supported.u16() : legacy;
  return { random, versionNumber: version, version: versionName(version), cipherSuite, alpn: alpnList(ext.get(EXT_ALPN), maxStr)[0] ?? '' };
}

/** The hello types, for the collector's result. */
export const HELLO = { CLIENT: CLIENT_HELLO, SERVER: SERVER_HELLO } as const;

/**
 * The ALPN protocol a TLS 1.3 server chose, from decrypted handshake messages (its
 * EncryptedExtensions, type 8, carries it; the ServerHello does not). Empty when not there.
 */
export function alpnFromEncryptedHandshake(messages: Buffer, maxStr = 256): string {
  const r = new Reader(messages);
  while (r.ok && r.left >= 4) {
    const type = r.u8();
    const length = (r.u8() << 16) | r.u16();
    const body = r.slice(length);
    if (!r.ok) return '';
    if (type === ENCRYPTED_EXTENSIONS) return alpnList(extensions(body), maxStr)[0] ?? '';
  }
  return '';
}

/** Does a record's handshake data hold a KeyUpdate (after a NewSessionTicket, say)? */
export function hasKeyUpdate(data: Buffer): boolean {
  for (let at = 0; at + 4 <= data.length; at += 4 + data.readUIntBE(at + 1, 3)) {
    if (data[at] === KEY_UPDATE) return true;
  }
  return false;
}
