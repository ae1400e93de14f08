/**
 * The capture worker: owns everything that touches packets. It reads frames from a live
 * interface, a capture file or the demo generator, runs them through the CapturePipeline and
 * posts batches of transactions and capture statistics to the main thread. A `stop` message
 * closes the source, flushes what is left and answers `stopped`.
 */
import { parentPort, workerData } from 'worker_threads';
import { WiretopError } from '../errors';
import { generateTraffic } from '../generate/traffic';
import { demoProfile } from '../generate/demo';
import { CaptureFileReader } from './captureFile';
import { encodeEvents, transferList } from './eventBatch';
import { captureLimits } from './limits';
import type { CaptureRequest, FromWorker, ToWorker } from './messages';
import { CapturePipeline } from './pipeline';
import type { HttpEvent } from '../types';

/** Events posted in one message at most; more are split (a small batch keeps its joined string out of V8's large-object space, which only full GCs free). */
const MAX_BATCH = 512;
/** Wall-clock period of flushes and stats messages. */
const FLUSH_MS = 100;
/**
 * Packets read from a file between flushes and looks at the event loop (stop messages, acks).
 * Small enough that finished transactions leave before they age into V8's old generation.
 */
const PACKETS_PER_SLICE = 8192;

const port = parentPort!;
const request = workerData as CaptureRequest;
const pipeline = new CapturePipeline(captureLimits(request.maxStrLength), request.timeout,
  request.source.kind === 'file' && request.source.ports !== null ? new Set(request.source.ports) : null);
let stopRequested = false;
/** Event messages posted and not yet acknowledged by the main thread. */
let batchesInFlight = 0;
/** Resolves a reader waiting for the main thread to catch up. */
let onCaughtUp: (() => void) | null = null;

function post(message: FromWorker): void {
  port.postMessage(message);
}

/**
 * A live capture cannot pause: when the main thread has this many batches still to take in,
 * new transactions are dropped (and counted) rather than queued without bound.
 */
const MAX_LIVE_BATCHES_IN_FLIGHT = 256;

function postEvents(events: HttpEvent[]): void {
  if (request.source.kind === 'live' && batchesInFlight >= MAX_LIVE_BATCHES_IN_FLIGHT) {
    pipeline.stats.eventsDropped += events.length;
    return;
  }
  for (let i = 0; i < events.length; i += MAX_BATCH) {
    const end = Math.min(events.length, i + MAX_BATCH);
    const batch = encodeEvents(i === 0 && end === events.length ? events : events.slice(i, end));
    // Events are in time order: until the last batch, everything before the next batch's first
    // event has been sent; after it, everything before the pipeline's watermark.
    const watermark = end < events.length ? events[end].ts : pipeline.watermark;
    const message: FromWorker = { type: 'events', batch, watermark };
    port.postMessage(message, transferList(batch));
    batchesInFlight++;
  }
}

/** Batches the main thread may have queued before a file or demo reader waits for it. */
const MAX_BATCHES_IN_FLIGHT = 16;

/**
 * Waits while the main thread is behind, so a capture file read at full speed cannot pile up
 * messages in memory faster than they are taken in. (Live capture cannot wait: it never does.)
 */
async function waitForMainThread(): Promise<void> {
  while (batchesInFlight > MAX_BATCHES_IN_FLIGHT && !stopRequested) {
    await new Promise<void>((resolve) => { onCaughtUp = resolve; });
  }
}

function flush(): void {
  const events = pipeline.release();
  if (events.length > 0) postEvents(events);
}

function postStats(): void {
  post({ type: 'stats', stats: { ...pipeline.stats }, now: pipeline.now, watermark: pipeline.watermark });
}

function fail(error: unknown): void {
  if (error instanceof WiretopError) post({ type: 'error', kind: error.kind, message: error.message });
  else post({ type: 'error', kind: 'capture', message: `capture failed: ${(error as Error).message}` });
}

/** Loaded only when needed: file reading and the demo never load the native addon. */
function loadLibpcapModule(): typeof import('./liveCapture') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./liveCapture') as typeof import('./liveCapture');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'stop':
      stopRequested = true;
      onStop?.();
      onCaughtUp?.();
      break;
    case 'ack':
      batchesInFlight -= message.batches;
      if (batchesInFlight <= MAX_BATCHES_IN_FLIGHT / 2 && onCaughtUp !== null) {
        const resume = onCaughtUp;
        onCaughtUp = null;
        resume();
      }
      break;
  }
});

/** Set by a source that must react to `stop` at once (live capture). */
let onStop: (() => void) | null = null;

/** Paces frames at capture timing × speed against the wall clock (speed 0: no pacing). */
class Pacer {
  private firstTs = -1;
  private wallStart = 0;
  constructor(private readonly speed: number) {}

  /** Milliseconds to wait before the frame at `ts` is due. */
  delayFor(ts: number): number {
    if (this.speed <= 0) return 0;
    if (this.firstTs < 0) {
      this.firstTs = ts;
      this.wallStart = Date.now();
      return 0;
    }
    const due = this.wallStart + ((ts - this.firstTs) * 1000) / this.speed;
    return due - Date.now();
  }
}

function finishAndReport(): void {
  postEvents(pipeline.finish());
  postStats();
}

async function readFile(path: string, speed: number): Promise<void> {
  const reader = new CaptureFileReader(path);
  post({ type: 'ready', source: path === '-' ? 'stdin' : path, linkType: reader.linkType });
  const pacer = new Pacer(speed);
  let lastFlush = Date.now();
  try {
    for (;;) {
      let packet = null;
      for (let n = 0; n < PACKETS_PER_SLICE; n++) {
        packet = reader.next();
        if (packet === null) break;
        const wait = pacer.delayFor(packet.ts);
        if (wait > 1) {
          flush();
          postStats();
          lastFlush = Date.now();
          await sleep(Math.min(wait, FLUSH_MS));
          if (stopRequested) return;
          // The reader's view survived the wait: nothing else reads the file meanwhile.
        }
        pipeline.onFrame(packet.buf, packet.offset, packet.caplen, packet.ts, packet.linkType);
        if (n % 1024 === 0) pipeline.tick(pipeline.now);
      }
      pipeline.tick(pipeline.now);
      flush();
      if (packet === null || Date.now() - lastFlush >= FLUSH_MS) {
        postStats();
        lastFlush = Date.now();
      }
      if (packet === null) break;
      await yieldToLoop();
      await waitForMainThread();
      if (stopRequested) return;
    }
    if (reader.truncated) pipeline.stats.decodeErrors++;
  } finally {
    reader.close();
  }
}

/**
 * A BPF filter on a file needs libpcap's filter engine, so libpcap reads the file (at full
 * speed, in one go: its offline dispatch cannot be paced or interrupted).
 */
async function readFilteredFile(path: string, filter: string): Promise<void> {
  const { readFileThroughLibpcap } = loadLibpcapModule();
  await readFileThroughLibpcap(path, filter, (buf, caplen, ts, linkType) => pipeline.onFrame(buf, 0, caplen, ts, linkType),
    (linkType) => post({ type: 'ready', source: path, linkType }));
}

async function runDemo(seed: number, speed: number): Promise<void> {
  post({ type: 'ready', source: 'demo', linkType: 1 });
  const profile = demoProfile(Date.now() / 1000, seed);
  const pacer = new Pacer(speed);
  let lastFlush = Date.now();
  let frames = 0;
  for (const { ts, frame } of generateTraffic(profile)) {
    const wait = pacer.delayFor(ts);
    if (wait > 1) {
      await sleep(Math.min(wait, FLUSH_MS));
      if (stopRequested) return;
    }
    pipeline.onFrame(frame, 0, frame.length, ts, 1);
    // Unpaced (--speed 0), the generator would never let the loop see `stop` or acks.
    const sliceDone = ++frames % PACKETS_PER_SLICE === 0;
    if (sliceDone || Date.now() - lastFlush >= FLUSH_MS) {
      pipeline.tick(pipeline.now);
      flush();
      postStats();
      lastFlush = Date.now();
    }
    if (sliceDone) {
      await yieldToLoop();
      await waitForMainThread();
      if (stopRequested) return;
    }
  }
}

async function runLive(iface: string, filter: string): Promise<void> {
  const { LiveCapture } = loadLibpcapModule();
  const live = new LiveCapture(iface, filter, (buf, caplen, ts) => pipeline.onFrame(buf, 0, caplen, ts, live.linkType));
  post({ type: 'ready', source: iface, linkType: live.linkType });
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      // Live data time also moves with the wall clock, so idle connections expire in silence.
      pipeline.tick(Date.now() / 1000);
      flush();
      const drops = live.drops();
      pipeline.stats.kernelDrops = drops.kernelDrops;
      pipeline.stats.ifDrops = drops.ifDrops;
      postStats();
    }, FLUSH_MS);
    onStop = () => {
      clearInterval(timer);
      const drops = live.drops();
      pipeline.stats.kernelDrops = drops.kernelDrops;
      pipeline.stats.ifDrops = drops.ifDrops;
      live.close();
      resolve();
    };
    if (stopRequested) onStop();
  });
}

async function main(): Promise<void> {
  const source = request.source;
  try {
    switch (source.kind) {
      case 'file':
        if (source.filter !== '') await readFilteredFile(source.path, source.filter);
        else await readFile(source.path, source.speed);
        break;
      case 'demo':
        await runDemo(source.seed, source.speed);
        break;
      case 'live':
        await runLive(source.iface !== '' ? source.iface : loadLibpcapModule().defaultInterface(), source.filter);
        break;
    }
    finishAndReport();
    post(stopRequested ? { type: 'stopped' } : { type: 'eof' });
  } catch (error) {
    fail(error);
  }
  port.close();
}

void main();
