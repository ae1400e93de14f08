/**
 * `npm run bench`: generates a deterministic capture of 1,000,000 HTTP/1.1 requests on
 * keep-alive connections (cached in bench-out/), then times `wiretop -r FILE --report json` on
 * it and prints requests/s, packets/s and peak RSS. Figures vary with the machine; the
 * generator does not. BENCH_REQUESTS overrides the size.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PcapWriter } from '../src/generate/pcapWriter';
import { generateTraffic, plannedRequests, type TrafficProfile } from '../src/generate/traffic';

const ROOT = path.resolve(__dirname, __filename.endsWith('.ts') ? '..' : '../..');
const OUT = path.join(ROOT, 'bench-out');

function benchProfile(requests: number): TrafficProfile {
  const rps = 20_000;
  return { startTs: 1_700_000_000, phases: [{ seconds: requests / rps, rps }], seed: 7, connections: 200, requestsPerConnection: 100 };
}

function ensureCapture(requests: number): { file: string; packets: number } {
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `keepalive-${requests}.pcap`);
  const meta = `${file}.json`;
  if (fs.existsSync(file) && fs.existsSync(meta)) return JSON.parse(fs.readFileSync(meta, 'utf8'));
  process.stdout.write(`generating ${file} ...\n`);
  const writer = new PcapWriter(file);
  let packets = 0;
  for (const { ts, frame } of generateTraffic(benchProfile(requests))) {
    writer.write(ts, frame);
    packets++;
  }
  writer.close();
  const info = { file, packets };
  fs.writeFileSync(meta, JSON.stringify(info));
  return info;
}

interface RunResult { seconds: number; maxRssMb: number; requests: number; }

function timeWiretop(file: string): RunResult {
  const started = process.hrtime.bigint();
  // Run the command as users do (its shebang line sets the main thread's heap flags).
  const child = spawnSync(path.join(ROOT, 'bin/wiretop'), ['-r', file, '--report', 'json'], {
    env: { ...process.env, WIRETOP_PRINT_RUSAGE: '1' },
    maxBuffer: 64 * 1024 * 1024,
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (child.status !== 0) throw new Error(`wiretop failed (${child.status}): ${child.stderr}`);
  const usage = JSON.parse(/rusage (\{.*\})/.exec(child.stderr)![1]) as { maxRSS: number };
  const report = JSON.parse(child.stdout) as { requests: number };
  return { seconds, maxRssMb: usage.maxRSS / 1024, requests: report.requests };
}

function main(): void {
  const requests = Number(process.env.BENCH_REQUESTS ?? 1_000_000);
  const { file, packets } = ensureCapture(requests);
  const planned = plannedRequests(benchProfile(requests));
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const results: RunResult[] = [];
  for (let i = 0; i < runs; i++) results.push(timeWiretop(file));
  const best = results.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
  const sizeMb = fs.statSync(file).size / 1024 / 1024;
  const lines = [
    `capture: ${file} (${sizeMb.toFixed(0)} MB, ${packets} packets, ${planned} requests planned)`,
    `wiretop -r FILE --report json, best of ${runs}: ${best.seconds.toFixed(2)} s`,
    `  transactions reported: ${best.requests}${best.requests === planned ? '' : `  (MISMATCH: planned ${planned})`}`,
    `  requests/s: ${Math.round(best.requests / best.seconds).toLocaleString('en-US')}`,
    `  packets/s:  ${Math.round(packets / best.seconds).toLocaleString('en-US')}`,
    `  peak RSS:   ${Math.max(...results.map((r) => r.maxRssMb)).toFixed(0)} MB`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main();
