/**
 * Tier 1 of a TLS connection, always on: what its handshake says in the clear (server name,
 * ALPN, versions, cipher suite, from the hellos), the bytes each way and the handshake time,
 * and the connection's record when it ends. It reads only the records that carry the hellos;
 * the records after them are the decrypting session's (tier 2), which tells it the ALPN a
 * TLS 1.3 server chose in its encrypted extensions.
 *
 * Hostile input: a hello is gathered within the shared budget and bounded, and one that cannot
 * be read is counted (once a connection), never guessed.
 */
import type { ByteBudget } from '../protocol/byteBudget';
import { orientFlow, type Endpoints } from '../protocol/flowContext';
import type { CaptureStats, TlsConnection } from '../types';
import { cipherSuiteName } from './decrypt';
import { HELLO, alpnFromEncryptedHandshake, parseClientHello, parseServerHello, type ClientHello, type ServerHello } from './handshake';
import { HandshakeAssembler } from './records';

/** The random of a TLS 1.3 HelloRetryRequest (RFC 8446 §4.1.3): not the real ServerHello. */
const RETRY_REQUEST_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');
const NO_RANDOM = Buffer.alloc(0);

/** What a record that carried (part of) a hello came to. */
export const enum HelloStep {
  /** Nothing to act on: more of the hello is to come, or it is passed over (a HelloRetryRequest, the ClientHello that answers it). */
  Pending,
  /** The ClientHello or the ServerHello was read. */
  Read,
  /** The hello cannot be read (malformed, unexpected, too large, no budget): counted. */
  Lost,
}

/** What tier 2 (decryption) reads of the handshake, and tells it. */
export interface HandshakeView {
  readonly clientHello: ClientHello | null;
  readonly serverHello: ServerHello | null;
  /** Which side sent the ClientHello (null: not seen). */
  readonly clientIsA: boolean | null;
  /** The protocol chosen by ALPN, as far as known. */
  readonly alpn: string;
  /** TLS 1.3: the server's decrypted handshake messages (its ALPN choice is in them). */
  readEncryptedHandshake(messages: Buffer): void;
}

/** One side of the connection: its bytes, and the hello it is expected to send. */
class HelloSide {
  bytes = 0;
  firstTs = -1;
  lastTs = -1;
  /** Gathers the hello this side sends; null once read, lost or no longer expected. */
  hello: HandshakeAssembler | null;
  /** Its records are no longer read: no hello is expected from it again. */
  closed = false;

  constructor(budget: ByteBudget) {
    this.hello = new HandshakeAssembler(budget);
  }
}

/** The handshake metadata of one TLS connection. */
export class HandshakeObserver implements HandshakeView {
  private readonly a: HelloSide;
  private readonly b: HelloSide;
  private client: ClientHello | null = null;
  private server: ServerHello | null = null;
  /** Which side sent the ClientHello (null: not seen). */
  private clientSide: boolean | null = null;
  private helloTs = -1;
  private serverAnswerTs = -1;
  private helloFailed = false;
  /** The server sent a HelloRetryRequest. */
  private retried = false;
  /** TLS 1.3: the ALPN choice read from the decrypted EncryptedExtensions. */
  private encryptedAlpn = '';

  /** `keepRandoms`: the hellos' randoms are kept (a key log names a connection's secrets by them); else let go. */
  constructor(
    private readonly stats: CaptureStats,
    private readonly budget: ByteBudget,
    private readonly maxStrLength: number,
    private readonly keepRandoms: boolean,
  ) {
    this.a = new HelloSide(budget);
    this.b = new HelloSide(budget);
  }

  /** The ClientHello, once read. */
  get clientHello(): ClientHello | null {
    return this.client;
  }

  /** The ServerHello (the real one, not a HelloRetryRequest), once read. */
  get serverHello(): ServerHello | null {
    return this.server;
  }

  /** Which side is the client: the ClientHello's sender, else the ServerHello's peer (null: neither seen). */
  get clientIsA(): boolean | null {
    return this.clientSide;
  }

  /** The protocol chosen by ALPN: in the ServerHello, or (TLS 1.3) in its encrypted extensions. */
  get alpn(): string {
    const server = this.server;
    return server !== null && server.alpn !== '' ? server.alpn : this.encryptedAlpn;
  }

  /** `length` bytes sent by A (`fromA`) or B at `ts`. */
  onBytes(fromA: boolean, length: number, ts: number): void {
    const side = fromA ? this.a : this.b;
    side.bytes += length;
    if (side.firstTs < 0) side.firstTs = ts;
    side.lastTs = ts;
    if (this.clientSide !== null && fromA !== this.clientSide && this.serverAnswerTs < 0) this.serverAnswerTs = ts;
  }

  /** `missing` bytes (-1: unknown) sent by A or B were not captured. */
  onMissing(fromA: boolean, missing: number): void {
    if (missing > 0) (fromA ? this.a : this.b).bytes += missing;
  }

  /** Is a hello expected from this side (its next handshake record is read here)? */
  readsHello(fromA: boolean): boolean {
    return (fromA ? this.a : this.b).hello !== null;
  }

  /** A plaintext handshake record of a side that `readsHello`. */
  onHelloRecord(fromA: boolean, body: Buffer, start: number, end: number, ts: number): HelloStep {
    const side = fromA ? this.a : this.b;
    const message = side.hello!.add(body, start, end);
    if (message === false) return this.helloLost(fromA);
    return message === null ? HelloStep.Pending : this.onHello(side, fromA, message.type, message.body, ts);
  }

  /** The hello this side was sending cannot be read (a gap, no budget, a record of another kind): counted once a connection. */
  helloLost(fromA: boolean): HelloStep.Lost {
    const side = fromA ? this.a : this.b;
    side.hello?.release();
    side.hello = null;
    if (!this.helloFailed) {
      this.helloFailed = true;
      this.stats.tlsHelloErrors++;
    }
    return HelloStep.Lost;
  }

  /** No more records of this side are read: a hello it was sending is let go. */
  close(fromA: boolean): void {
    const side = fromA ? this.a : this.b;
    side.closed = true;
    side.hello?.release();
    side.hello = null;
  }

  /** TLS 1.3: the server's decrypted handshake messages, where its ALPN choice is. */
  readEncryptedHandshake(messages: Buffer): void {
    if (this.encryptedAlpn === '') this.encryptedAlpn = alpnFromEncryptedHandshake(messages, this.maxStrLength);
  }

  private onHello(side: HelloSide, fromA: boolean, type: number, body: Buffer, ts: number): HelloStep {
    side.hello = null;
    if (type === HELLO.CLIENT && this.client !== null && this.retried) {
      // The ClientHello that answers a HelloRetryRequest: same random, same name; the first one stands.
      return HelloStep.Pending;
    }
    if (type === HELLO.CLIENT && this.client === null) {
      const hello = parseClientHello(body, this.maxStrLength);
      if (hello === null) return this.helloLost(fromA);
      if (!this.keepRandoms) hello.random = NO_RANDOM;
      this.client = hello;
      this.clientSide = fromA;
      this.helloTs = ts;
      return HelloStep.Read;
    }
    if (type === HELLO.SERVER && this.server === null) {
      const hello = parseServerHello(body, this.maxStrLength);
      if (hello === null) return this.helloLost(fromA);
      if (hello.random.equals(RETRY_REQUEST_RANDOM)) {
        // A HelloRetryRequest: the real ServerHello follows, after a second ClientHello.
        this.retried = true;
        side.hello = new HandshakeAssembler(this.budget);
        const client = fromA ? this.b : this.a;
        if (!client.closed) client.hello = new HandshakeAssembler(this.budget);
        return HelloStep.Pending;
      }
      if (!this.keepRandoms) hello.random = NO_RANDOM;
      this.server = hello;
      if (this.clientSide === null) this.clientSide = !fromA;
      return HelloStep.Read;
    }
    return this.helloLost(fromA);
  }

  /** The connection's record: `decrypted` and `requests` are tier 2's. */
  connection(e: Endpoints, decrypted: boolean, requests: number): TlsConnection {
    // Without a ClientHello, the side with the lower port is taken for the server.
    const clientIsA = this.clientSide ?? e.portA > e.portB;
    const flow = orientFlow(e, clientIsA);
    const client = clientIsA ? this.a : this.b;
    const server = clientIsA ? this.b : this.a;
    const first = Math.min(...[this.a.firstTs, this.b.firstTs].filter((t) => t >= 0));
    const ts = this.helloTs >= 0 ? this.helloTs : first;
    const last = Math.max(this.a.lastTs, this.b.lastTs);
    const ch = this.client;
    const sh = this.server;
    return {
      ts: Number.isFinite(ts) ? ts : 0,
      src: flow.src,
      sport: flow.sport,
      dst: flow.dst,
      dport: flow.dport,
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
      decrypted,
      requests,
    };
  }
}
