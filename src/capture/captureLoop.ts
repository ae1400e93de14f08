/**
 * The capture's main loop, the same for every source: read the frames that are ready, run them
 * through the pipeline, post finished transactions in batches and capture health every
 * ~100 ms (every ~250 ms on a live capture of one worker that has read nothing since), then
 * wait for more. It never waits for the main thread on a live capture (the kernel
 * would drop packets meanwhile): there, transactions the main thread has no room for are
 * dropped and counted. A file or the demo waits for the main thread instead.
 */
import { BatchEncoder, ENCODED_BYTES_PER_EVENT, transferList } from './eventBatch';
import type { FromWorker } from './messages';
import { END, pauseThread, yieldToLoop, type PacketSource } from './packetSource';
import type { CapturePipeline } from './pipeline';
import type { HttpEvent } from '../types';

/** Where the loop's messages go (the worker's parent port, the main thread's capture, or a test's recorder). */
export interface MessageOut {
  post(message: FromWorker, transfer?: ArrayBuffer[]): void;
  /**
   * Takes transactions as they are, in this thread (a capture on the main thread): no batch is
   * encoded. Without it, they are posted as encoded `events` messages.
   */
  deliver?(events: HttpEvent[], watermark: number): void;
}

/** Wall-clock period of flushes and capture-health messages. */
export const FLUSH_MS = 100;
/**
 * The period on a live capture that has read nothing since its last health message. An idle
 * capture has nothing to flush, and its messages only move the clock on: ten a second were half
 * the capture thread's idle CPU and a tenth of the main thread's. The dashboard's second still
 * closes within a quarter of a second, and a packet after a quiet spell leaves within FLUSH_MS,
 * as before. Not for one of several workers: the merge holds every worker's transactions until
 * the slowest clock has passed them, and an idle worker's clock is its messages.
 */
export const IDLE_FLUSH_MS = 250;
/** Events posted in one message at most; more are split (a small batch keeps its buffers out of V8's large-object space, which only full GCs free). */
export const MAX_BATCH = 512;
/**
 * Characters of strings posted in one message at most: 512 transactions with 8 KB URIs would
 * make one 4 MB message, which the budget of batches in flight could then not divide.
 */
export const MAX_BATCH_CHARS = 256 * 1024;
/** Event messages a file or the demo may have in flight before it waits for the main thread. */
export const MAX_BATCHES_IN_FLIGHT = 16;
/**
 * Event messages a live capture may have in flight: past this the main thread is well behind
 * (~1 s at 30,000 transactions/s), and new transactions are dropped and counted rather than
 * queued without bound.
 */
export const MAX_LIVE_BATCHES_IN_FLIGHT = 64;

/** Runs one capture from its source to its last message. */
export class CaptureLoop {
  private stopRequested = false;
  private batchesInFlight = 0;
  /** Sizes of the batches in flight, oldest first, and their sum (acknowledged in order). */
  private readonly sizesInFlight: number[] = [];
  private bytesInFlight = 0;
  /** Wakes the loop from a wait (stop, or the main thread caught up). */
  private wake: (() => void) | null = null;
  private waitingForMainThread = false;
  /** Made at the first batch it encodes: a loop on the main thread hands its transactions over as they are, and never does (its scratch space is ~260 KB). */
  private encoder: BatchEncoder | null = null;
  /** A transaction or TLS connection has been posted: from then on the stats may carry the watermark. */
  private postedData = false;

  /** `maxBytesInFlight`: what the batches not yet taken in may hold (memory_budget_mb's share). */
  constructor(
    private readonly source: PacketSource,
    private readonly pipeline: CapturePipeline,
    private readonly out: MessageOut,
    private readonly maxBytesInFlight = Infinity,
  ) {}

  /** Asks the loop to end: it stops reading, flushes what it has and posts `stopped`. */
  stop(): void {
    this.stopRequested = true;
    this.wakeUp();
  }

  /** The main thread has taken in `batches` more event messages. */
  acknowledge(batches: number): void {
    this.batchesInFlight -= batches;
    for (let i = 0; i < batches && this.sizesInFlight.length > 0; i++) this.bytesInFlight -= this.sizesInFlight.shift()!;
    if (this.waitingForMainThread && !this.behind(MAX_BATCHES_IN_FLIGHT / 2, this.maxBytesInFlight / 2)) this.wakeUp();
  }

  /** Reads the source to its end, or until stop(); posts `eof` or `stopped` last. */
  async run(): Promise<void> {
    const { source, pipeline } = this;
    // Periods are timed on the monotonic clock: a wall clock set back must not stop the flushes.
    let lastFlush = performance.now();
    let readSinceFlush = false;
    try {
      // Inside: whatever ends the loop, from its first message on, closes the source.
      this.out.post({ type: 'ready', source: source.name, linkType: source.linkType });
      while (!this.stopRequested) {
        const read = source.read(pipeline);
        if (read === END) break;
        if (read > 0) readSinceFlush = true;
        // Live data time also moves with the wall clock, so idle connections expire in silence.
        pipeline.tick(source.live ? Date.now() / 1000 - (source.clockLag ?? 0) : Math.max(pipeline.now, source.dataTime?.() ?? -Infinity));
        const now = performance.now();
        const due = now - lastFlush >= this.flushPeriod(readSinceFlush);
        // A file flushes every read, so transactions leave before they age into V8's old generation.
        if (due || (read > 0 && !source.live)) this.flush();
        if (due) {
          this.postStats();
          lastFlush = now;
          readSinceFlush = false;
        }
        if (read > 0) {
          const linger = source.lingerMs?.() ?? 0;
          if (linger > 0) pauseThread(linger);
          // Let `stop` and acks in between reads; a file also lets the main thread catch up.
          await yieldToLoop();
          if (!source.live) await this.waitForMainThread();
        } else {
          await this.waitFor(source.wait(Math.max(1, this.flushPeriod(readSinceFlush) - (performance.now() - lastFlush))));
        }
      }
      const last = this.pipeline.finish();
      this.postTls();
      this.postEvents(last);
      this.postStats();
    } finally {
      source.close();
    }
    this.out.post(this.stopRequested ? { type: 'stopped' } : { type: 'eof' });
  }

  /** Milliseconds between flushes: longer on a live capture of one worker that has read nothing since the last. */
  private flushPeriod(readSinceFlush: boolean): number {
    // A worker of several lags its clock behind the wall's (clockLag); one alone does not.
    const alone = (this.source.clockLag ?? 0) === 0;
    return this.source.live && alone && !readSinceFlush ? IDLE_FLUSH_MS : FLUSH_MS;
  }

  private flush(): void {
    // TLS connections first: they are counted when they end, before the watermark that the
    // transactions' message carries closes that second.
    this.postTls();
    const events = this.pipeline.release();
    if (events.length > 0) this.postEvents(events);
  }

  /**
   * TLS connection records: one per connection, few beside transactions, so sent as they are
   * (structured clone), but in flight like a batch: a flood of them is held back (a file) or
   * dropped and counted (live) like transactions.
   */
  private postTls(): void {
    const connections = this.pipeline.releaseTls();
    if (connections.length === 0) return;
    if (this.source.live && this.behind(MAX_LIVE_BATCHES_IN_FLIGHT - 1, this.maxBytesInFlight)) {
      this.pipeline.stats.eventsDropped += connections.length;
      return;
    }
    let cost = 0;
    for (const c of connections) {
      cost += 300 + 2 * (c.serverName.length + c.src.length + c.dst.length + c.cipher.length + c.alpn.length);
      for (const text of c.alpnOffered) cost += 40 + 2 * text.length;
      cost += 40 * c.versionsOffered.length;
    }
    // Counted in flight before it goes: a capture on the main thread acknowledges it at once.
    this.inFlight(cost);
    this.out.post({ type: 'tls', connections });
    this.postedData = true;
  }

  private inFlight(bytes: number): void {
    this.batchesInFlight++;
    this.sizesInFlight.push(bytes);
    this.bytesInFlight += bytes;
  }

  private postStats(): void {
    const { pipeline } = this;
    this.source.updateHealth(pipeline.stats);
    // A file's or the demo's data time begins with its first transaction. Stats go out on a
    // wall-clock period: had they carried the watermark before the first batch, whether the
    // main thread closed an empty second first (and learned a lower baseline) would depend on
    // which message came first. Live time moves with the wall clock anyway.
    const watermark = this.source.live || this.postedData ? pipeline.watermark : -Infinity;
    this.out.post({ type: 'stats', stats: { ...pipeline.stats }, now: pipeline.now, watermark, pipelineWatermark: pipeline.watermark });
  }

  private postEvents(events: HttpEvent[]): void {
    for (let i = 0, end = 0; i < events.length; i = end) {
      if (this.source.live && this.behind(MAX_LIVE_BATCHES_IN_FLIGHT - 1, this.maxBytesInFlight)) {
        this.pipeline.stats.eventsDropped += events.length - i;
        return;
      }
      const chars = batchChars(events, i);
      end = chars.end;
      const slice = i === 0 && end === events.length ? events : events.slice(i, end);
      // Events are in time order: until the last batch, everything before the next batch's first
      // event has been sent; after it, everything before the pipeline's watermark.
      const watermark = end < events.length ? events[end].ts : this.pipeline.watermark;
      this.postedData = true;
      if (this.out.deliver !== undefined) {
        // What the batch would take encoded: its numbers and string indices, and its characters.
        this.inFlight((end - i) * ENCODED_BYTES_PER_EVENT + chars.chars);
        this.out.deliver(slice, watermark);
        continue;
      }
      const batch = (this.encoder ??= new BatchEncoder()).encode(slice);
      this.inFlight(batch.buffer.byteLength);
      this.out.post({ type: 'events', batch, watermark }, transferList(batch));
    }
  }

  /** Waits while the main thread is behind (files and the demo only: live never waits). */
  private async waitForMainThread(): Promise<void> {
    this.waitingForMainThread = true;
    while (this.behind(MAX_BATCHES_IN_FLIGHT, this.maxBytesInFlight) && !this.stopRequested) {
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
    this.waitingForMainThread = false;
  }

  /** More than `batches` batches or `bytes` bytes are in flight. */
  private behind(batches: number, bytes: number): boolean {
    return this.batchesInFlight > batches || this.bytesInFlight > bytes;
  }

  /** Waits for `promise`, or less if the loop is woken. */
  private waitFor(promise: Promise<void>): Promise<void> {
    return Promise.race([promise, new Promise<void>((resolve) => { this.wake = resolve; })]);
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/**
 * Where the batch starting at `start` ends: MAX_BATCH events, or fewer that carry
 * MAX_BATCH_CHARS; and the characters of its strings.
 */
function batchChars(events: readonly HttpEvent[], start: number): { end: number; chars: number } {
  const last = Math.min(events.length, start + MAX_BATCH);
  let chars = 0;
  for (let i = start; i < last; i++) {
    const e = events[i];
    const more = e.uri.length + e.host.length + e.ua.length + e.route.length + e.section.length + e.client.length + e.method.length
      + e.requestHeaders.length + e.responseHeaders.length + (e.grpcMethod?.length ?? 0) + (e.grpcMessage?.length ?? 0);
    if (chars + more > MAX_BATCH_CHARS) return { end: Math.max(i, start + 1), chars: i === start ? more : chars };
    chars += more;
  }
  return { end: last, chars };
}
