/** Builders of TLS handshake bytes for tests: extensions, ClientHellos, records. */

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function vec16(body: Buffer): Buffer {
  return Buffer.concat([u16(body.length), body]);
}

export function ext(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), vec16(body)]);
}

/** A ClientHello handshake message (type, length, body). */
export function clientHello(serverName: string, alpn: string[], versions: number[]): Buffer {
  const sni = vec16(Buffer.concat([Buffer.from([0]), vec16(Buffer.from(serverName))]));
  const alpnBody = vec16(Buffer.concat(alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)]))));
  const supported = Buffer.concat([Buffer.from([versions.length * 2]), ...versions.map(u16)]);
  const extensions = Buffer.concat([ext(0, sni), ext(16, alpnBody), ext(43, supported)]);
  const body = Buffer.concat([u16(0x0303), Buffer.alloc(32, 7), Buffer.from([0]), vec16(Buffer.from([0x13, 0x01, 0xc0, 0x2f])), Buffer.from([1, 0]), vec16(extensions)]);
  return Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 255]), body]);
}

/** Handshake bytes in TLS records of at most `recordSize` bytes. */
export function records(message: Buffer, recordSize: number): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < message.length; at += recordSize) {
    const piece = message.subarray(at, Math.min(message.length, at + recordSize));
    out.push(Buffer.from([22, 3, 1]), u16(piece.length), piece);
  }
  return Buffer.concat(out);
}

/** A ServerHello handshake message choosing TLS 1.3 (supported_versions) and `suite`. */
export function serverHello13(suite = 0x1301): Buffer {
  const body = Buffer.concat([u16(0x0303), Buffer.alloc(32, 9), Buffer.from([0]), u16(suite), Buffer.from([0]), vec16(ext(43, u16(0x0304)))]);
  return Buffer.concat([Buffer.from([2, 0, body.length >> 8, body.length & 255]), body]);
}

/** One TLS record of `type` around `body`. */
export function record(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, 3, 3]), u16(body.length), body]);
}
