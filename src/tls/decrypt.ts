/**
 * TLS record decryption with secrets from a key log, on Node's crypto: TLS 1.3 (its three
 * suites) and TLS 1.2 AEAD suites (AES-GCM and ChaCha20-Poly1305, with ECDHE, DHE or RSA key
 * exchange: the key log gives the master secret whatever the exchange). CBC suites, TLS 1.1 and
 * earlier are not decrypted: their connections keep their metadata only.
 */
import * as crypto from 'crypto';
import { ownCopy } from './records';

type Aead = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';

interface SuiteParams {
  name: string;
  /** null: a suite whose records are not decrypted. */
  aead: Aead | null;
  hash: 'sha256' | 'sha384';
  keyLength: number;
  /** TLS 1.2: bytes of the IV from the key block (4 for GCM, whose nonce is partly explicit; 12 for ChaCha20). */
  fixedIvLength: number;
}

function suite(name: string, aead: Aead | null, hash: 'sha256' | 'sha384' = 'sha256'): SuiteParams {
  const keyLength = aead === 'aes-128-gcm' ? 16 : 32;
  return { name, aead, hash, keyLength, fixedIvLength: aead === 'chacha20-poly1305' ? 12 : 4 };
}

/** The suites named (and, where `aead` is set, decrypted). */
const SUITES = new Map<number, SuiteParams>([
  [0x1301, suite('TLS_AES_128_GCM_SHA256', 'aes-128-gcm')],
  [0x1302, suite('TLS_AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384')],
  [0x1303, suite('TLS_CHACHA20_POLY1305_SHA256', 'chacha20-poly1305')],
  [0xc02b, suite('TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'aes-128-gcm')],
  [0xc02c, suite('TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384')],
  [0xc02f, suite('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'aes-128-gcm')],
  [0xc030, suite('TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384')],
  [0xcca8, suite('TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'chacha20-poly1305')],
  [0xcca9, suite('TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'chacha20-poly1305')],
  [0xccaa, suite('TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'chacha20-poly1305')],
  [0x009e, suite('TLS_DHE_RSA_WITH_AES_128_GCM_SHA256', 'aes-128-gcm')],
  [0x009f, suite('TLS_DHE_RSA_WITH_AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384')],
  [0x009c, suite('TLS_RSA_WITH_AES_128_GCM_SHA256', 'aes-128-gcm')],
  [0x009d, suite('TLS_RSA_WITH_AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384')],
  [0xc013, suite('TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', null)],
  [0xc014, suite('TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', null)],
  [0xc027, suite('TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', null)],
  [0xc009, suite('TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', null)],
  [0xc00a, suite('TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', null)],
  [0x002f, suite('TLS_RSA_WITH_AES_128_CBC_SHA', null)],
  [0x0035, suite('TLS_RSA_WITH_AES_256_CBC_SHA', null)],
  [0x000a, suite('TLS_RSA_WITH_3DES_EDE_CBC_SHA', null)],
]);

/** The IANA name of a cipher suite, or its number in hex. */
export function cipherSuiteName(id: number): string {
  return SUITES.get(id)?.name ?? `0x${id.toString(16).padStart(4, '0')}`;
}

/** Can records of this suite at this version be decrypted? */
export function canDecrypt(version: number, suiteId: number): boolean {
  const params = SUITES.get(suiteId);
  if (params === undefined || params.aead === null) return false;
  const tls13Suite = suiteId >= 0x1301 && suiteId <= 0x1303;
  return version === 0x0304 ? tls13Suite : version === 0x0303 && !tls13Suite;
}

function hashLength(hash: 'sha256' | 'sha384'): number {
  return hash === 'sha256' ? 32 : 48;
}

/** HKDF-Expand (RFC 5869); Node's hkdf always extracts first, which TLS 1.3's labels do not. */
function hkdfExpand(hash: string, secret: Buffer, info: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  let previous = Buffer.alloc(0);
  let total = 0;
  for (let i = 1; total < length; i++) {
    previous = crypto.createHmac(hash, secret).update(previous).update(info).update(Buffer.from([i])).digest();
    out.push(previous);
    total += previous.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** HKDF-Expand-Label (RFC 8446 §7.1) with an empty context. */
export function expandLabel(hash: string, secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])]);
  return hkdfExpand(hash, secret, info, length);
}

/** The TLS 1.2 PRF (RFC 5246 §5). */
export function prf12(hash: string, secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out: Buffer[] = [];
  let a = labelSeed;
  let total = 0;
  while (total < length) {
    a = crypto.createHmac(hash, secret).update(a).digest();
    const block = crypto.createHmac(hash, secret).update(a).update(labelSeed).digest();
    out.push(block);
    total += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** A record decrypted: its real content type and plaintext. */
export interface Plaintext {
  type: number;
  data: Buffer;
}

/** The keys of one direction at one stage, and its record sequence number. */
export class DirectionKeys {
  seq = 0n;

  constructor(
    private readonly aead: Aead,
    private readonly key: Buffer,
    private readonly iv: Buffer,
    /** TLS 1.3 (else 1.2: other nonce and additional data). */
    private readonly tls13: boolean,
    /** TLS 1.3: the traffic secret, for a key update. */
    readonly secret: Buffer | null = null,
    readonly hash: string = 'sha256',
  ) {}

  /** Decrypts the record with header `header` and body `body[start, end)`; null when it does not authenticate. */
  open(header: Buffer, body: Buffer, start: number, end: number): Plaintext | null {
    const tagAt = end - 16;
    let nonce: Buffer;
    let from = start;
    if (this.tls13 || this.aead === 'chacha20-poly1305') {
      if (tagAt < start) return null;
      nonce = Buffer.from(this.iv);
      const seq = this.seq;
      for (let i = 0; i < 8; i++) nonce[11 - i] ^= Number((seq >> BigInt(8 * i)) & 0xffn);
    } else {
      // TLS 1.2 GCM: 4 bytes of fixed IV, 8 explicit bytes at the start of the record.
      if (tagAt < start + 8) return null;
      nonce = Buffer.concat([this.iv, body.subarray(start, start + 8)]);
      from = start + 8;
    }
    let aad: Buffer;
    if (this.tls13) {
      aad = header;
    } else {
      aad = Buffer.alloc(13);
      aad.writeBigUInt64BE(this.seq, 0);
      header.copy(aad, 8, 0, 3);
      aad.writeUInt16BE(tagAt - from, 11);
    }
    let data: Buffer;
    try {
      const decipher = crypto.createDecipheriv(this.aead as 'aes-128-gcm', this.key, nonce, { authTagLength: 16 });
      decipher.setAAD(aad, { plaintextLength: tagAt - from });
      decipher.setAuthTag(body.subarray(tagAt, end));
      const first = decipher.update(body.subarray(from, tagAt));
      const last = decipher.final();
      data = last.length === 0 ? first : Buffer.concat([first, last]);
    } catch {
      return null;
    }
    this.seq++;
    if (!this.tls13) return { type: header[0], data };
    // TLS 1.3: the real type is the last non-zero byte; zeros after it are padding.
    let last = data.length - 1;
    while (last >= 0 && data[last] === 0) last--;
    if (last < 0) return null;
    return { type: data[last], data: data.subarray(0, last) };
  }

  /** TLS 1.3 KeyUpdate: the next generation of this direction's keys. */
  next(): DirectionKeys | null {
    if (this.secret === null) return null;
    const secret = expandLabel(this.hash, this.secret, 'traffic upd', this.secret.length);
    return tls13Keys(this.aead, this.hash, secret);
  }
}

function tls13Keys(aead: Aead, hash: string, secret: Buffer): DirectionKeys {
  const keyLength = aead === 'aes-128-gcm' ? 16 : 32;
  return new DirectionKeys(aead, ownCopy(expandLabel(hash, secret, 'key', keyLength)), ownCopy(expandLabel(hash, secret, 'iv', 12)), true, ownCopy(secret), hash);
}

/** TLS 1.3 keys from a traffic secret, for suite `suiteId`; null when the suite is not one of 1.3's. */
export function keysFromTrafficSecret(suiteId: number, secret: Buffer): DirectionKeys | null {
  const params = SUITES.get(suiteId);
  if (params === undefined || params.aead === null || suiteId < 0x1301 || suiteId > 0x1303) return null;
  if (secret.length !== hashLength(params.hash)) return null;
  return tls13Keys(params.aead, params.hash, secret);
}

/** TLS 1.2 keys of both directions from the master secret and the two hellos' randoms. */
export function keysFromMasterSecret(suiteId: number, master: Buffer, clientRandom: Buffer, serverRandom: Buffer): { client: DirectionKeys; server: DirectionKeys } | null {
  const params = SUITES.get(suiteId);
  if (params === undefined || params.aead === null || master.length !== 48) return null;
  const { keyLength, fixedIvLength } = params;
  const block = prf12(params.hash, master, 'key expansion', Buffer.concat([serverRandom, clientRandom]), 2 * keyLength + 2 * fixedIvLength);
  const clientKey = block.subarray(0, keyLength);
  const serverKey = block.subarray(keyLength, 2 * keyLength);
  const clientIv = block.subarray(2 * keyLength, 2 * keyLength + fixedIvLength);
  const serverIv = block.subarray(2 * keyLength + fixedIvLength, 2 * keyLength + 2 * fixedIvLength);
  return {
    client: new DirectionKeys(params.aead, ownCopy(clientKey), ownCopy(clientIv), false),
    server: new DirectionKeys(params.aead, ownCopy(serverKey), ownCopy(serverIv), false),
  };
}
