/** --text's periods: aligned buckets, the partial first and last ones, none before the input. */
import { defaultConfig, type Config } from '../src/config';
import { RunState } from '../src/run/runState';
import { TextSink } from '../src/sinks/text';
import { emptyCaptureStats, type HttpEvent } from '../src/types';

/** A bucket boundary: summaries end at multiples of the bucket size. */
const T0 = 1_700_000_000;

function event(ts: number): HttpEvent {
  return { ts, src: '10.0.0.1', sport: 1, dst: '10.0.0.2', dport: 80, method: 'GET', host: 'h', uri: '/a', section: '/a', status: 200, reqBytes: 0, respBytes: 1, ua: 'u', latencyMs: 1, version: '1.1', route: '/', client: '10.0.0.1', uriTruncated: false, requestHeaders: '', responseHeaders: '' };
}

function heads(text: string): string[] {
  return text.split('\n').filter((line) => /^\d{4}-/.test(line));
}

describe('--text periods', () => {
  const config: Config = { ...defaultConfig(), dashboard_bucket_size: 10 };

  it('prints no summary of the second closed before the first packet, and the last, partial period at the end', () => {
    const run = new RunState(config, 'file.pcap');
    let out = '';
    const sink = new TextSink(run, (text) => { out += text; });
    // The capture's first counters come before any transaction: their watermark closes the
    // second before the data, which ends a bucket (the cause of an empty summary).
    run.updateCapture({ ...emptyCaptureStats(), packets: 3 }, T0 + 0.4);
    run.advanceTo(T0 + 0.4);
    expect(run.stats.lastClosed).toBe(T0 - 1);
    expect(out).toBe('');
    // 13 s at 4 requests a second.
    for (let s = 0; s < 13; s++) {
      run.ingest([0, 0.25, 0.5, 0.75].map((f) => event(T0 + s + f)));
      run.updateCapture({ ...emptyCaptureStats(), packets: 100 * (s + 1), events: 4 * (s + 1) }, T0 + s + 1);
      run.advanceTo(T0 + s + 1);
    }
    expect(heads(out)).toHaveLength(1);
    run.end();
    sink.finish();
    const lines = heads(out);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^2023-11-14 22:13:30 UTC {2}LEARNING \(\d+s left\) {2}40 req \(4\.0\/s\)/);
    // The last period: seconds 10..12 and the second the end closes (13, empty), with its real span and rate.
    expect(lines[1]).toMatch(/^2023-11-14 22:13:34 UTC {2}LEARNING \(\d+s left\) {2}12 req in 4s, partial \(3\.0\/s\)/);
    // Finishing again (a quit after the end of input) prints nothing more.
    sink.finish();
    expect(heads(out)).toHaveLength(2);
  });

  it('a live capture prints its silent periods from its start, not before it', () => {
    const run = new RunState(config, 'eth0');
    let out = '';
    new TextSink(run, (text) => { out += text; });
    // Started at T0 + 5.5; the capture's watermark trails data time by its hold time (2 s).
    for (let t = 5.5; t < 31; t++) {
      run.updateCapture({ ...emptyCaptureStats(), packets: 0 }, T0 + t);
      run.advanceTo(T0 + t - 2);
    }
    expect(heads(out).map((line) => /(\d\d:\d\d:\d\d) UTC .* (\d+) req( in \d+s, partial)?/.exec(line)!.slice(1))).toEqual([
      ['22:13:30', '0', ' in 5s, partial'],
      ['22:13:40', '0', undefined],
    ]);
  });
});
