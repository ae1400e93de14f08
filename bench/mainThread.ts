/**
 * The main thread's cost per transaction, apart from the capture thread's: a capture file's
 * batches, as the capture loop posts them, are decoded and counted by the statistics, timed.
 * Every worker's transactions meet on the main thread, so this is the ceiling of what more
 * workers can bring; `-r FILE` times the whole and follows the slower thread, the capture's.
 */
import { CaptureLoop } from '../src/capture/captureLoop';
import { openCaptureRun } from '../src/capture/captureRun';
import { BatchDecoder, type EncodedBatch } from '../src/capture/eventBatch';
import type { FromWorker } from '../src/capture/messages';
import { defaultConfig } from '../src/config';
import { StatsStore } from '../src/stats/store';

/** The batches the capture loop posts for `file`, read in this thread (acknowledged as they come). */
async function batchesOf(file: string): Promise<EncodedBatch[]> {
  const config = defaultConfig();
  const { source, pipeline, maxBytesInFlight } = openCaptureRun({
    source: { kind: 'file', path: file, filter: '', ports: null, speed: 0 },
    maxStrLength: config.max_str_length, timeout: config.timeout, memoryBudgetMb: config.memory_budget_mb, keepHeaders: false,
  });
  const batches: EncodedBatch[] = [];
  const loop: CaptureLoop = new CaptureLoop(source, pipeline, {
    post: (message: FromWorker) => {
      if (message.type !== 'events') return;
      batches.push(message.batch);
      setImmediate(() => loop.acknowledge(1));
    },
  }, maxBytesInFlight);
  await loop.run();
  return batches;
}

/** Nanoseconds per transaction to decode `batches` and count them, once (a fresh decoder and store). */
function decodeAndCount(batches: readonly EncodedBatch[]): number {
  // Copies: decoding reads the buffers in place, and each run starts from the same bytes.
  const copies = batches.map((b) => ({ ...b, buffer: b.buffer.slice(0) }));
  const decoder = new BatchDecoder();
  const store = new StatsStore(defaultConfig());
  let transactions = 0;
  const start = process.hrtime.bigint();
  for (const batch of copies) {
    const events = decoder.decode(batch);
    store.ingest(events);
    transactions += events.length;
    if (events.length > 0) store.advanceTo(events[events.length - 1].ts);
  }
  return Number(process.hrtime.bigint() - start) / Math.max(1, transactions);
}

/** The report's lines for each capture: the median and fastest of `runs` runs (after one to warm up). */
export async function mainThreadBench(files: readonly string[], runs: number): Promise<string[]> {
  const lines = ['main thread, decoding a capture thread\'s batches and counting them (median and fastest of ' + runs + ' runs, after one):'];
  for (const file of files) {
    const batches = await batchesOf(file);
    const transactions = batches.reduce((n, b) => n + b.count, 0);
    decodeAndCount(batches);
    const times = Array.from({ length: runs }, () => decodeAndCount(batches)).sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    lines.push(`  ${file}: ${transactions} transactions in ${batches.length} batches, ${Math.round(median).toLocaleString('en-US')} ns each (fastest ${Math.round(times[0]).toLocaleString('en-US')}), ${Math.round(1e9 / median).toLocaleString('en-US')} transactions/s`);
  }
  return lines;
}
