/**
 * A real Prometheus (the Debian package's, installed by .ci/run) scraping `wiretop --metrics`
 * while it replays a capture at capture speed, on 127.0.0.1 only. Skipped where there is no
 * prometheus binary.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PcapWriter } from './fixtures/pcapWriter';
import { generateTraffic } from '../src/capture/sources/demo/traffic';
import { buildFrame } from '../src/capture/sources/demo/frames';
import { TCP_SYN } from '../src/capture/decode';
import { tempDir } from './helpers/conversation';
import { startProcess, startWiretop, type RunningCli } from './helpers/runCli';
import { freePort } from './helpers/ports';

const available = spawnSync('prometheus', ['--version']).status === 0;
const dir = tempDir();
const T0 = 1_700_000_000;

async function query(base: string, promql: string): Promise<number | null> {
  const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = await response.json() as { data: { result: Array<{ value: [number, string] }> } };
  const value = body.data.result[0]?.value[1];
  return value === undefined ? null : Number(value);
}

(available ? describe : describe.skip)('a real Prometheus', () => {
  const children: RunningCli[] = [];
  afterAll(() => children.forEach(({ child }) => child.kill('SIGKILL')));

  it('scrapes wiretop --metrics: the request count of the capture, and its rate', async () => {
    // 30 requests a second for 16 s, then a quiet tail (a bare SYN 14 s later keeps the replay going).
    const file = path.join(dir, 'steady.pcap');
    const writer = new PcapWriter(file);
    let requests = 0;
    for (const { ts, frame } of generateTraffic({ startTs: T0, phases: [{ seconds: 16, rps: 30 }], seed: 5, connections: 6, requestsPerConnection: 1000 })) {
      writer.write(ts, frame);
    }
    requests = 16 * 30;
    writer.write(T0 + 30, buildFrame({ src: { addr: '10.9.9.9', port: 5000 }, dst: { addr: '10.0.0.2', port: 9 }, seq: 1, ack: 0, flags: TCP_SYN }));
    writer.close();

    const metricsPort = await freePort();
    const promPort = await freePort();
    // Both run until the end of the test (afterAll kills them), at most its 90 s.
    const wiretop = startWiretop(['-r', file, '--speed', '1', '--metrics', String(metricsPort)], { timeoutMs: 90000 });
    children.push(wiretop);
    const config = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: wiretop\n    static_configs:\n      - targets: ['127.0.0.1:${metricsPort}']\n`);
    const prometheus = startProcess('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`], { timeoutMs: 90000 });
    children.push(prometheus);
    const base = `http://127.0.0.1:${promPort}`;

    // Wait until Prometheus has scraped the target at least twice.
    let scrapes = 0;
    for (let i = 0; i < 100 && scrapes < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      scrapes = await query(base, 'count_over_time(up{job="wiretop"}[1m])').catch(() => null) ?? 0;
    }
    expect(scrapes).toBeGreaterThanOrEqual(2);
    expect(await query(base, 'up{job="wiretop"}')).toBe(1);

    // During the steady part the rate is the capture's 30 requests a second.
    for (let i = 0; i < 40 && ((await query(base, 'count_over_time(up{job="wiretop"}[1m])')) ?? 0) < 9; i++) await new Promise((resolve) => setTimeout(resolve, 500));
    const rate = await query(base, 'sum(rate(wiretop_http_requests_total[5s]))');
    expect(rate).not.toBeNull();
    expect(rate!).toBeGreaterThan(30 * 0.75);
    expect(rate!).toBeLessThan(30 * 1.25);

    // Once the traffic is over, the total is the capture's count, exactly.
    let total: number | null = null;
    for (let i = 0; i < 60 && total !== requests; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      total = await query(base, 'sum(wiretop_http_requests_total)');
    }
    expect(total).toBe(requests);
    expect(await query(base, 'sum(wiretop_capture_packets_total) > 0')).toBeGreaterThan(0);
  }, 90000);
});
