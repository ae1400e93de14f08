/**
 * A direction's bytes held while it is not yet known who reads them (the client's bytes after
 * an HTTP/1 Upgrade or CONNECT request, until the answer), then handed on in order. Bounded:
 * each piece is charged its bytes and the object that holds it, to its own cap and to a shared
 * budget; past either, the rest is not kept (counted as refused) and its receiver is told of a gap.
 */
import type { ByteBudget } from './byteBudget';
import type { StreamReceiver } from './streamReceiver';

/** What holding one piece costs beyond its bytes (its record and the Buffer object). */
const PIECE_COST = 96;

/** One push (`data`) or one gap (`data` null) received while holding. */
interface Piece {
  data: Buffer | null;
  ts: number;
  missing: number;
}

/** Bytes received and kept until replayTo(), bounded by `maxBytes` and by `budget`. */
export class HeldStream implements StreamReceiver {
  private pieces: Piece[] = [];
  /** What the pieces kept cost, taken from the budget. */
  private charged = 0;
  /** A piece did not fit: nothing more is kept until the next replay. */
  private full = false;
  /** Bytes not kept since then (-1: unknown, a gap of unknown size among them), and when the first was. */
  private dropped = 0;
  private droppedTs = 0;

  constructor(private readonly budget: ByteBudget, private readonly maxBytes: number) {}

  push(buf: Buffer, start: number, end: number, ts: number): void {
    const bytes = end - start;
    if (bytes <= 0) return;
    if (!this.full && this.admit(bytes + PIECE_COST)) {
      // An own copy: the capture's buffer is reused for the next packet.
      this.pieces.push({ data: Buffer.from(buf.subarray(start, end)), ts, missing: 0 });
      return;
    }
    this.drop(ts, bytes);
  }

  gap(ts: number, missing: number): void {
    if (!this.full && this.admit(PIECE_COST)) {
      this.pieces.push({ data: null, ts, missing });
      return;
    }
    this.drop(ts, missing);
  }

  /** Hands everything held, in order, to `receiver` (what was dropped past the bound as one gap), then holds nothing. */
  replayTo(receiver: StreamReceiver): void {
    // Detached first: the receiver may hand bytes back to this holder while it reads these.
    const pieces = this.pieces;
    const full = this.full;
    const dropped = this.dropped;
    const droppedTs = this.droppedTs;
    this.clear();
    for (const piece of pieces) {
      if (piece.data === null) receiver.gap(piece.ts, piece.missing);
      else receiver.push(piece.data, 0, piece.data.length, piece.ts);
    }
    if (full) receiver.gap(droppedTs, dropped);
  }

  /** Forgets what is held, giving its cost back to the budget. */
  clear(): void {
    this.budget.give(this.charged);
    this.charged = 0;
    this.pieces = [];
    this.full = false;
    this.dropped = 0;
    this.droppedTs = 0;
  }

  /** Takes `cost` within the cap and the budget; false (counted as refused by the budget) when it does not fit. */
  private admit(cost: number): boolean {
    if (this.charged + cost > this.maxBytes) return this.budget.refuse();
    if (!this.budget.take(cost)) return false;
    this.charged += cost;
    return true;
  }

  /** `missing` bytes (-1: unknown) not kept: the receiver will be told of them as a gap. */
  private drop(ts: number, missing: number): void {
    if (!this.full) {
      this.full = true;
      this.droppedTs = ts;
    }
    if (missing < 0) this.dropped = -1;
    else if (this.dropped >= 0) this.dropped += missing;
  }
}
