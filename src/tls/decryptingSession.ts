/**
 * Tier 2 of a TLS connection, with a key log: the connection's secrets looked up by its
 * ClientHello's random (its records kept while the key log does not have them yet), its records
 * decrypted (TLS 1.3, TLS 1.2 AEAD suites), key updates followed, and the plaintext given to the
 * receivers its owner opens for the ALPN name the handshake announced. Which protocol reads that
 * plaintext is not decided here: the owner asks the dispatcher.
 *
 * Hostile input: records waiting for secrets are bounded and charged to the shared budget, a
 * record that does not decrypt is counted, and a direction that keeps failing is given up.
 */
import type { ByteBudget } from '../protocol/byteBudget';
import type { StreamReceiver } from '../protocol/streamReceiver';
import type { CaptureStats } from '../types';
import { canDecrypt, keysFromMasterSecret, keysFromTrafficSecret, type DirectionKeys, type Plaintext } from './decrypt';
import { hasKeyUpdate } from './handshake';
import type { HandshakeView } from './handshakeObserver';
import type { ConnectionSecrets, KeyLog } from './keyLog';
import { CONTENT, ownCopy } from './records';

/** Encrypted records a connection may hold while its secrets are not in the key log yet. */
const MAX_WAITING_BYTES = 64 * 1024;
/** Records in a row that fail to decrypt before a direction is given up. */
const MAX_FAILURES_IN_A_ROW = 4;
/** What a record waiting for its secrets costs beyond its bytes: its object and two buffers of their own. */
const WAITING_RECORD_OVERHEAD = 400;

/** Where the plaintext goes: the connection, which asks the dispatcher for a protocol to read it. */
export interface PlaintextOwner {
  /** Would the plaintext announced as `alpn` ('' when none) be read? If not, it is not decrypted. */
  acceptsPlaintext(alpn: string): boolean;
  /** The receivers of decrypted bytes sent by A and by B (a nested stream, opened on demand). */
  plaintextReceivers(alpn: string): [StreamReceiver, StreamReceiver];
}

/** The record framing of the connection: decryption tells it which direction is over. */
export interface RecordFraming {
  /** No more records of that direction are to be read (its framing is let go). */
  stopReading(fromA: boolean): void;
}

const enum Stage { Plain, Handshake, Application }

/** One direction's keys, and where its decryption stands. */
class KeySide {
  /** TLS 1.2: a ChangeCipherSpec was sent, what follows is encrypted. TLS 1.3: which keys apply. */
  stage = Stage.Plain;
  handshakeKeys: DirectionKeys | null = null;
  keys: DirectionKeys | null = null;
  failures = 0;
  /** Decryption of this direction is over (given up, or not wanted). */
  done = false;

  constructor(readonly fromA: boolean) {}
}

/** The decryption of one TLS connection's records. */
export class DecryptingSession {
  /** Each direction's keys, made when first needed (a flood of connections that never get past their ClientHello makes none). */
  private a: KeySide | null = null;
  private b: KeySide | null = null;
  /** null: not known yet; false: not decrypted (no secrets, unsupported, not wanted); true: keys found. */
  private decrypting: boolean | null = null;
  private secretsMissing = false;
  /** Records waiting for secrets the key log does not have yet, in the order they came. */
  private waiting: Array<{ fromA: boolean; header: Buffer; body: Buffer; ts: number }> = [];
  private waitingBytes = 0;
  private receivers: [StreamReceiver, StreamReceiver] | null = null;

  constructor(
    private readonly handshake: HandshakeView,
    private readonly keyLog: KeyLog,
    private readonly stats: CaptureStats,
    private readonly budget: ByteBudget,
    private readonly owner: PlaintextOwner,
    private readonly framing: RecordFraming,
  ) {}

  /** The connection's keys were found. */
  get decrypted(): boolean {
    return this.decrypting === true;
  }

  /** A hello was lost: the connection cannot be decrypted. */
  giveUp(): void {
    this.decrypting = false;
  }

  /**
   * Both hellos are known: can this connection be decrypted, and is it worth it? If so,
   * `decrypting` stays null until the first protected record needs the secrets.
   */
  onHellos(): void {
    const server = this.handshake.serverHello!;
    // Not a suite decrypted here, or a protocol nothing would read (named by its ALPN, not decrypted).
    if (!canDecrypt(server.versionNumber, server.cipherSuite) || !this.owner.acceptsPlaintext(server.alpn)) this.decrypting = false;
  }

  /** Are this direction's handshake records encrypted now (so none of them is a hello)? */
  isProtected(fromA: boolean): boolean {
    const side = fromA ? this.a : this.b;
    return side !== null && side.stage !== Stage.Plain;
  }

  /** Are this direction's records after the hellos still wanted? */
  reads(fromA: boolean): boolean {
    return this.decrypting !== false && !(fromA ? this.a : this.b)?.done;
  }

  /** This direction's records are no longer read. */
  stop(fromA: boolean): void {
    this.side(fromA).done = true;
  }

  /** Bytes of this direction were lost: while decryption is on or may be, it is out of step for good. */
  onGap(fromA: boolean, ts: number): void {
    if (!this.mayDecrypt()) return;
    // A record was lost: the rest of the direction cannot be decrypted in step (nonces count records).
    this.framing.stopReading(fromA);
    this.receiverOf(fromA)?.gap(ts, -1);
  }

  /** A record of this direction could not be gathered (no budget): decryption cannot go on in step. */
  onRecordSkipped(fromA: boolean): void {
    if (this.mayDecrypt()) this.framing.stopReading(fromA);
  }

  /** Decryption is on, or may still be (secrets pending): a lost record puts a direction out of step for good. */
  private mayDecrypt(): boolean {
    return this.decrypting === true || (this.decrypting === null && this.handshake.serverHello !== null);
  }

  /** A record after the hellos: ChangeCipherSpec, then encrypted records. */
  onRecord(fromA: boolean, type: number, header: Buffer, body: Buffer, start: number, end: number, ts: number): void {
    const server = this.handshake.serverHello;
    if (server === null || this.handshake.clientHello === null) {
      if (type !== CONTENT.CHANGE_CIPHER_SPEC) this.framing.stopReading(fromA);
      return;
    }
    const side = this.side(fromA);
    const tls13 = server.versionNumber === 0x0304;
    if (type === CONTENT.CHANGE_CIPHER_SPEC) {
      // TLS 1.2: what this side sends from now on is encrypted. TLS 1.3: a compatibility no-op.
      if (!tls13) side.stage = Stage.Application;
      return;
    }
    if (tls13 ? type !== CONTENT.APPLICATION_DATA : side.stage !== Stage.Application) return;
    if (this.decrypting === null && !this.findSecrets()) {
      this.wait(fromA, header, body, start, end, ts);
      return;
    }
    if (this.decrypting !== true) {
      this.framing.stopReading(fromA);
      return;
    }
    this.decryptRecord(side, header, body, start, end, ts);
  }

  private side(fromA: boolean): KeySide {
    if (fromA) return this.a ??= new KeySide(true);
    return this.b ??= new KeySide(false);
  }

  /** Looks the connection's secrets up (reading what is new in the key log on a miss); true once found. */
  private findSecrets(force = false): boolean {
    const server = this.handshake.serverHello!;
    const random = this.handshake.clientHello!.random;
    // Clients write a connection's lines one by one as its handshake goes: look again until all are there.
    const complete = (s: ConnectionSecrets | undefined): s is ConnectionSecrets => s !== undefined
      && (server.versionNumber === 0x0304 ? s.clientTraffic !== undefined && s.serverTraffic !== undefined : s.master !== undefined);
    let secrets = this.keyLog.lookup(random);
    if (!complete(secrets)) {
      this.keyLog.refresh(force);
      secrets = this.keyLog.lookup(random);
    }
    if (!complete(secrets)) return false;
    const clientSide = this.side(this.handshake.clientIsA === true);
    const serverSide = this.side(this.handshake.clientIsA !== true);
    if (server.versionNumber === 0x0304) {
      clientSide.keys = keysFromTrafficSecret(server.cipherSuite, secrets.clientTraffic!);
      serverSide.keys = keysFromTrafficSecret(server.cipherSuite, secrets.serverTraffic!);
      if (secrets.clientHandshake !== undefined) clientSide.handshakeKeys = keysFromTrafficSecret(server.cipherSuite, secrets.clientHandshake);
      if (secrets.serverHandshake !== undefined) serverSide.handshakeKeys = keysFromTrafficSecret(server.cipherSuite, secrets.serverHandshake);
      clientSide.stage = Stage.Handshake;
      serverSide.stage = Stage.Handshake;
    } else {
      const keys = keysFromMasterSecret(server.cipherSuite, secrets.master!, random, server.random);
      if (keys !== null) {
        clientSide.keys = keys.client;
        serverSide.keys = keys.server;
      }
    }
    if (clientSide.keys === null || serverSide.keys === null) {
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
  private wait(fromA: boolean, header: Buffer, body: Buffer, start: number, end: number, ts: number): void {
    this.secretsMissing = true;
    // Its bytes, and the record object and its two buffers (a flood of one-byte records costs what it holds).
    const length = WAITING_RECORD_OVERHEAD + end - start;
    if (this.waitingBytes + length > MAX_WAITING_BYTES || !this.budget.take(length)) {
      // A last look at the key log before giving up, whatever the re-read pace: a fast server
      // sends more than the wait holds within the milliseconds before the client's lines are read.
      if (this.findSecrets(true)) {
        if (this.decrypting === true) this.decryptRecord(this.side(fromA), header, body, start, end, ts);
        return;
      }
      this.stopWaiting();
      return;
    }
    this.waitingBytes += length;
    this.waiting.push({ fromA, header: ownCopy(header), body: ownCopy(body.subarray(start, end)), ts });
  }

  /** No secrets for this connection: it stays metadata only. */
  private stopWaiting(): void {
    this.decrypting = false;
    this.releaseWaiting();
    this.framing.stopReading(true);
    this.framing.stopReading(false);
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
      const side = this.side(record.fromA);
      if (!side.done) this.decryptRecord(side, record.header, record.body, 0, record.body.length, record.ts);
    }
    this.budget.give(bytes);
  }

  private decryptRecord(side: KeySide, header: Buffer, body: Buffer, start: number, end: number, ts: number): void {
    let plaintext: Plaintext | null = null;
    if (side.stage === Stage.Handshake) {
      // TLS 1.3: handshake keys until the side's Finished; the first record that opens only with the traffic keys ends that.
      plaintext = side.handshakeKeys?.open(header, body, start, end) ?? null;
      if (plaintext === null) {
        plaintext = side.keys!.open(header, body, start, end);
        if (plaintext !== null) side.stage = Stage.Application;
      }
    } else {
      plaintext = side.keys!.open(header, body, start, end);
    }
    if (plaintext === null) {
      this.stats.tlsDecryptErrors++;
      this.receiverOf(side.fromA)?.gap(ts, -1);
      if (++side.failures >= MAX_FAILURES_IN_A_ROW) this.framing.stopReading(side.fromA);
      return;
    }
    side.failures = 0;
    if (side.stage !== Stage.Application) {
      if (plaintext.type === CONTENT.HANDSHAKE && side.fromA !== this.handshake.clientIsA) this.handshake.readEncryptedHandshake(plaintext.data);
      return;
    }
    if (plaintext.type === CONTENT.APPLICATION_DATA) {
      const alpn = this.handshake.alpn;
      if (plaintext.data.length > 0 && this.owner.acceptsPlaintext(alpn)) this.receiverOf(side.fromA, alpn)!.push(plaintext.data, 0, plaintext.data.length, ts);
    } else if (plaintext.type === CONTENT.HANDSHAKE && this.handshake.serverHello!.versionNumber === 0x0304 && hasKeyUpdate(plaintext.data)) {
      side.keys = side.keys!.next();
      if (side.keys === null) this.framing.stopReading(side.fromA);
    }
  }

  /** The plaintext receiver of a direction; opened (for `alpn`) when asked with one. */
  private receiverOf(fromA: boolean, alpn: string | null = null): StreamReceiver | null {
    if (this.receivers === null) {
      if (alpn === null) return null;
      this.receivers = this.owner.plaintextReceivers(alpn);
    }
    return fromA ? this.receivers[0] : this.receivers[1];
  }

  /**
   * The connection is ending: records still waiting for their secrets get a last look at the
   * key log (a short connection can end before the throttled re-read saw the client's line).
   */
  finishWaiting(): void {
    if (this.decrypting !== null || this.waiting.length === 0) return;
    this.findSecrets(true);
  }

  /** The connection ended: a connection the key log had no secrets for is counted, and waiting records are let go. */
  end(): void {
    if (this.secretsMissing && this.decrypting !== true) this.stats.tlsNoKey++;
    this.releaseWaiting();
  }
}
