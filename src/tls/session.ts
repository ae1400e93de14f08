/**
 * One TCP connection seen as TLS: each direction's bytes framed into records, and the records
 * routed to the two tiers. Always (tier 1, HandshakeObserver): the hellos' metadata, bytes each
 * way and handshake time, reported once when the connection ends. With a key log (tier 2,
 * DecryptingSession): the records after the hellos decrypted and the plaintext handed to a
 * nested stream its owner opens.
 *
 * Hostile input like everything from the wire: every buffer is charged to the shared budget,
 * records and hellos are bounded, nothing throws, and what cannot be read is counted.
 */
import type { ByteBudget } from '../protocol/byteBudget';
import type { Endpoints } from '../protocol/flowContext';
import type { CaptureStats, TlsConnection } from '../types';
import { DecryptingSession, type PlaintextOwner, type RecordFraming } from './decryptingSession';
import { HandshakeObserver, HelloStep } from './handshakeObserver';
import type { KeyLog } from './keyLog';
import { CONTENT, RecordReader, type RecordHandler } from './records';

/**
 * What a session costs beyond its buffers, charged to the budget it is given: measured ~870
 * bytes more per connection than a plain HTTP one (20,000 connections after their ClientHello,
 * `node --expose-gc`, heap and external memory before and after).
 */
export const SESSION_COST = 1024;

/** What the session needs from its connection. */
export interface SessionOwner extends PlaintextOwner {
  /** Its transactions decrypted so far. */
  readonly decryptedRequests: number;
}

/** One direction's record framing. */
class RecordSide implements RecordHandler {
  readonly reader: RecordReader;

  constructor(private readonly session: TlsSession, readonly fromA: boolean, budget: ByteBudget) {
    this.reader = new RecordReader(this, budget);
  }

  onRecord(type: number, header: Buffer, body: Buffer, start: number, end: number, ts: number): void {
    this.session.onRecord(this.fromA, type, header, body, start, end, ts);
  }

  onRecordSkipped(): void {
    this.session.onRecordSkipped(this.fromA);
  }
}

/** The TLS side of one TCP connection. */
export class TlsSession implements RecordFraming {
  private readonly a: RecordSide;
  private readonly b: RecordSide;
  private readonly handshake: HandshakeObserver;
  /** Tier 2: null without a key log. */
  private readonly decryption: DecryptingSession | null;
  private ended = false;

  constructor(
    private readonly endpoints: Endpoints,
    stats: CaptureStats,
    budget: ByteBudget,
    keyLog: KeyLog | null,
    maxStrLength: number,
    private readonly owner: SessionOwner,
  ) {
    this.a = new RecordSide(this, true, budget);
    this.b = new RecordSide(this, false, budget);
    this.handshake = new HandshakeObserver(stats, budget, maxStrLength, keyLog !== null);
    this.decryption = keyLog === null ? null : new DecryptingSession(this.handshake, keyLog, stats, budget, owner, this);
  }

  /** The ClientHello's server name (lower case), '' when none was sent or the hello was not seen. */
  get serverName(): string {
    return this.handshake.clientHello?.serverName ?? '';
  }

  /** The next bytes sent by A (`fromA`) or B, in order. */
  push(fromA: boolean, buf: Buffer, start: number, end: number, ts: number): void {
    this.handshake.onBytes(fromA, end - start, ts);
    const reader = (fromA ? this.a : this.b).reader;
    if (!reader.lost) reader.push(buf, start, end, ts);
  }

  /** `missing` bytes (-1: unknown) sent by A or B were not captured. */
  gap(fromA: boolean, missing: number, ts: number): void {
    this.handshake.onMissing(fromA, missing);
    if (this.handshake.readsHello(fromA)) this.helloLost(fromA);
    const reader = (fromA ? this.a : this.b).reader;
    if (reader.lost) return;
    reader.gap(missing);
    this.decryption?.onGap(fromA, ts);
  }

  /** A whole record of this direction: a hello's to tier 1 while it expects one, the rest to tier 2. */
  onRecord(fromA: boolean, type: number, header: Buffer, body: Buffer, start: number, end: number, ts: number): void {
    const decryption = this.decryption;
    if (this.handshake.readsHello(fromA)) {
      // Hellos are sent in the clear: once this direction is decrypted, a handshake record is not one.
      if (type === CONTENT.HANDSHAKE && (decryption === null || !decryption.isProtected(fromA))) {
        this.onHelloStep(fromA, this.handshake.onHelloRecord(fromA, body, start, end, ts));
        return;
      }
      // A ChangeCipherSpec may come between hellos (after a HelloRetryRequest): wait on.
      if (type === CONTENT.CHANGE_CIPHER_SPEC) return;
      this.helloLost(fromA);
    }
    if (decryption === null || !decryption.reads(fromA)) {
      this.stopReading(fromA);
      return;
    }
    decryption.onRecord(fromA, type, header, body, start, end, ts);
  }

  /** A record of this direction could not be gathered (no budget): a hello it carried is lost, and decryption cannot go on in step. */
  onRecordSkipped(fromA: boolean): void {
    if (this.handshake.readsHello(fromA)) this.helloLost(fromA);
    else this.decryption?.onRecordSkipped(fromA);
  }

  /** What tier 2 does when a hello was read or lost. */
  private onHelloStep(fromA: boolean, step: HelloStep): void {
    if (step === HelloStep.Lost) this.decryption?.giveUp();
    else if (step === HelloStep.Read) {
      // Without a key log nothing after the hellos is read: the bytes are only counted.
      if (this.decryption === null) this.stopReading(fromA);
      else if (this.handshake.serverHello !== null && this.handshake.clientHello !== null) this.decryption.onHellos();
    }
  }

  private helloLost(fromA: boolean): void {
    this.handshake.helloLost(fromA);
    this.decryption?.giveUp();
  }

  /** Nothing more to read in this direction's records: count its bytes only. */
  stopReading(fromA: boolean): void {
    this.decryption?.stop(fromA);
    this.handshake.close(fromA);
    (fromA ? this.a : this.b).reader.loseFraming();
  }

  /**
   * The connection is ending: records still waiting for their secrets get a last look at the
   * key log (a short connection can end before the throttled re-read saw the client's line).
   */
  finishWaiting(): void {
    if (!this.ended) this.decryption?.finishWaiting();
  }

  /** The connection ended: lets go of its buffers and returns its record. */
  end(): TlsConnection | null {
    if (this.ended) return null;
    this.ended = true;
    this.decryption?.end();
    this.stopReading(true);
    this.stopReading(false);
    return this.handshake.connection(this.endpoints, this.decryption?.decrypted ?? false, this.owner.decryptedRequests);
  }
}
