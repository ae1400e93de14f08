/**
 * A capture split among 2 and 4 workers (threads, from dist/) gives exactly what one gives: the
 * same transactions in the same order, the same TLS connections and the same counters, on every
 * trace of the corpus and on a capture of many interleaved connections; and bin/wiretop prints
 * the same report and --ndjson lines whatever --workers says.
 */
import * as fs from 'fs';
import * as path from 'path';
import { WorkerCapture, type CaptureListener, type CaptureSource } from '../src/capture/captureSource';
import type { CaptureRequest } from '../src/capture/messages';
import { ShardedCapture } from '../src/capture/shardedCapture';
import { PcapWriter } from './fixtures/pcapWriter';
import { generateTraffic } from '../src/capture/sources/demo/traffic';
import type { CaptureStats, HttpEvent, TlsConnection } from '../src/types';
import { CORPUS } from './helpers/corpus';
import { tempDir } from './helpers/conversation';
import { runWiretop } from './helpers/runCli';

interface Captured {
  events: HttpEvent[];
  tls: TlsConnection[];
  stats: CaptureStats | null;
  workers: number;
  end: string;
}

function capture(file: string, workers: number): Promise<Captured> {
  const request: CaptureRequest = {
    source: { kind: 'file', path: file, filter: '', ports: null, speed: 0 },
    maxStrLength: 1024, timeout: 1, memoryBudgetMb: 160, keepHeaders: true, workers,
  };
  const source: CaptureSource = workers === 1 ? new WorkerCapture(request) : new ShardedCapture(request, workers);
  const out: Captured = { events: [], tls: [], stats: null, workers: 0, end: '' };
  return new Promise((resolve, reject) => {
    const listener: CaptureListener = {
      onReady: () => undefined,
      onEvents: (events) => { out.events.push(...events); },
      onTls: (connections) => { out.tls.push(...connections); },
      onStats: (stats, _now, _watermark, detail) => {
        out.stats = stats;
        out.workers = detail?.workers?.length ?? 1;
      },
      onEnd: (reason) => {
        out.end = reason;
        void source.stop().then(() => resolve(out));
      },
      onError: (error) => reject(error),
    };
    source.start(listener);
  });
}

/** Every trace in the corpus. */
function corpusTraces(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.pcap(ng)?$/.test(entry.name)) found.push(full);
    }
  };
  walk(CORPUS);
  return found.sort();
}

/** 4,000 requests on 120 keep-alive connections and 1,000 on connections of their own, interleaved. */
function manyConnections(dir: string): string {
  const file = path.join(dir, 'many.pcap');
  const writer = new PcapWriter(file);
  const frames = [
    ...generateTraffic({ startTs: 1_700_000_000, phases: [{ seconds: 4, rps: 1000 }], seed: 3, connections: 120, requestsPerConnection: 40 }),
    ...generateTraffic({ startTs: 1_700_000_000.0003, phases: [{ seconds: 2, rps: 500 }], seed: 4, connections: 60, requestsPerConnection: 1 }),
  ].sort((a, b) => a.ts - b.ts);
  for (const { ts, frame } of frames) writer.write(ts, frame);
  writer.close();
  return file;
}

/** What must not differ: the counters that depend on how the threads ran (none) and everything else. */
function comparable(result: Captured): unknown {
  return { events: result.events, tls: result.tls, stats: result.stats, end: result.end };
}

describe('a capture split among workers', () => {
  const dir = tempDir();
  const many = manyConnections(dir);

  it('gives what one worker gives on a capture of many interleaved connections, and says each worker\'s load', async () => {
    const one = await capture(many, 1);
    expect(one.events.length).toBe(5000);
    for (const workers of [2, 4]) {
      const split = await capture(many, workers);
      expect(split.workers).toBe(workers);
      expect(comparable(split)).toEqual(comparable(one));
    }
  });

  it('gives what one worker gives on every trace of the corpus', async () => {
    const traces = corpusTraces();
    expect(traces.length).toBeGreaterThan(40);
    const differing: string[] = [];
    for (const trace of traces) {
      const one = comparable(await capture(trace, 1));
      const [two, four] = await Promise.all([capture(trace, 2), capture(trace, 4)]);
      if (JSON.stringify(comparable(two)) !== JSON.stringify(one) || JSON.stringify(comparable(four)) !== JSON.stringify(one)) differing.push(path.basename(trace));
    }
    expect(differing).toEqual([]);
  }, 240_000);

  it('makes bin/wiretop print the same report and --ndjson lines with --workers 1, 2 and 4', async () => {
    const runs = await Promise.all([1, 2, 4].map(async (workers) => ({
      report: JSON.parse((await runWiretop(['-r', many, '--report', 'json', '--workers', String(workers)])).stdout) as Record<string, unknown>,
      ndjson: (await runWiretop(['-r', many, '--ndjson', '--workers', String(workers)])).stdout,
    })));
    expect(runs[0].ndjson.split('\n').filter(Boolean)).toHaveLength(5000);
    // The report says each worker's load when there are several: all else is the same.
    expect(runs[0].report.workers).toBeUndefined();
    for (const [run, workers] of [[runs[1], 2], [runs[2], 4]] as const) {
      const loads = run.report.workers as Array<{ packets: number }>;
      expect(loads).toHaveLength(workers);
      expect(loads.reduce((sum, w) => sum + w.packets, 0)).toBe((runs[0].report.capture as { packets: number }).packets);
      delete run.report.workers;
      expect(run).toEqual(runs[0]);
    }
  });

  it('gives the same report from standard input and through a BPF filter (frames copied into shared memory)', async () => {
    const report = async (args: string[], workers: number, input?: Buffer) => {
      const result = await runWiretop([...args, '--report', 'json', '--workers', String(workers)], input !== undefined ? { input } : {});
      const parsed = JSON.parse(result.stdout) as Record<string, unknown>;
      delete parsed.workers;
      return parsed;
    };
    const bytes = fs.readFileSync(many);
    const [stdinOne, stdinThree, filterOne, filterThree] = await Promise.all([
      report(['-r', '-'], 1, bytes), report(['-r', '-'], 3, bytes),
      report(['-r', many, '-f', 'tcp port 80'], 1), report(['-r', many, '-f', 'tcp port 80'], 3),
    ]);
    expect(stdinOne.requests).toBe(5000);
    expect(stdinThree).toEqual(stdinOne);
    expect(filterThree).toEqual(filterOne);
    expect(filterOne.requests).toBeGreaterThan(0);
  });

  it('gives the same report on hostile files: megabytes of blocks without frames, records larger than a shared buffer, an impossible timestamp', async () => {
    const frames = [...generateTraffic({ startTs: 1_700_000_000, phases: [{ seconds: 10, rps: 200 }], seed: 5, connections: 20, requestsPerConnection: 50 })];
    const block = (type: number, body: Buffer) => {
      const length = 12 + Math.ceil(body.length / 4) * 4;
      const out = Buffer.alloc(length);
      out.writeUInt32LE(type, 0);
      out.writeUInt32LE(length, 4);
      body.copy(out, 8);
      out.writeUInt32LE(length, length - 4);
      return out;
    };
    const packet = (units: number, frame: Buffer) => {
      const body = Buffer.alloc(20 + Math.ceil(frame.length / 4) * 4);
      body.writeUInt32LE(Math.floor(units / 2 ** 32), 4);
      body.writeUInt32LE(units % 2 ** 32, 8);
      body.writeUInt32LE(frame.length, 12);
      body.writeUInt32LE(frame.length, 16);
      frame.copy(body, 20);
      return block(6, body);
    };
    const header = Buffer.alloc(16);
    header.writeUInt32LE(0x1a2b3c4d, 0);
    header.writeUInt16LE(1, 4);
    header.writeInt32LE(-1, 8);
    header.writeInt32LE(-1, 12);
    const iface = Buffer.alloc(8);
    iface.writeUInt16LE(1, 0);
    const parts = [block(0x0a0d0d0a, header), block(1, iface)];
    frames.forEach(({ ts, frame }, i) => {
      // 16 MB of custom blocks in a row: more than the reader's whole pool of buffers, no frame in it.
      if (i === 100) for (let k = 0; k < 16; k++) parts.push(block(0xbad, Buffer.alloc(1024 * 1024)));
      // A frame at 2^62 µs: skipped and counted, moving no clock.
      if (i === 3000) parts.push(packet(2 ** 62, frame));
      // Records larger than a shared buffer, now and then.
      parts.push(packet(Math.round(ts * 1e6), i % 1500 === 700 ? Buffer.concat([frame, Buffer.alloc(3 * 1024 * 1024)]) : frame));
    });
    const file = path.join(dir, 'hostile.pcapng');
    fs.writeFileSync(file, Buffer.concat(parts));
    const reports = await Promise.all([1, 2, 4].map(async (workers) => {
      const result = await runWiretop(['-r', file, '--report', 'json', '--workers', String(workers)], { timeoutMs: 60_000 });
      expect(result.code).toBe(0);
      const parsed = JSON.parse(result.stdout) as Record<string, unknown>;
      delete parsed.workers;
      return parsed;
    }));
    expect((reports[0].capture as { badTimestamps: number }).badTimestamps).toBe(1);
    expect(reports[0].requests).toBeGreaterThan(1000);
    expect(reports[1]).toEqual(reports[0]);
    expect(reports[2]).toEqual(reports[0]);
  });

  it('says in one line when the file cannot be read, as one worker does', async () => {
    const [one, three] = await Promise.all([1, 3].map((workers) => runWiretop(['-r', path.join(dir, 'missing.pcap'), '--report', 'json', '--workers', String(workers)])));
    expect(three.code).toBe(1);
    expect(three.stdout).toBe('');
    expect(three.stderr.trim().split('\n')).toEqual([`wiretop: ${path.join(dir, 'missing.pcap')}: No such file or directory`]);
    expect(three.stderr).toBe(one.stderr);
  });
});
