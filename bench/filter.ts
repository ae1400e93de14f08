/**
 * The filter language's cost (`npm run bench`, part 6): what a compiled `--where` predicate
 * takes per transaction on the keep-alive capture's 200,000 transactions (in-process, the
 * predicate alone), and the CPU per request of the whole run with and without it (interleaved).
 * The CPU is per transaction of the capture, kept or not (the first expression leaves the bots
 * out, as a user would); the target is under 10% of the CPU per request.
 */
import { CaptureFileReader } from '../src/capture/captureFile';
import { captureLimits } from '../src/capture/limits';
import { CapturePipeline } from '../src/capture/pipeline';
import { compileFilter } from '../src/filter/filter';
import type { HttpEvent } from '../src/types';
import type { RunResult } from './bench';

/** "Everything but health checks and bots", and a long one over most kinds of field. */
export const BENCH_FILTERS = [
  'not path ~ ^/health and not ua ~ (?i)bot',
  'method in (GET, POST, PUT, DELETE) and (status < 500 or unanswered or status >= 500) and latency < 1h and client = 0.0.0.0/0 and host = * and not section = /nothing',
];

function transactionsOf(file: string): HttpEvent[] {
  const reader = new CaptureFileReader(file);
  const pipeline = new CapturePipeline(captureLimits(1024), 2);
  const events: HttpEvent[] = [];
  for (let packet = reader.next(); packet !== null; packet = reader.next()) {
    pipeline.onFrame(packet.buf, packet.offset, packet.caplen, packet.wireLength, packet.ts, packet.linkType);
    events.push(...pipeline.release());
  }
  events.push(...pipeline.finish());
  reader.close();
  return events;
}

export function filterBench(file: string, runs: number, time: (file: string, workers: number, extra: string[]) => RunResult): string[] {
  const events = transactionsOf(file);
  const lines = [`filter language: ${file} (${events.length.toLocaleString('en-US')} transactions)`];
  const base: RunResult[] = [];
  const filtered = new Map<string, RunResult[]>(BENCH_FILTERS.map((f) => [f, []]));
  for (let i = 0; i < runs; i++) {
    base.push(time(file, 0, []));
    for (const where of BENCH_FILTERS) filtered.get(where)!.push(time(file, 0, ['--where', where]));
  }
  // Per transaction of the capture, filtered or not: the runs do the same capture's work.
  const perRequest = (r: RunResult) => (r.cpuSeconds * 1e6) / events.length;
  const baseline = Math.min(...base.map(perRequest));
  lines.push(`  no filter: CPU ${baseline.toFixed(2)} µs per request (best of ${runs})`);
  for (const where of BENCH_FILTERS) {
    const { matches } = compileFilter(where);
    let kept = 0;
    const started = process.hrtime.bigint();
    for (let round = 0; round < 5; round++) for (const e of events) if (matches(e)) kept++;
    const nanos = Number(process.hrtime.bigint() - started) / (5 * events.length);
    const results = filtered.get(where)!;
    const withFilter = Math.min(...results.map(perRequest));
    lines.push(`  --where '${where}'`);
    lines.push(`    predicate: ${nanos.toFixed(0)} ns per transaction (${(kept / 5).toLocaleString('en-US')} kept), ${((100 * nanos) / 1000 / baseline).toFixed(1)}% of the CPU per request`);
    lines.push(`    whole run: CPU ${withFilter.toFixed(2)} µs per request, ${(100 * (withFilter / baseline - 1)).toFixed(1)}% beside no filter; ${results[0].requests.toLocaleString('en-US')} requests kept`);
  }
  return lines;
}
