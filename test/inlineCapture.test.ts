/**
 * The capture on the main thread (inlineCapture): the same transactions and counters as the
 * pipeline gives, in the order a worker's messages would bring them; the output's hold/resume
 * holds a file's capture back; stop and a source that cannot open end it as a worker's would.
 * And which runs capture on the main thread (captureOnMainThread).
 */
import * as path from 'path';
import { FLUSH_MS, MAX_BATCH, MAX_BATCHES_IN_FLIGHT, MAX_LIVE_BATCHES_IN_FLIGHT } from '../src/capture/captureLoop';
import { captureLimits } from '../src/capture/limits';
import { CapturePipeline } from '../src/capture/pipeline';
import type { CaptureListener } from '../src/capture/captureSource';
import { InlineCapture } from '../src/capture/inlineCapture';
import type { CaptureRequest, CaptureSourceSpec } from '../src/capture/messages';
import { captureOnMainThread } from '../src/capture/shardedCapture';
import { defaultConfig, type Config } from '../src/config';
import { RunState } from '../src/run/runState';
import { openCapture } from '../src/run/sourceChoice';
import { WiretopError } from '../src/errors';
import type { CaptureStats, HttpEvent } from '../src/types';
import { runFrames, tempDir, writePcap } from './helpers/conversation';
import { exchanges, ListSource } from './helpers/frameLists';

function fileRequest(file: string): CaptureRequest {
  return { source: { kind: 'file', path: file, filter: '', ports: null, speed: 0 }, maxStrLength: 1024, timeout: 30, memoryBudgetMb: 160 };
}

/** What a capture told its listener, in order. */
class Recorder implements CaptureListener {
  readonly calls: string[] = [];
  readonly events: HttpEvent[] = [];
  readonly batches: HttpEvent[][] = [];
  readonly watermarks: number[] = [];
  stats: CaptureStats | null = null;
  error: WiretopError | null = null;
  /** Called with each batch (after it is recorded). */
  onBatch: (events: HttpEvent[]) => void = () => undefined;
  private endedWith: ((reason: string) => void) | null = null;
  readonly ended = new Promise<string>((resolve) => { this.endedWith = resolve; });

  onReady(source: string): void {
    this.calls.push(`ready ${source}`);
  }

  onEvents(events: HttpEvent[], watermark: number): void {
    this.calls.push('events');
    this.events.push(...events);
    this.batches.push(events);
    this.watermarks.push(watermark);
    this.onBatch(events);
  }

  onStats(stats: CaptureStats): void {
    this.calls.push('stats');
    this.stats = stats;
  }

  onEnd(reason: 'eof' | 'stopped'): void {
    this.calls.push(`end ${reason}`);
    this.endedWith?.(reason);
  }

  onError(error: WiretopError): void {
    this.calls.push('error');
    this.error = error;
    this.endedWith?.('error');
  }
}

describe('InlineCapture', () => {
  const dir = tempDir();

  it('gives the transactions and counters the pipeline gives, ready first and the end last, the watermark never going back', async () => {
    const frames = exchanges(300);
    const file = writePcap(path.join(dir, 'three-hundred.pcap'), frames);
    const expected = runFrames(frames);
    const recorder = new Recorder();
    new InlineCapture(fileRequest(file)).start(recorder);
    expect(await recorder.ended).toBe('eof');
    expect(recorder.calls[0]).toBe(`ready ${file}`);
    expect(recorder.calls[recorder.calls.length - 1]).toBe('end eof');
    expect(recorder.events.map((e) => e.uri)).toEqual(expected.events.map((e) => e.uri));
    // A capture file keeps microseconds.
    const microseconds = (events: HttpEvent[]) => events.map((e) => ({ ...e, ts: Math.round(e.ts * 1e6) }));
    expect(microseconds(recorder.events)).toEqual(microseconds(expected.events));
    expect(recorder.stats?.packets).toBe(expected.stats.packets);
    expect(recorder.stats?.flowsTotal).toBe(300);
    expect(recorder.stats).toEqual(expected.stats);
    for (let i = 1; i < recorder.watermarks.length; i++) expect(recorder.watermarks[i]).toBeGreaterThanOrEqual(recorder.watermarks[i - 1]);
    // A watermark says every transaction that started before it has been given: none comes later.
    recorder.batches.forEach((batch, i) => {
      if (i > 0) for (const e of batch) expect(e.ts).toBeGreaterThanOrEqual(recorder.watermarks[i - 1]);
    });
  });

  it('holds a file back while the output is behind, then delivers the rest after resume', async () => {
    const count = (MAX_BATCHES_IN_FLIGHT + 8) * MAX_BATCH;
    const file = writePcap(path.join(dir, 'held.pcap'), exchanges(count));
    const capture = new InlineCapture(fileRequest(file));
    const recorder = new Recorder();
    let batches = 0;
    recorder.onBatch = () => {
      if (++batches === 1) capture.hold();
    };
    capture.start(recorder);
    // Held from its first batch, the capture stops once its bound of batches is in flight: no
    // batch for 300 ms (bounded wait).
    let whileHeld = -1;
    for (let tries = 0; tries < 100 && batches !== whileHeld; tries++) {
      whileHeld = batches;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(batches).toBe(whileHeld);
    // The bound, and the batches of the read that passed it.
    expect(whileHeld).toBeGreaterThan(MAX_BATCHES_IN_FLIGHT);
    expect(whileHeld).toBeLessThanOrEqual(MAX_BATCHES_IN_FLIGHT + 4);
    expect(recorder.calls).not.toContain('end eof');
    capture.resume();
    expect(await recorder.ended).toBe('eof');
    expect(recorder.events).toHaveLength(count);
    expect(new Set(recorder.events.map((e) => e.uri)).size).toBe(count);
  });

  it('counts what it hands over out of flight again: a file carrying many times its in-flight bound is read to its end', async () => {
    // At the smallest budget, ~0.8 MB may be in flight: 6,000 transactions carry ~1.5 MB.
    const file = writePcap(path.join(dir, 'small-budget.pcap'), exchanges(6000));
    const recorder = new Recorder();
    new InlineCapture({ ...fileRequest(file), memoryBudgetMb: 16 }).start(recorder);
    const stalled = new Promise<string>((resolve) => { setTimeout(() => resolve('stalled'), 4000).unref(); });
    expect(await Promise.race([recorder.ended, stalled])).toBe('eof');
    expect(recorder.events).toHaveLength(6000);
  });

  it('live, drops and counts what the output has no room for while it holds, instead of waiting', async () => {
    const count = (MAX_LIVE_BATCHES_IN_FLIGHT + 16) * MAX_BATCH;
    const frames = exchanges(count);
    const source = new ListSource(true, frames, 2000);
    const request: CaptureRequest = { ...fileRequest('unused'), source: { kind: 'live', iface: 'lo', filter: '', bufferBytes: 1 << 20, snapLength: 65_535, nice: 0, promiscuous: false, zeroCopy: true } };
    let given: CaptureRequest | null = null;
    const capture = new InlineCapture(request, (asked) => {
      given = asked;
      return { source, pipeline: new CapturePipeline(captureLimits(1024, 160), 30), maxBytesInFlight: Infinity };
    });
    const recorder = new Recorder();
    let batches = 0;
    recorder.onBatch = () => {
      if (++batches === 1) capture.hold();
    };
    capture.start(recorder);
    for (let tries = 0; tries < 200 && !source.drained; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(source.drained).toBe(true);
    // Held all along: the loop read on, handed over its bound of batches and dropped the rest.
    await new Promise((resolve) => setTimeout(resolve, 2 * FLUSH_MS));
    expect(batches).toBeLessThanOrEqual(MAX_LIVE_BATCHES_IN_FLIGHT + 1);
    expect(recorder.stats!.eventsDropped).toBeGreaterThan(0);
    expect(recorder.stats!.eventsDropped + recorder.events.length).toBe(count);
    await capture.stop();
    expect(await recorder.ended).toBe('stopped');
    expect(source.closed).toBe(true);
    // On the main thread, a live capture's nice value is its session group's alone.
    expect(given!.source).toMatchObject({ kind: 'live', groupNiceOnly: true });
  });

  /** Runs an in-thread capture of `exchanges` whose listener `breaks`; what went to the run's fault, and the source. */
  async function faulted(exchangeCount: number, breaks: (recorder: Recorder) => void): Promise<{ faults: unknown[]; source: ListSource; recorder: Recorder }> {
    const source = new ListSource(true, exchanges(exchangeCount), 1000);
    const faults: unknown[] = [];
    const capture = new InlineCapture(fileRequest('unused'), () => ({ source, pipeline: new CapturePipeline(captureLimits(1024, 160), 30), maxBytesInFlight: Infinity }),
      (error) => faults.push(error));
    const recorder = new Recorder();
    breaks(recorder);
    capture.start(recorder);
    for (let tries = 0; tries < 100 && faults.length === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
    return { faults, source, recorder };
  }

  it('lets a fault of the run\'s own listener out as the run\'s, not as a capture failure, and closes its source', async () => {
    const { faults, source, recorder } = await faulted(50, (r) => { r.onBatch = () => { throw new TypeError('a bug in the statistics'); }; });
    expect(faults).toHaveLength(1);
    expect((faults[0] as Error).message).toBe('a bug in the statistics');
    expect(recorder.error).toBeNull();
    expect(source.closed).toBe(true);
  });

  it('closes its source when the run fails on its first message', async () => {
    const { faults, source } = await faulted(5, (r) => { r.onReady = () => { throw new TypeError('a bug in the run\'s start'); }; });
    expect(faults).toHaveLength(1);
    expect(source.closed).toBe(true);
  });

  it('stops when asked: the source is closed and the end says stopped', async () => {
    const file = writePcap(path.join(dir, 'stopped.pcap'), exchanges(2 * MAX_BATCHES_IN_FLIGHT * MAX_BATCH));
    const capture = new InlineCapture(fileRequest(file));
    const recorder = new Recorder();
    recorder.onBatch = () => capture.hold();
    capture.start(recorder);
    for (let tries = 0; tries < 50 && recorder.events.length === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
    await capture.stop();
    expect(await recorder.ended).toBe('stopped');
    expect(recorder.events.length).toBeLessThan(2 * MAX_BATCHES_IN_FLIGHT * MAX_BATCH);
  });

  it('says what is wrong with a source it cannot open, as a worker would', async () => {
    const recorder = new Recorder();
    new InlineCapture(fileRequest(path.join(dir, 'missing.pcap'))).start(recorder);
    expect(await recorder.ended).toBe('error');
    expect(recorder.error).toBeInstanceOf(WiretopError);
    expect(recorder.error?.message).toMatch(/missing\.pcap/);
    expect(recorder.calls).toEqual(['error']);
  });

  it('stopped before it started, ends without opening its source', async () => {
    const recorder = new Recorder();
    const capture = new InlineCapture(fileRequest(path.join(dir, 'missing.pcap')));
    capture.start(recorder);
    await capture.stop();
    expect(await recorder.ended).toBe('stopped');
    expect(recorder.calls).toEqual(['end stopped']);
  });
});

describe('captureOnMainThread', () => {
  const live: CaptureSourceSpec = { kind: 'live', iface: 'lo', filter: '', bufferBytes: 32 << 20, snapLength: 262_144, nice: -5, promiscuous: true, zeroCopy: true };
  const file: CaptureSourceSpec = { kind: 'file', path: 'x.pcap', filter: '', ports: null, speed: 0 };

  it('is a live capture of wiretop\'s choice of one worker: 1 or 2 cores', () => {
    expect(captureOnMainThread(0, live, false, 1)).toBe(true);
    expect(captureOnMainThread(0, live, false, 2)).toBe(true);
    expect(captureOnMainThread(0, live, false, 3)).toBe(false);
    expect(captureOnMainThread(0, live, false, 16)).toBe(false);
  });

  it('is never a capture whose workers were given, a file or the demo, nor one beside work that holds the main thread', () => {
    expect(captureOnMainThread(1, live, false, 2)).toBe(false);
    expect(captureOnMainThread(2, live, false, 2)).toBe(false);
    expect(captureOnMainThread(0, file, false, 2)).toBe(false);
    expect(captureOnMainThread(0, { kind: 'demo', seed: 1, speed: 1 }, false, 2)).toBe(false);
    expect(captureOnMainThread(0, live, true, 2)).toBe(false);
  });

  it('is asked of the environment by a run: not beside --persist, plug-ins or --har', () => {
    const asked = (config: Config) => {
      let request: CaptureRequest | null = null;
      const env = { createCapture: (r: CaptureRequest) => { request = r; return new InlineCapture(r); }, writeErr: () => undefined };
      openCapture({ spec: live, merging: false, runName: 'lo' }, { reads: [], config, interactive: true, keyLogFd: undefined }, new RunState(config, 'lo'), env);
      return request!.onMainThread;
    };
    const onSmallMachine = captureOnMainThread(0, live, false);
    expect(asked(defaultConfig())).toBe(onSmallMachine);
    expect(asked({ ...defaultConfig(), persist_dir: '/var/lib/wiretop' })).toBe(false);
    expect(asked({ ...defaultConfig(), plugins: ['./mine.js'] })).toBe(false);
    expect(asked({ ...defaultConfig(), har_file: 'out.har' })).toBe(false);
    expect(asked({ ...defaultConfig(), workers: 1 })).toBe(false);
  });
});
