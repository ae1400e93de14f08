/**
 * HTTP/2 against HTTP/1.1 on the same requests: two deterministic captures of 200,000 GETs on
 * 200 keep-alive connections (1,000 each, 1 KiB answers), one in HTTP/1.1, one in h2c the way
 * h2load sends it (10 streams in flight per connection, each side's headers HPACK-coded with
 * its dynamic table, so after the first request most fields are one-byte indices). Times
 * `wiretop -r FILE --report json` (best of BENCH_RUNS) and prints requests/s and CPU per
 * request (user + system, from the process's own resource usage) of each.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PcapWriter } from '../test/fixtures/pcapWriter';
import { TcpConversation } from '../src/capture/sources/demo/tcpConversation';
import type { TimedFrame } from '../src/capture/sources/demo/frames';
import { H2Side, PREFACE, data, settings } from '../test/helpers/h2Frames';

const ROOT = path.resolve(__dirname, __filename.endsWith('.ts') ? '..' : '../..');
const OUT = path.join(ROOT, 'bench-out');
const CONNECTIONS = 200;
const PER_CONNECTION = 1000;
const IN_FLIGHT = 10;
const BODY = Buffer.alloc(1024, 'b');

/** Writes the capture of one protocol, connection after connection (the order does not change the work). */
function writeCapture(file: string, protocol: 'h1' | 'h2'): void {
  const writer = new PcapWriter(file);
  let ts = 1_700_000_000;
  const frames: TimedFrame[] = [];
  for (let c = 0; c < CONNECTIONS; c++) {
    const tcp = new TcpConversation({ addr: '10.0.0.1', port: 20000 + c }, { addr: '10.0.0.2', port: 80 }, { client: 1000, server: 5000 }, (frame) => frames.push(frame));
    tcp.open(ts, ts + 0.0001, ts + 0.0002);
    ts += 0.0003;
    if (protocol === 'h1') {
      for (let n = 0; n < PER_CONNECTION; n++) {
        const head = `GET /bench/item/${n % 500} HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: h2load nghttp2/1.52.0\r\nAccept: */*\r\n\r\n`;
        ts = tcp.send('client', Buffer.from(head, 'latin1'), ts + 0.0001, { step: 0 });
        const response = `HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: ${BODY.length}\r\n\r\n`;
        ts = tcp.send('server', Buffer.concat([Buffer.from(response, 'latin1'), BODY]), ts + 0.0001, { step: 0 });
      }
    } else {
      const client = new H2Side({ huffman: true });
      const server = new H2Side({ huffman: true });
      ts = tcp.send('client', Buffer.concat([PREFACE, settings()]), ts + 0.0001, { step: 0 });
      ts = tcp.send('server', Buffer.concat([settings(), settings(true)]), ts + 0.0001, { step: 0 });
      for (let n = 0; n < PER_CONNECTION; n += IN_FLIGHT) {
        const requests: Buffer[] = [];
        const responses: Buffer[] = [];
        for (let k = 0; k < IN_FLIGHT; k++) {
          const id = 1 + 2 * (n + k);
          requests.push(client.headers(id, [[':method', 'GET'], [':path', `/bench/item/${(n + k) % 500}`], [':scheme', 'http'], [':authority', 'shop.example'],
            ['accept', '*/*'], ['user-agent', 'h2load nghttp2/1.52.0']], { end: true }));
          responses.push(server.headers(id, [[':status', '200'], ['server', 'nginx'], ['content-type', 'text/html'], ['content-length', String(BODY.length)]]), data(id, BODY, true));
        }
        ts = tcp.send('client', Buffer.concat(requests), ts + 0.0001, { step: 0 });
        ts = tcp.send('server', Buffer.concat(responses), ts + 0.0001, { step: 0 });
      }
    }
    tcp.close(ts + 0.0001, ts + 0.0002, ts + 0.0003);
    ts += 0.0004;
    for (const frame of frames) writer.write(frame.ts, frame.frame);
    frames.length = 0;
  }
  writer.close();
}

interface Timing { seconds: number; cpuSeconds: number; requests: number; maxRssMb: number }

function timeWiretop(file: string): Timing {
  const started = process.hrtime.bigint();
  const child = spawnSync(path.join(ROOT, 'bin/wiretop'), ['-r', file, '--report', 'json'], {
    env: { ...process.env, WIRETOP_PRINT_RUSAGE: '1' }, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (child.status !== 0) throw new Error(`wiretop failed (${child.status}): ${child.stderr}`);
  const usage = JSON.parse(/rusage (\{.*\})/.exec(child.stderr)![1]) as { maxRSS: number; userCPUTime: number; systemCPUTime: number };
  const report = JSON.parse(child.stdout) as { requests: number };
  return { seconds, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, requests: report.requests, maxRssMb: usage.maxRSS / 1024 };
}

/** The benchmark's lines. */
export function h2Bench(runs: number): string[] {
  fs.mkdirSync(OUT, { recursive: true });
  const lines: string[] = [`HTTP/2 against HTTP/1.1: ${CONNECTIONS * PER_CONNECTION} GETs on ${CONNECTIONS} connections, best of ${runs}`];
  const results: Record<string, Timing> = {};
  for (const protocol of ['h1', 'h2'] as const) {
    const file = path.join(OUT, `compare-${protocol}-200000.pcap`);
    if (!fs.existsSync(file)) writeCapture(file, protocol);
    const timings: Timing[] = [];
    for (let i = 0; i < runs; i++) timings.push(timeWiretop(file));
    const best = timings.reduce((a, b) => (a.cpuSeconds <= b.cpuSeconds ? a : b));
    results[protocol] = best;
    const sizeMb = fs.statSync(file).size / 1024 / 1024;
    lines.push(`  ${protocol === 'h1' ? 'HTTP/1.1' : 'h2c     '} ${sizeMb.toFixed(0)} MB: ${best.requests} transactions in ${best.seconds.toFixed(2)} s, `
      + `${Math.round(best.requests / best.seconds).toLocaleString('en-US')} requests/s, ${((best.cpuSeconds / best.requests) * 1e6).toFixed(1)} µs CPU per request, peak RSS ${best.maxRssMb.toFixed(0)} MB`);
  }
  const ratio = (results.h2.cpuSeconds / results.h2.requests) / (results.h1.cpuSeconds / results.h1.requests);
  lines.push(`  CPU per request, h2c / HTTP/1.1: ${ratio.toFixed(2)}`);
  return lines;
}

if (require.main === module) process.stdout.write(h2Bench(Number(process.env.BENCH_RUNS ?? 3)).join('\n') + '\n');
