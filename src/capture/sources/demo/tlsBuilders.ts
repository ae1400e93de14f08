/**
 * Builders of TLS bytes as a capture shows them: records, handshake messages, ClientHellos and
 * ServerHellos with the extensions wiretop reads (server name, ALPN, supported versions). No
 * cryptography: what follows the hellos is opaque bytes. Used by the demo's TLS traffic, the
 * test fixtures and the benchmark, so that all three speak the same TLS.
 */

/** Two bytes, big-endian. */
export function u16(n: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(n);
  return bytes;
}

/** `body` after its length in two bytes (TLS's `opaque <0..2^16-1>`). */
export function vec16(body: Buffer): Buffer {
  return Buffer.concat([u16(body.length), body]);
}

/** A hello extension: type, then its body as a vector. */
export function extension(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), vec16(body)]);
}

/** The body of an ALPN extension: the protocol names, each after its length in one byte. */
export function alpnList(protocols: string[]): Buffer {
  return vec16(Buffer.concat(protocols.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')]))));
}

/** One TLS record of content `type` (22 handshake, 23 application data) around `body`. */
export function record(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, 3, 3]), u16(body.length), body]);
}

/**
 * Handshake bytes cut into handshake records of at most `recordSize` bytes each, with the
 * record version 3.1 that clients put on their first flight.
 */
export function handshakeRecords(message: Buffer, recordSize: number): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < message.length; at += recordSize) {
    const piece = message.subarray(at, Math.min(message.length, at + recordSize));
    out.push(Buffer.from([22, 3, 1]), u16(piece.length), piece);
  }
  return Buffer.concat(out);
}

/** A handshake message: type (1 ClientHello, 2 ServerHello), length in three bytes, body. */
export function handshake(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, 0, body.length >> 8, body.length & 255]), body]);
}

/** What a ClientHello offers. */
export interface ClientHelloSpec {
  /** The server name (SNI); none when absent. Latin-1, one byte a character. */
  serverName?: string;
  /** The ALPN protocols offered; no ALPN extension when absent. */
  alpn?: string[];
  /** The supported_versions list, in order (GREASE values included as given). */
  versions: number[];
  cipherSuites: number[];
  /** The 32 bytes of the client random. */
  random: Buffer;
}

/** A ClientHello handshake message (not yet in a record): legacy version 1.2, no session id. */
export function clientHello(spec: ClientHelloSpec): Buffer {
  const extensions = [
    ...(spec.serverName !== undefined ? [extension(0, vec16(Buffer.concat([Buffer.from([0]), vec16(Buffer.from(spec.serverName, 'latin1'))])))] : []),
    ...(spec.alpn !== undefined ? [extension(16, alpnList(spec.alpn))] : []),
    extension(43, Buffer.concat([Buffer.from([spec.versions.length * 2]), ...spec.versions.map(u16)])),
  ];
  const suites = vec16(Buffer.concat(spec.cipherSuites.map(u16)));
  // Then the compression methods: one, null.
  const body = Buffer.concat([u16(0x0303), spec.random, Buffer.from([0]), suites, Buffer.from([1, 0]), vec16(Buffer.concat(extensions))]);
  return handshake(1, body);
}

/** What a ServerHello chooses. */
export interface ServerHelloSpec {
  /** 0x0304 for TLS 1.3 (said in supported_versions), 0x0303 for 1.2. */
  version: number;
  cipherSuite: number;
  /** The ALPN protocol chosen, if any. */
  alpn?: string;
  /** The 32 bytes of the server random. */
  random: Buffer;
}

/** A ServerHello handshake message (not yet in a record). */
export function serverHello(spec: ServerHelloSpec): Buffer {
  const tls13 = spec.version === 0x0304;
  const extensions = [
    ...(tls13 ? [extension(43, u16(0x0304))] : []),
    // A TLS 1.3 server says its ALPN choice in the encrypted extensions, a 1.2 one in the ServerHello.
    ...(!tls13 && spec.alpn !== undefined ? [extension(16, alpnList([spec.alpn]))] : []),
  ];
  const body = Buffer.concat([u16(0x0303), spec.random, Buffer.from([0]), u16(spec.cipherSuite), Buffer.from([0]), vec16(Buffer.concat(extensions))]);
  return handshake(2, body);
}
