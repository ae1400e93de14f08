/**
 * TLS as a protocol of the dispatcher: a connection whose first bytes are a TLS record. Its
 * session reads the hellos (and, with a key log, decrypts), reports the connection when it
 * ends, and hands the plaintext back to the dispatcher as a nested stream.
 */
import type { ByteBudget } from '../protocol/byteBudget';
import { NestedKind, type FlowContext, type NestedFlow } from '../protocol/flowContext';
import { Probe, type Protocol, type ProtocolSession } from '../protocol/protocol';
import type { StreamReceiver } from '../protocol/streamReceiver';
import type { KeyLog } from './keyLog';
import { SESSION_COST, TlsSession, type SessionOwner } from './session';

/** What TLS sessions draw on. */
export interface TlsLimits {
  maxStrLength: number;
  /** Hellos and records gathered across segments (a hello is a handshake's head). */
  headBuffers: ByteBudget;
  /** What sessions cost beyond their connection (they take room among the connections). */
  sessionCosts: ByteBudget;
}

/** Content types 20–23 (change_cipher_spec, alert, handshake, application_data). */
function isRecordType(byte: number): boolean {
  return byte >= 0x14 && byte <= 0x17;
}

/** One direction of a TLS connection: bytes to the session, unless that direction has ended. */
class TlsDirection implements StreamReceiver {
  ended = false;
  constructor(private readonly owner: TlsFlowSession, private readonly fromA: boolean) {}

  push(buf: Buffer, start: number, end: number, ts: number): void {
    if (!this.ended) this.owner.tls.push(this.fromA, buf, start, end, ts);
  }

  gap(ts: number, missing: number): void {
    if (!this.ended) this.owner.tls.gap(this.fromA, missing, ts);
  }
}

/** One connection's TLS, and the stream nested in it once decrypted. */
class TlsFlowSession implements ProtocolSession, SessionOwner {
  readonly a: TlsDirection;
  readonly b: TlsDirection;
  readonly tls: TlsSession;
  private nested: NestedFlow | null = null;

  constructor(private readonly context: FlowContext, limits: TlsLimits, keyLog: KeyLog | null, private readonly costs: ByteBudget) {
    this.a = new TlsDirection(this, true);
    this.b = new TlsDirection(this, false);
    this.tls = new TlsSession(context.endpoints, context.stats, limits.headBuffers, keyLog, limits.maxStrLength, this);
  }

  acceptsPlaintext(alpn: string): boolean {
    return this.context.acceptsNested(alpn);
  }

  plaintextReceivers(alpn: string): [StreamReceiver, StreamReceiver] {
    this.nested ??= this.context.openNested(alpn, { kind: NestedKind.TlsPlaintext, serverName: this.tls.serverName });
    return [this.nested.a, this.nested.b];
  }

  get decryptedRequests(): number {
    return this.nested?.transactions ?? 0;
  }

  get oldestPendingTs(): number {
    return this.nested?.oldestPendingTs ?? Infinity;
  }

  finish(fromA: boolean): void {
    (fromA ? this.a : this.b).ended = true;
  }

  /** Records waiting for secrets get a last look, the decrypted stream ends (so the record counts its requests), then the record goes out. */
  close(ts: number): void {
    this.a.ended = true;
    this.b.ended = true;
    this.tls.finishWaiting();
    this.nested?.close(ts);
    const record = this.tls.end();
    this.costs.give(SESSION_COST);
    if (record !== null) this.context.emitTls(record);
  }
}

/** TLS: probe and sessions. */
export class TlsProtocol implements Protocol {
  readonly name = 'tls';
  readonly alpn = [] as const;

  /** `keyLog`: secrets to decrypt with (`--keylog`), or none. */
  constructor(private readonly limits: TlsLimits, private readonly keyLog: KeyLog | null) {}

  /**
   * A record header: a content type, then version 3.x. At a stream's start one byte of it is
   * enough (no HTTP message starts with those bytes); joined mid-way, a segment must start with
   * the type, 3 and a minor version up to 4.
   */
  probe(buf: Buffer, start: number, end: number, midStream: boolean): Probe {
    if (!isRecordType(buf[start])) return Probe.No;
    if (midStream) return end - start >= 3 && buf[start + 1] === 3 && buf[start + 2] <= 4 ? Probe.Yes : Probe.No;
    return end - start === 1 || buf[start + 1] === 3 ? Probe.Yes : Probe.No;
  }

  /** A session takes room among the connections; refused (counted as a hello error) when even that is spent. */
  open(context: FlowContext): ProtocolSession | null {
    if (!this.limits.sessionCosts.take(SESSION_COST)) {
      context.stats.tlsHelloErrors++;
      return null;
    }
    context.stats.tlsFlows++;
    return new TlsFlowSession(context, this.limits, this.keyLog, this.limits.sessionCosts);
  }

  /** TLS sessions are not pooled: they are few beside plain connections, and hold buffers of their own. */
  recycle(): void {}
}
