/**
 * Alerts end to end: a generated capture with a steady rate, a spike and a calm, through the
 * real command. Exactly one alert, starting and ending within a second of what the schedule
 * implies; `--text` prints the alert and the recovery.
 */
import * as path from 'path';
import { PcapWriter } from './fixtures/pcapWriter';
import { generateTraffic } from '../src/capture/sources/demo/traffic';
import type { Report } from '../src/sinks/report';
import { tempDir } from './helpers/conversation';
import { runWiretop } from './helpers/runCli';

const START = 1_700_000_000;
// 20 req/s for 60 s, 60 req/s for 20 s, 20 req/s for 60 s.
const PHASES = [{ seconds: 60, rps: 20 }, { seconds: 20, rps: 60 }, { seconds: 60, rps: 20 }];
const FLAGS = ['--window', '10', '--learn', '30', '--threshold', '50', '--bucket', '5'];

function capture(): string {
  const file = path.join(tempDir(), 'spike.pcap');
  const writer = new PcapWriter(file);
  for (const { ts, frame } of generateTraffic({ startTs: START, phases: PHASES, seed: 21, connections: 16, requestsPerConnection: 30 })) writer.write(ts, frame);
  writer.close();
  return file;
}

describe('alerts on a generated spike', () => {
  const file = capture();

  it('--report json holds exactly one alert, where the schedule puts it', async () => {
    const result = await runWiretop(['-r', file, '--report', 'json', ...FLAGS]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.requests).toBe(60 * 20 + 20 * 60 + 60 * 20);
    expect(report.alerts.history).toHaveLength(1);
    const [alert] = report.alerts.history;
    // Baseline: 200 requests per 10 s window, limit 300. t s into the spike the window holds
    // 200 + 40 t requests: over 300 after 2.5 s. After the spike it holds 600 − 40 t: back to
    // 300 or under after 7.5 s.
    const spikeStart = START + 60;
    const spikeEnd = START + 80;
    expect(Math.abs(alert.start - (spikeStart + 2.5))).toBeLessThanOrEqual(1);
    expect(Math.abs(alert.end! - (spikeEnd + 7.5))).toBeLessThanOrEqual(1);
    expect(alert.durationSeconds).toBe(alert.end! - alert.start);
    expect(alert.peak).toBeGreaterThan(550);
    expect(report.alerts.maxDurationSeconds).toBe(alert.durationSeconds);
  });

  it('--text prints the alert and the recovery as they happen, between summaries', async () => {
    const result = await runWiretop(['-r', file, '--text', ...FLAGS]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const alertLine = lines.findIndex((l) => /^High traffic generated an alert - hits = \d+, triggered at 2023-11-14 22:14:2\d UTC$/.test(l));
    const recoveryLine = lines.findIndex((l) => /^Traffic recovered - hits = \d+, recovered at 2023-11-14 22:14:4\d UTC, after an alert of \d+s/.test(l));
    expect(alertLine).toBeGreaterThan(0);
    expect(recoveryLine).toBeGreaterThan(alertLine);
    expect(lines.filter((l) => l.startsWith('High traffic')).length).toBe(1);
    // A summary every 5 s of data: ~140 s of traffic.
    const summaries = lines.filter((l) => /^2023-11-14 \d\d:\d\d:\d\d UTC {2}(LEARNING|NORMAL|ALERT|RECOVERED)/.test(l));
    expect(summaries.length).toBeGreaterThanOrEqual(27);
    expect(lines.some((l) => /^ {2}sections: \//.test(l))).toBe(true);
  });
});
