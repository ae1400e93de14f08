/**
 * `npm run bench`:
 * 1. generates deterministic captures (cached in bench-out/): 1,000,000 HTTP/1.1 requests on
 *    keep-alive connections, its 200,000-request version, and 200,000 requests each on a
 *    connection of its own; times `wiretop -r FILE --report json` on each (best of
 *    BENCH_RUNS, 3) and prints requests/s, packets/s and peak RSS, with httpry's time on the
 *    same file beside it when httpry is installed (`httpry -r FILE -o /dev/null`); the two
 *    200,000-request captures with 1, 2 and 4 capture workers (BENCH_WORKERS) as well, each
 *    checked to give the same report as the default;
 * 2. feeds the statistics store 10 M transactions with 1 M distinct URIs (Zipf) in a process of
 *    its own, compares its top-10 sections and URIs with exact counting, and prints its peak RSS.
 * 3. runs the dashboard (on a fake screen) while 100,000 transactions a second flow in, and
 *    prints whether it kept up and the share of a core its redraws take.
 * 4. HTTPS (bench/tls.ts): tier 1 on a capture that is mostly TLS, and decryption in MB/s.
 * 5. HTTP/2 (bench/h2.ts): the same 200,000 requests in HTTP/1.1 and in h2c, requests/s and CPU per request.
 * 6. The filter language (bench/filter.ts): a compiled `--where` predicate's time per
 *    transaction, and the CPU per request of `-r FILE --report json` with and without it.
 * 7. The main thread apart (bench/mainThread.ts): the two 200,000-request captures' batches
 *    decoded and counted, nanoseconds per transaction.
 * Figures vary with the machine; the generators do not. BENCH_REQUESTS overrides the size of
 * the first capture, BENCH_SKIP=pipeline, main, tls, h2, filter, heavy, dashboard or hostile (comma list) skips parts. The live
 * benchmark is `npm run bench:live` (bench/live.ts).
 */
import { spawnSync } from 'child_process';
import { filterBench } from './filter';
import { h2Bench } from './h2';
import { hostileFloods, hostileLive } from './hostile';
import { mainThreadBench } from './mainThread';
import { tlsBench } from './tls';
import * as fs from 'fs';
import * as path from 'path';
import { PcapWriter } from '../test/fixtures/pcapWriter';
import { generateTraffic, plannedRequests, type TrafficProfile } from '../src/capture/sources/demo/traffic';
import { zipfEvents } from '../test/fixtures/zipf';
import { HEAVY_HITTERS } from './heavyHitters';

const ROOT = path.resolve(__dirname, __filename.endsWith('.ts') ? '..' : '../..');
const OUT = path.join(ROOT, 'bench-out');

/** A capture the benchmark times. */
interface BenchCapture {
  name: string;
  requests: number;
  requestsPerConnection: number;
}

function benchProfile(capture: BenchCapture): TrafficProfile {
  const rps = 20_000;
  return {
    startTs: 1_700_000_000, phases: [{ seconds: capture.requests / rps, rps }], seed: 7,
    connections: 200, requestsPerConnection: capture.requestsPerConnection,
  };
}

/**
 * The capture's file, generated when missing. In a process of its own: a child's peak RSS
 * (ru_maxrss) starts from its parent's at fork, so generating a large capture here would raise
 * the peak RSS of every wiretop run timed after it.
 */
function ensureCapture(capture: BenchCapture): { file: string; packets: number } {
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `${capture.name}.pcap`);
  const meta = `${file}.json`;
  if (fs.existsSync(file) && fs.existsSync(meta)) return JSON.parse(fs.readFileSync(meta, 'utf8'));
  process.stdout.write(`generating ${file} ...\n`);
  const child = spawnSync(process.execPath, [__filename, 'generate', JSON.stringify(capture)], { stdio: 'inherit' });
  if (child.status !== 0) throw new Error(`generating ${file} failed`);
  return JSON.parse(fs.readFileSync(meta, 'utf8'));
}

/** Writes the capture's file and its packet count (`node bench.js generate CAPTURE`). */
function generateCapture(capture: BenchCapture): void {
  const file = path.join(OUT, `${capture.name}.pcap`);
  const meta = `${file}.json`;
  const writer = new PcapWriter(file);
  let packets = 0;
  for (const { ts, frame } of generateTraffic(benchProfile(capture))) {
    writer.write(ts, frame);
    packets++;
  }
  writer.close();
  fs.writeFileSync(meta, JSON.stringify({ file, packets }));
}

export interface RunResult { seconds: number; cpuSeconds: number; maxRssMb: number; requests: number; report: string }

/** One run of `wiretop -r FILE --report json` (`workers`: its --workers, 0 for the default). */
function timeWiretop(file: string, workers = 0, extra: string[] = []): RunResult {
  const started = process.hrtime.bigint();
  // Run the command as users do (its shebang line sets the main thread's heap flags).
  const child = spawnSync(path.join(ROOT, 'bin/wiretop'), ['-r', file, '--report', 'json', '--workers', String(workers), ...extra], {
    env: { ...process.env, WIRETOP_PRINT_RUSAGE: '1' },
    maxBuffer: 64 * 1024 * 1024,
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (child.status !== 0) throw new Error(`wiretop failed (${child.status}): ${child.stderr}`);
  const usage = JSON.parse(/rusage (\{.*\})/.exec(child.stderr)![1]) as { maxRSS: number; userCPUTime: number; systemCPUTime: number };
  const report = JSON.parse(child.stdout) as { requests: number; workers?: unknown };
  // The report says each worker's load with several; the rest must not depend on how many.
  delete report.workers;
  return { seconds, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, maxRssMb: usage.maxRSS / 1024, requests: report.requests, report: JSON.stringify(report) };
}

/** httpry's time on the same file (its default filter: TCP ports 80 and 8080), or null without httpry. */
function timeHttpry(file: string): number | null {
  if (spawnSync('sh', ['-c', 'command -v httpry']).status !== 0) return null;
  const started = process.hrtime.bigint();
  const child = spawnSync('httpry', ['-r', file, '-q', '-o', '/dev/null'], { stdio: 'ignore' });
  if (child.status !== 0) return null;
  return Number(process.hrtime.bigint() - started) / 1e9;
}

interface Hitter { key: string; count: number; overcount: number }

/** Runs bench/heavyHitters in its own process and checks its answer against exact counts. */
function heavyHitters(): string[] {
  const child = spawnSync(process.execPath, ['--max-old-space-size=1024', '--max-semi-space-size=4', path.join(__dirname, 'heavyHitters.js')], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (child.status !== 0) throw new Error(`heavy-hitters run failed: ${child.stderr}`);
  const result = JSON.parse(child.stdout) as { seconds: number; maxRssMb: number; sections: Hitter[]; uris: Hitter[] };
  const { events, distinct, exponent, seconds, startTs, seed } = HEAVY_HITTERS;
  const exactUris = new Map<string, number>();
  const exactSections = new Map<string, number>();
  zipfEvents(events, distinct, exponent, seconds, startTs, seed, (batch) => {
    for (const e of batch) {
      exactUris.set(e.uri, (exactUris.get(e.uri) ?? 0) + 1);
      exactSections.set(e.section, (exactSections.get(e.section) ?? 0) + 1);
    }
  });
  const check = (name: string, got: Hitter[], exact: Map<string, number>) => {
    const truth = [...exact.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
    const sameOrder = truth.every(([key], i) => got[i]?.key === key);
    const worst = Math.max(...got.map((g) => g.count - (exact.get(g.key) ?? 0)));
    const withinError = got.every((g) => g.count - (exact.get(g.key) ?? 0) <= g.overcount && g.count >= (exact.get(g.key) ?? 0));
    return `  top-10 ${name}: ${sameOrder ? 'same order as exact counting' : 'ORDER DIFFERS from exact counting'}, `
      + `largest over-count ${worst} (${withinError ? 'within' : 'OUTSIDE'} the reported error; bound N/capacity = ${Math.round(events / 4096)})`;
  };
  return [
    `store: ${events.toLocaleString('en-US')} transactions, ${distinct.toLocaleString('en-US')} distinct URIs (Zipf s=${exponent}): ${result.seconds.toFixed(1)} s `
      + `(${Math.round(events / result.seconds).toLocaleString('en-US')} events/s), peak RSS ${result.maxRssMb.toFixed(0)} MB`,
    check('sections', result.sections, exactSections),
    check('URIs', result.uris, exactUris),
  ];
}

/** Runs bench/dashboardLoad in its own process. */
function dashboardLoad(): string[] {
  const child = spawnSync(process.execPath, ['--max-old-space-size=1024', '--max-semi-space-size=4', path.join(__dirname, 'dashboardLoad.js')], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`dashboard run failed: ${child.stderr}`);
  const r = JSON.parse(child.stdout) as { events: number; wallSeconds: number; maxLagMs: number; rendersPerSecond: number; renderMsPerFrame: number; renderShareOfCore: number; ingestShareOfCore: number; processShareOfCore: number };
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return [
    `dashboard: ${Math.round(r.events / r.wallSeconds).toLocaleString('en-US')} transactions/s for ${r.wallSeconds.toFixed(1)} s, feed lag at most ${r.maxLagMs} ms (${r.maxLagMs < 500 ? 'kept up' : 'FELL BEHIND'})`,
    `  ${r.rendersPerSecond.toFixed(1)} redraws/s at ${r.renderMsPerFrame.toFixed(1)} ms each: redraws ${pct(r.renderShareOfCore)} of a core, ingestion ${pct(r.ingestShareOfCore)}, the whole process ${pct(r.processShareOfCore)}`,
  ];
}

async function main(): Promise<void> {
  const skip = (process.env.BENCH_SKIP ?? '').split(',');
  if (!skip.includes('pipeline')) pipeline();
  if (!skip.includes('main')) process.stdout.write((await mainThreadBench([ensureCapture(CAPTURES[1]).file, ensureCapture(CAPTURES[2]).file], Number(process.env.BENCH_RUNS ?? 3) + 2)).join('\n') + '\n');
  if (!skip.includes('tls')) process.stdout.write((await tlsBench(Number(process.env.BENCH_RUNS ?? 3))).join('\n') + '\n');
  if (!skip.includes('h2')) process.stdout.write(h2Bench(Number(process.env.BENCH_RUNS ?? 3)).join('\n') + '\n');
  if (!skip.includes('filter')) process.stdout.write(filterBench(ensureCapture(CAPTURES[1]).file, Number(process.env.BENCH_RUNS ?? 3), timeWiretop).join('\n') + '\n');
  if (!skip.includes('heavy')) process.stdout.write(heavyHitters().join('\n') + '\n');
  if (!skip.includes('dashboard')) process.stdout.write(dashboardLoad().join('\n') + '\n');
  if (!skip.includes('hostile')) process.stdout.write(hostileFloods().join('\n') + '\n');
  // Live on lo needs root (the capture) and tcpreplay.
  if (!skip.includes('hostile-live') && process.getuid?.() === 0) process.stdout.write((await hostileLive()).join('\n') + '\n');
}

const CAPTURES: BenchCapture[] = [
  // Named by its size, so that a BENCH_REQUESTS run does not reuse another size's cached file.
  { name: `keepalive-${Number(process.env.BENCH_REQUESTS ?? 1_000_000)}`, requests: Number(process.env.BENCH_REQUESTS ?? 1_000_000), requestsPerConnection: 100 },
  { name: 'keepalive-200000', requests: 200_000, requestsPerConnection: 100 },
  { name: 'short-200000', requests: 200_000, requestsPerConnection: 1 },
];

/** The --workers counts the 200,000-request captures are timed with besides the default (BENCH_WORKERS). */
const WORKER_COUNTS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);

function pipeline(): void {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  for (const capture of CAPTURES) {
    const { file, packets } = ensureCapture(capture);
    const planned = plannedRequests(benchProfile(capture));
    // Interleaved, so that a slower spell of a shared machine falls on every contender alike.
    const results: RunResult[] = [];
    const httpryTimes: number[] = [];
    const byWorkers = new Map<number, RunResult[]>();
    const counts = capture.requests === 200_000 ? WORKER_COUNTS : [];
    for (let i = 0; i < runs; i++) {
      results.push(timeWiretop(file));
      const seconds = timeHttpry(file);
      if (seconds !== null) httpryTimes.push(seconds);
      for (const workers of counts) byWorkers.set(workers, [...(byWorkers.get(workers) ?? []), timeWiretop(file, workers)]);
    }
    const best = results.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
    const httpry = httpryTimes.length > 0 ? Math.min(...httpryTimes) : null;
    const sizeMb = fs.statSync(file).size / 1024 / 1024;
    const lines = [
      `capture: ${file} (${sizeMb.toFixed(0)} MB, ${packets} packets, ${planned} requests planned, ${capture.requestsPerConnection} per connection)`,
      `  wiretop -r FILE --report json, best of ${runs}: ${best.seconds.toFixed(2)} s`
        + (httpry !== null ? `; httpry -r FILE: ${httpry.toFixed(2)} s; wiretop is ${(httpry / best.seconds).toFixed(2)}x httpry's speed` : ''),
      `  transactions reported: ${best.requests}${best.requests === planned ? '' : `  (MISMATCH: planned ${planned})`}`,
      `  requests/s: ${Math.round(best.requests / best.seconds).toLocaleString('en-US')}, packets/s: ${Math.round(packets / best.seconds).toLocaleString('en-US')}`,
      `  peak RSS:   ${Math.max(...results.map((r) => r.maxRssMb)).toFixed(0)} MB`,
    ];
    for (const [workers, timed] of byWorkers) {
      const fastest = timed.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
      const rate = Math.round(fastest.requests / fastest.seconds);
      const same = timed.every((r) => r.report === best.report);
      lines.push(`  --workers ${workers}: ${fastest.seconds.toFixed(2)} s, ${rate.toLocaleString('en-US')} requests/s`
        + (httpry !== null ? ` (${(httpry / fastest.seconds).toFixed(2)}x httpry's ${Math.round(fastest.requests / httpry).toLocaleString('en-US')})` : '')
        + `, CPU ${fastest.cpuSeconds.toFixed(2)} s, peak RSS ${Math.max(...timed.map((r) => r.maxRssMb)).toFixed(0)} MB, report ${same ? 'the same as the default\'s' : 'DIFFERS from the default\'s'}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  }
}

if (process.argv[2] === 'generate') generateCapture(JSON.parse(process.argv[3]) as BenchCapture);
else void main();
