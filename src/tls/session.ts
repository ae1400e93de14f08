/**
 * One TCP connection seen as TLS. Always (tier 1): the hellos' metadata (server name, ALPN,
 * versions, cipher suite), bytes each way and handshake time, reported once when the
 * connection ends. With a key log (tier 2): its records decrypted and the plaintext HTTP/1.x
 * given to an HTTP connection of its own, whose transactions are marked `https`.
 *
 * Hostile input like everything from the wire: every buffer is charged to the shared budget,
 * records and hellos are bounded, nothing throws, and what cannot be read is counted.
 */
import type { ByteBudget } from '../protocol/byteBudget';
import type { StreamReceiver } from '../protocol/streamReceiver';
import type { Endpoints } from '../protocol/flowContext';
import type { CaptureStats, TlsConnection } from '../types';
import { canDecrypt, cipherSuiteName, keysFromMasterSecret, keysFromTrafficSecret, type DirectionKeys, type Plaintext } from './decrypt';
import { HELLO, alpnFromEncryptedHandshake, parseClientHello, parseServerHello, type ClientHello, type ServerHello } from './handshake';
import type { ConnectionSecrets, KeyLog } from './keyLog';
import { CONTENT, HandshakeAssembler, RecordReader, ownCopy, type RecordHandler } from './records';

/**
 * What a session costs beyond its buffers, charged to the budget it is given: measured ~870
 * bytes more per connection than a plain HTTP one (20,000 connections after their ClientHello,
 * `node --expose-gc`, heap and external memory before and after).
 */
export const SESSION_COST = 1024;
/** Encrypted records a connection may hold while its secrets are not in the key log yet. */
const MAX_WAITING_BYTES = 64 * 1024;
/** Records in a row that fail to decrypt before a direction is given up. */
const MAX_FAILURES_IN_A_ROW = 4;
/** The random of a TLS 1.3 HelloRetryRequest (RFC 8446 §4.1.3): not the real ServerHello. */
const RETRY_REQUEST_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');
const KEY_UPDATE = 24;
const NO_RANDOM = Buffer.alloc(0);
/** What a record waiting for its secrets costs beyond its bytes: its object and two buffers of their own. */
const WAITING_RECORD_OVERHEAD = 400;

/** What the session needs from its connection. */
export interface SessionOwner {
  /** Would the plaintext announced as `alpn` ('' when none) be read? If not, it is not decrypted. */
  acceptsPlaintext(alpn: string): boolean;
  /** The receivers of decrypted bytes sent by A and by B (a nested stream, opened on demand). */
  plaintextReceivers(alpn: string): [StreamReceiver, StreamReceiver];
  /** Its transactions decrypted so far. */
  readonly decryptedRequests: number;
}

const enum Stage { Plain, Handshake, Application }

class Direction implements RecordHandler {
  bytes = 0;
  firstTs = -1;
  lastTs = -1;
  readonly reader: RecordReader;
  hello: HandshakeAssembler | null;
  /** TLS 1.2: a ChangeCipherSpec was sent, what follows is encrypted. TLS 1.3: which keys apply. */
  stage = Stage.Plain;
  handshakeKeys: DirectionKeys | null = null;
  keys: DirectionKeys | null = null;
  failures = 0;
  /** Decryption of this direction is over (given up, or not wanted). */
  done = false;

  constructor(readonly session: TlsSession, readonly fromA: boolean, budget: ByteBudget) {
    this.reader = new RecordReader(this, budget);
    this.hello = new HandshakeAssembler(budget);
  }

  onRecord(type: number, header: Buffer, body: Buffer, start: number, end: number, ts: number): void {
    this.session.onRecord(this, type, header, body, start, end, ts);
  }

  onRecordSkipped(): void {
    this.session.onRecordSkipped(this);
  }
}

/** The TLS side of one TCP connection. */
export class TlsSession {
  private readonly a: Direction;
  private readonly b: Direction;
  private clientHello: ClientHello | null = null;
  private serverHello: ServerHello | null = null;
  /** Which side sent the ClientHello (null: not seen). */
  private clientIsA: boolean | null = null;
  private helloTs = -1;
  private serverAnswerTs = -1;
  private helloFailed = false;
  /** null: not known yet; false: not decrypted (no key log, no secrets, unsupported); true: keys found. */
  private decrypting: boolean | null;
  private secretsMissing = false;
  /** Records waiting for secrets the key log does not have yet, in the order they came. */
  private waiting: Array<{ fromA: boolean; header: Buffer; body: Buffer; ts: number }> = [];
  private waitingBytes = 0;
  private receivers: [StreamReceiver, StreamReceiver] | null = null;
  /** TLS 1.3: the ALPN choice read from the decrypted EncryptedExtensions. */
  private encryptedAlpn = '';
  /** The server sent a HelloRetryRequest. */
  private retried = false;
  private ended = false;

  constructor(
    private readonly endpoints: Endpoints,
    private readonly stats: CaptureStats,
    private readonly budget: ByteBudget,
    private readonly keyLog: KeyLog | null,
    private readonly maxStrLength: number,
    private readonly owner: SessionOwner,
  ) {
    this.a = new Direction(this, true, budget);
    this.b = new Direction(this, false, budget);
    this.decrypting = keyLog === null ? false : null;
  }

  /** The next bytes sent by A (`fromA`) or B, in order. */
  push(fromA: boolean, buf: Buffer, start: number, end: number, ts: number): void {
    const direction = fromA ? this.a : this.b;
    direction.bytes += end - start;
    if (direction.firstTs < 0) direction.firstTs = ts;
    direction.lastTs = ts;
    if (this.clientIsA !== null && fromA !== this.clientIsA && this.serverAnswerTs < 0) this.serverAnswerTs = ts;
    if (!direction.reader.lost) direction.reader.push(buf, start, end, ts);
  }

  /** `missing` bytes (-1: unknown) sent by A or B were not captured. */
  gap(fromA: boolean, missing: number, ts: number): void {
    const direction = fromA ? this.a : this.b;
    if (missing > 0) direction.bytes += missing;
    if (direction.hello !== null) this.helloLost(direction);
    if (direction.reader.lost) return;
    direction.reader.gap(missing);
    if (this.mayDecrypt()) {
      // A record was lost: the rest of the direction cannot be decrypted in step (nonces count records).
      this.stopDirection(direction);
      this.receiverOf(direction)?.gap(ts, -1);
    }
  }

  onRecord(direction: Direction, type: number, header: Buffer, body: Buffer, start: number, end: number, ts: number): void {
    if (direction.hello !== null) {
      if (type === CONTENT.HANDSHAKE && direction.stage === Stage.Plain) {
        const message = direction.hello.add(body, start, end);
        if (message === false) this.helloLost(direction);
        else if (message !== null) this.onHello(direction, message.type, message.body, ts);
        return;
      }
      // A ChangeCipherSpec may come between hellos (after a HelloRetryRequest): wait on.
      if (type === CONTENT.CHANGE_CIPHER_SPEC) return;
      this.helloLost(direction);
    }
    if (this.decrypting === false || direction.done) {
      this.stopDirection(direction);
      return;
    }
    this.onProtectedRecord(direction, type, header, body, start, end, ts);
  }

  /** A record of this direction could not be gathered (no budget): a hello it carried is lost, and decryption cannot go on in step. */
  onRecordSkipped(direction: Direction): void {
    if (direction.hello !== null) this.helloLost(direction);
    else if (this.mayDecrypt()) this.stopDirection(direction);
  }

  /** Decryption is on, or may still be (secrets pending): a lost record puts a direction out of step for good. */
  private mayDecrypt(): boolean {
    return this.decrypting === true || (this.decrypting === null && this.serverHello !== null);
  }

  private helloLost(direction: Direction): void {
    direction.hello?.release();
    direction.hello = null;
    if (!this.helloFailed) {
      this.helloFailed = true;
      this.stats.tlsHelloErrors++;
    }
    this.decrypting = false;
  }

  private onHello(direction: Direction, type: number, body: Buffer, ts: number): void {
    direction.hello = null;
    if (type === HELLO.CLIENT && this.clientHello !== null && this.retried) {
      // The ClientHello that answers a HelloRetryRequest: same random, same name; the first one stands.
      return;
    }
    if (type === HELLO.CLIENT && this.clientHello === null) {
      this.clientHello = parseClientHello(body, this.maxStrLength);
      if (this.clientHello === null) { this.helloLost(direction); return; }
      // The random names the connection's secrets in a key log: without one, it is not kept.
      if (this.keyLog === null) this.clientHello.random = NO_RANDOM;
      this.clientIsA = direction.fromA;
      this.helloTs = ts;
    } else if (type === HELLO.SERVER && this.serverHello === null) {
      const hello = parseServerHello(body, this.maxStrLength);
      if (hello === null) { this.helloLost(direction); return; }
      if (hello.random.equals(RETRY_REQUEST_RANDOM)) {
        // A HelloRetryRequest: the real ServerHello follows, after a second ClientHello.
        this.retried = true;
        direction.hello = new HandshakeAssembler(this.budget);
        const client = direction.fromA ? this.b : this.a;
        if (!client.done) client.hello = new HandshakeAssembler(this.budget);
        return;
      }
      if (this.keyLog === null) hello.random = NO_RANDOM;
      this.serverHello = hello;
      if (this.clientIsA === null) this.clientIsA = !direction.fromA;
    } else {
      this.helloLost(direction);
      return;
    }
    if (this.keyLog === null) this.stopDirection(direction);
    else if (this.serverHello !== null && this.clientHello !== null) this.decideDecryption();
  }

  /**
   * Both hellos are known: can this connection be decrypted, and is it worth it? If so,
   * `decrypting` stays null until the first protected record needs the secrets.
   */
  private decideDecryption(): void {
    const server = this.serverHello!;
    // Not a suite decrypted here, or a protocol nothing would read (named by its ALPN, not decrypted).
    if (!canDecrypt(server.versionNumber, server.cipherSuite) || !this.owner.acceptsPlaintext(server.alpn)) this.decrypting = false;
  }

  /** Records after the hellos: ChangeCipherSpec, then encrypted records. */
  private onProtectedRecord(direction: Direction, type: number, header: Buffer, body: Buffer, start: number, end: number, ts: number): void {
    if (this.serverHello === null || this.clientHello === null) {
      if (type !== CONTENT.CHANGE_CIPHER_SPEC) this.stopDirection(direction);
      return;
    }
    const tls13 = this.serverHello.versionNumber === 0x0304;
    if (type === CONTENT.CHANGE_CIPHER_SPEC) {
      // TLS 1.2: what this side sends from now on is encrypted. TLS 1.3: a compatibility no-op.
      if (!tls13) direction.stage = Stage.Application;
      return;
    }
    if (tls13 ? type !== CONTENT.APPLICATION_DATA : direction.stage !== Stage.Application) return;
    if (this.decrypting === null && !this.findSecrets()) {
      this.wait(direction, header, body, start, end, ts);
      return;
    }
    if (this.decrypting !== true) {
      this.stopDirection(direction);
      return;
    }
    this.decryptRecord(direction, header, body, start, end, ts);
  }

  /** Looks the connection's secrets up (reading what is new in the key log on a miss); true once found. */
  private findSecrets(force = false): boolean {
    const keyLog = this.keyLog!;
    const server = this.serverHello!;
    // Clients write a connection's lines one by one as its handshake goes: look again until all are there.
    const complete = (s: ConnectionSecrets | undefined): s is ConnectionSecrets => s !== undefined
      && (server.versionNumber === 0x0304 ? s.clientTraffic !== undefined && s.serverTraffic !== undefined : s.master !== undefined);
    let secrets = keyLog.lookup(this.clientHello!.random);
    if (!complete(secrets)) {
      keyLog.refresh(force);
      secrets = keyLog.lookup(this.clientHello!.random);
    }
    if (!complete(secrets)) return false;
    const clientDirection = this.clientIsA ? this.a : this.b;
    const serverDirection = this.clientIsA ? this.b : this.a;
    if (server.versionNumber === 0x0304) {
      clientDirection.keys = keysFromTrafficSecret(server.cipherSuite, secrets.clientTraffic!);
      serverDirection.keys = keysFromTrafficSecret(server.cipherSuite, secrets.serverTraffic!);
      if (secrets.clientHandshake !== undefined) clientDirection.handshakeKeys = keysFromTrafficSecret(server.cipherSuite, secrets.clientHandshake);
      if (secrets.serverHandshake !== undefined) serverDirection.handshakeKeys = keysFromTrafficSecret(server.cipherSuite, secrets.serverHandshake);
      clientDirection.stage = Stage.Handshake;
      serverDirection.stage = Stage.Handshake;
    } else {
      const keys = keysFromMasterSecret(server.cipherSuite, secrets.master!, this.clientHello!.random, server.random);
      if (keys !== null) {
        clientDirection.keys = keys.client;
        serverDirection.keys = keys.server;
      }
    }
    if (clientDirection.keys === null || serverDirection.keys === null) {
      this.decrypting = false;
      return true;
    }
    this.decrypting = true;
    this.secretsMissing = false;
    this.stats.tlsDecrypted++;
    this.replayWaiting();
    return true;
  }

  /** Keeps a record until the key log has the secrets (a client writes them as it connects); past the bound, gives up. */
  private wait(direction: Direction, header: Buffer, body: Buffer, start: number, end: number, ts: number): void {
    this.secretsMissing = true;
    // Its bytes, and the record object and its two buffers (a flood of one-byte records costs what it holds).
    const length = WAITING_RECORD_OVERHEAD + end - start;
    if (this.waitingBytes + length > MAX_WAITING_BYTES || !this.budget.take(length)) {
      this.stopWaiting();
      return;
    }
    this.waitingBytes += length;
    this.waiting.push({ fromA: direction.fromA, header: ownCopy(header), body: ownCopy(body.subarray(start, end)), ts });
  }

  /** No secrets for this connection: it stays metadata only. */
  private stopWaiting(): void {
    this.decrypting = false;
    this.releaseWaiting();
    this.stopDirection(this.a);
    this.stopDirection(this.b);
  }

  private releaseWaiting(): void {
    if (this.waitingBytes > 0) this.budget.give(this.waitingBytes);
    this.waiting = [];
    this.waitingBytes = 0;
  }

  private replayWaiting(): void {
    const waiting = this.waiting;
    const bytes = this.waitingBytes;
    this.waiting = [];
    this.waitingBytes = 0;
    for (const record of waiting) {
      const direction = record.fromA ? this.a : this.b;
      if (!direction.done) this.decryptRecord(direction, record.header, record.body, 0, record.body.length, record.ts);
    }
    this.budget.give(bytes);
  }

  private decryptRecord(direction: Direction, header: Buffer, body: Buffer, start: number, end: number, ts: number): void {
    let plaintext: Plaintext | null = null;
    if (direction.stage === Stage.Handshake) {
      // TLS 1.3: handshake keys until the side's Finished; the first record that opens only with the traffic keys ends that.
      plaintext = direction.handshakeKeys?.open(header, body, start, end) ?? null;
      if (plaintext === null) {
        plaintext = direction.keys!.open(header, body, start, end);
        if (plaintext !== null) direction.stage = Stage.Application;
      }
    } else {
      plaintext = direction.keys!.open(header, body, start, end);
    }
    if (plaintext === null) {
      this.stats.tlsDecryptErrors++;
      this.receiverOf(direction)?.gap(ts, -1);
      if (++direction.failures >= MAX_FAILURES_IN_A_ROW) this.stopDirection(direction);
      return;
    }
    direction.failures = 0;
    if (direction.stage !== Stage.Application) {
      if (plaintext.type === CONTENT.HANDSHAKE && this.encryptedAlpn === '' && direction.fromA !== this.clientIsA) {
        this.encryptedAlpn = alpnFromEncryptedHandshake(plaintext.data, this.maxStrLength);
      }
      return;
    }
    if (plaintext.type === CONTENT.APPLICATION_DATA) {
      if (plaintext.data.length > 0 && this.owner.acceptsPlaintext(this.alpn)) this.receiverOf(direction, true)!.push(plaintext.data, 0, plaintext.data.length, ts);
    } else if (plaintext.type === CONTENT.HANDSHAKE && this.serverHello!.versionNumber === 0x0304 && hasKeyUpdate(plaintext.data)) {
      direction.keys = direction.keys!.next();
      if (direction.keys === null) this.stopDirection(direction);
    }
  }

  private receiverOf(direction: Direction, create = false): StreamReceiver | null {
    if (this.receivers === null) {
      if (!create) return null;
      this.receivers = this.owner.plaintextReceivers(this.alpn);
    }
    return direction.fromA ? this.receivers[0] : this.receivers[1];
  }

  /** The protocol chosen by ALPN: in the ServerHello, or (TLS 1.3) in its encrypted extensions. */
  private get alpn(): string {
    const server = this.serverHello;
    return server !== null && server.alpn !== '' ? server.alpn : this.encryptedAlpn;
  }

  /** Nothing more to read in this direction's records: count its bytes only. */
  private stopDirection(direction: Direction): void {
    direction.done = true;
    direction.hello?.release();
    direction.hello = null;
    direction.reader.loseFraming();
  }

  /**
   * The connection is ending: records still waiting for their secrets get a last look at the
   * key log (a short connection can end before the throttled re-read saw the client's line).
   */
  finishWaiting(): void {
    if (this.ended || this.decrypting !== null || this.waiting.length === 0) return;
    this.findSecrets(true);
  }

  /** The connection ended: lets go of its buffers and returns its record. */
  end(): TlsConnection | null {
    if (this.ended) return null;
    this.ended = true;
    if (this.keyLog !== null && this.secretsMissing && this.decrypting !== true) this.stats.tlsNoKey++;
    this.releaseWaiting();
    this.stopDirection(this.a);
    this.stopDirection(this.b);
    const e = this.endpoints;
    // Without a ClientHello, the side with the lower port is taken for the server.
    const clientIsA = this.clientIsA ?? e.portA > e.portB;
    const client = clientIsA ? this.a : this.b;
    const server = clientIsA ? this.b : this.a;
    const first = Math.min(...[this.a.firstTs, this.b.firstTs].filter((t) => t >= 0));
    const ts = this.helloTs >= 0 ? this.helloTs : first;
    const last = Math.max(this.a.lastTs, this.b.lastTs);
    const ch = this.clientHello;
    const sh = this.serverHello;
    return {
      ts: Number.isFinite(ts) ? ts : 0,
      src: clientIsA ? e.addrA : e.addrB,
      sport: clientIsA ? e.portA : e.portB,
      dst: clientIsA ? e.addrB : e.addrA,
      dport: clientIsA ? e.portB : e.portA,
      serverName: ch?.serverName ?? '',
      versionsOffered: ch?.versions ?? [],
      version: sh?.version ?? '',
      cipher: sh !== null ? cipherSuiteName(sh.cipherSuite) : '',
      alpnOffered: ch?.alpn ?? [],
      alpn: sh === null ? '' : this.alpn,
      handshakeMs: this.helloTs >= 0 && this.serverAnswerTs >= 0 ? Math.round((this.serverAnswerTs - this.helloTs) * 1e6) / 1e3 : null,
      bytesToServer: client.bytes,
      bytesToClient: server.bytes,
      durationMs: Number.isFinite(ts) && last >= ts ? Math.round((last - ts) * 1e6) / 1e3 : 0,
      decrypted: this.decrypting === true,
      requests: this.owner.decryptedRequests,
    };
  }
}

/** Does a record's handshake data hold a KeyUpdate (after a NewSessionTicket, say)? */
function hasKeyUpdate(data: Buffer): boolean {
  for (let at = 0; at + 4 <= data.length; at += 4 + data.readUIntBE(at + 1, 3)) {
    if (data[at] === KEY_UPDATE) return true;
  }
  return false;
}
