/**
 * Where an HTTP/1 connection's bytes go once a request may have switched it to another protocol
 * (an Upgrade, a CONNECT). The client's bytes after such a request are held until the answer:
 * the client may send the new protocol's first bytes (an HTTP/2 preface) before the server's
 * 101 reaches the capture in our order, the two directions being separate streams. A switch
 * hands them, and from then on both directions, to the stream nested in the connection; a
 * refusal hands them back to the client's parser, as HTTP/1.
 */
import type { ByteBudget } from '../../protocol/byteBudget';
import type { NestedFlow } from '../../protocol/flowContext';
import { HeldStream } from '../../protocol/heldStream';
import type { MessageParser } from './messageParser';

/** One connection's switch: the held client bytes, then the nested stream. */
export class ProtocolSwitch {
  /** The stream the connection switched to; null before a switch. */
  nested: NestedFlow | null = null;
  private readonly held: HeldStream;
  /** The client's bytes are held until the answer to its request. */
  private holding = false;
  /** The client is the sender of A's bytes. */
  private clientIsA = true;
  /** When the client's direction ended (FIN) while held, or -1. */
  private clientEndTs = -1;

  /** Held bytes are bounded by `maxHeldBytes` and charged to `budget` (the head buffers'). */
  constructor(budget: ByteBudget, maxHeldBytes: number) {
    this.held = new HeldStream(budget, maxHeldBytes);
  }

  /** The client (the sender of A's bytes when `clientIsA`) asked for a switch: its next bytes are held. */
  hold(clientIsA: boolean): void {
    this.holding = true;
    this.clientIsA = clientIsA;
    this.clientEndTs = -1;
  }

  /** The answer switched the connection to `nested`: what the client sent since goes to it first. */
  switchTo(nested: NestedFlow): void {
    this.nested = nested;
    if (!this.holding) return;
    this.holding = false;
    this.held.replayTo(this.clientIsA ? nested.a : nested.b);
    if (this.clientEndTs >= 0) nested.finish(this.clientIsA, this.clientEndTs);
  }

  /** The answer refused the switch: what the client sent since is HTTP/1 again, for `client` to read. */
  refuse(client: MessageParser): void {
    if (!this.holding) return;
    this.holding = false;
    const endTs = this.clientEndTs;
    client.resume();
    // The bytes replayed may hold another such request: the client is then held again.
    this.held.replayTo(client);
    if (endTs >= 0) {
      client.finish(endTs);
      this.finish(this.clientIsA, endTs);
    }
  }

  /** Bytes of a direction its parser no longer reads. */
  push(fromA: boolean, buf: Buffer, start: number, end: number, ts: number): void {
    const nested = this.nested;
    if (nested !== null) (fromA ? nested.a : nested.b).push(buf, start, end, ts);
    else if (this.holding && fromA === this.clientIsA) this.held.push(buf, start, end, ts);
  }

  /** Bytes lost in a direction its parser no longer reads. */
  gap(fromA: boolean, ts: number, missing: number): void {
    const nested = this.nested;
    if (nested !== null) (fromA ? nested.a : nested.b).gap(ts, missing);
    else if (this.holding && fromA === this.clientIsA) this.held.gap(ts, missing);
  }

  /** A direction ended (FIN). */
  finish(fromA: boolean, ts: number): void {
    if (this.nested !== null) this.nested.finish(fromA, ts);
    else if (this.holding && fromA === this.clientIsA) this.clientEndTs = ts;
  }

  /** Request time of the oldest transaction the nested stream has not emitted, or Infinity. */
  get oldestPendingTs(): number {
    return this.nested?.oldestPendingTs ?? Infinity;
  }

  /** The connection is over: the nested stream ends; bytes still held (no answer came) are dropped. */
  close(ts: number): void {
    this.nested?.close(ts);
    this.reset();
  }

  /** Back to a new connection's state, giving back what is held. */
  reset(): void {
    this.nested = null;
    this.holding = false;
    this.clientEndTs = -1;
    this.held.clear();
  }
}
