/**
 * The run's lifecycle in-process, with a fake capture and a fake dashboard: quit during the
 * start, an error during the start, the end of the input, a signal while draining.
 */
import type { CaptureListener, CaptureSource } from '../src/capture/captureSource';
import { WiretopError } from '../src/errors';
import { run, type RunEnvironment } from '../src/main';
import { systemClock, type Clock } from '../src/run/clock';
import { INTERFACE_DOWN_GRACE_MS } from '../src/run/interfaceGrace';
import type { RunPhase } from '../src/run/lifecycle';
import type { Sink } from '../src/run/sink';
import { emptyCaptureStats, type HttpEvent } from '../src/types';

const T0 = 1_700_000_000;

function event(ts: number): HttpEvent {
  return {
    ts, src: '10.0.0.1', sport: 1, dst: '10.0.0.2', dport: 80, method: 'GET', host: 'example.com', uri: '/a/b', section: '/a',
    status: 200, reqBytes: 0, respBytes: 10, ua: 'curl/8', latencyMs: 1, version: '1.1', route: '/', client: '10.0.0.1', uriTruncated: false, requestHeaders: '', responseHeaders: '',
  };
}

/** A capture the test drives: it starts, delivers and ends when told. */
class FakeCapture implements CaptureSource {
  listener: CaptureListener | null = null;
  stops = 0;
  /** stop() resolves when the test calls `ended()`; `endOnStop` makes it end at once. */
  private release: (() => void) | null = null;

  constructor(private readonly endOnStop = true) {}

  start(listener: CaptureListener): void {
    this.listener = listener;
  }

  stop(): Promise<void> {
    this.stops++;
    if (this.endOnStop) return Promise.resolve();
    return new Promise((resolve) => { this.release = resolve; });
  }

  /** The capture hands over its end (`stopped`) and exits. */
  ended(): void {
    this.listener!.onEnd('stopped');
    this.release?.();
  }
}

/** A run with fakes all round; `interrupt` is Ctrl-C. */
function harness(argv: string[], capture: FakeCapture, options: { tty?: boolean; clock?: Clock } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const phases: RunPhase[] = [];
  const tui = { opened: 0, finished: 0, events: 0, closed: 0 };
  let interrupt: () => void = () => undefined;
  const env: RunEnvironment = {
    isTTY: options.tty ?? false,
    env: { TERM: 'xterm' },
    writeOut: (text) => { out.push(text); },
    writeErr: (text) => { err.push(text); },
    createCapture: () => capture,
    heapLimitMb: () => 4096,
    createTui: (): Sink => {
      tui.opened++;
      return {
        interactive: true,
        onEvents: (events) => { tui.events += events.length; },
        finish: () => { tui.finished++; },
        close: () => { tui.closed++; return 'wiretop: closed\n'; },
      };
    },
    onInterrupt: (handler) => {
      interrupt = handler;
      return () => { interrupt = () => undefined; };
    },
    onPhase: (phase) => { phases.push(phase); },
    clock: options.clock ?? systemClock,
  };
  const exit = run(argv, env);
  return { exit, out, err, phases, tui, interrupt: () => interrupt() };
}

describe('backpressure', () => {
  it('while stdout is behind, the run takes no more batches; it resumes on drain', async () => {
    const capture = new FakeCapture() as FakeCapture & { held: number; resumed: number; hold(): void; resume(): void };
    capture.held = 0;
    capture.resumed = 0;
    capture.hold = () => { capture.held++; };
    capture.resume = () => { capture.resumed++; };
    const lines: string[] = [];
    let drained: (() => void) | null = null;
    const env: RunEnvironment = {
      isTTY: false,
      env: {},
      // The reader is slow: every write is queued.
      writeOut: (text) => { lines.push(text); return false; },
      onOutputDrained: (listener) => { drained = listener; },
      writeErr: () => undefined,
      createCapture: () => capture,
      heapLimitMb: () => 4096,
      onInterrupt: () => () => undefined,
      clock: systemClock,
    };
    const exit = run(['--ndjson', '-r', 'x.pcap'], env);
    const listener = capture.listener!;
    listener.onReady('x.pcap');
    listener.onEvents([event(T0), event(T0 + 0.1)], T0);
    listener.onEvents([event(T0 + 0.2)], T0);
    expect(capture.held).toBe(1);
    expect(capture.resumed).toBe(0);
    drained!();
    expect(capture.resumed).toBe(1);
    listener.onEvents([event(T0 + 0.3)], T0);
    expect(capture.held).toBe(2);
    listener.onEnd('eof');
    expect(await exit).toBe(0);
    expect(lines.join('').trim().split('\n')).toHaveLength(4);
  });
});

describe('the run lifecycle', () => {
  it('quit during the start: the capture stops, no screen ever opens, exit 0', async () => {
    const capture = new FakeCapture();
    const h = harness(['--tui', '-i', 'lo'], capture, { tty: true });
    h.interrupt();
    expect(await h.exit).toBe(0);
    // A late "ready" from the capture opens nothing.
    capture.listener!.onReady('lo');
    expect(h.tui.opened).toBe(0);
    expect(capture.stops).toBeGreaterThanOrEqual(1);
    expect(h.phases).toEqual(['starting', 'draining', 'stopping', 'done']);
    expect(h.err).toEqual([]);
  });

  it('an error during the start: one line on stderr, exit 1, no screen, nothing on stdout', async () => {
    const capture = new FakeCapture();
    const h = harness(['--tui', '-i', 'eth9'], capture, { tty: true });
    capture.listener!.onError(new WiretopError('capture', 'eth9: no such interface (see ip link)'));
    expect(await h.exit).toBe(1);
    expect(h.err).toEqual(['wiretop: eth9: no such interface (see ip link)\n']);
    expect(h.out).toEqual([]);
    expect(h.tui.opened).toBe(0);
    expect(h.phases).toEqual(['starting', 'stopping', 'done']);
  });

  it('the end of the input: a headless output finishes and the run ends by itself', async () => {
    const capture = new FakeCapture();
    const h = harness(['--report', 'json', '-r', 'x.pcap'], capture);
    const listener = capture.listener!;
    listener.onReady('x.pcap');
    listener.onEvents([event(T0), event(T0 + 0.5), event(T0 + 1.2)], T0 + 1);
    listener.onEnd('eof');
    expect(await h.exit).toBe(0);
    const report = JSON.parse(h.out.join(''));
    expect(report.requests).toBe(3);
    expect(report.source).toBe('x.pcap');
    expect(h.phases).toEqual(['starting', 'running', 'stopping', 'done']);
  });

  it('a live capture without -i names the interface it chose, where it listens and in its end line; the partial period is printed on quit', async () => {
    const capture = new FakeCapture();
    const h = harness(['--text'], capture);
    const listener = capture.listener!;
    // The capture resolved the default interface: the worker says which in its ready message.
    listener.onReady('eth7');
    listener.onEvents([event(T0 + 1), event(T0 + 2)], T0 + 3);
    listener.onStats({ ...emptyCaptureStats(), packets: 12, events: 2 }, T0 + 3, T0 + 3);
    h.interrupt();
    expect(await h.exit).toBe(0);
    expect(h.err[0]).toMatch(/^wiretop: listening on eth7 \(the default interface\), filter "tcp port 80 or tcp port 443"\n$/);
    expect(h.err[h.err.length - 1]).toBe('wiretop: 2 transactions in 12 packets from eth7 (the default interface); dropped: 0 packets by the kernel, 0 by the interface, 0 transactions by wiretop\n');
    expect(h.out.join('')).toMatch(/ 2 req in \ds, partial /);
  });

  it('the dashboard stays after the end of the input, until the user quits', async () => {
    const capture = new FakeCapture();
    const h = harness(['--tui', '-r', 'x.pcap'], capture, { tty: true });
    const listener = capture.listener!;
    listener.onReady('x.pcap');
    listener.onEvents([event(T0)], T0);
    listener.onEnd('eof');
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.phases[h.phases.length - 1]).toBe('running');
    expect(h.tui.finished).toBe(1);
    h.interrupt();
    expect(await h.exit).toBe(0);
    expect(h.out).toEqual(['wiretop: closed\n']);
    expect(h.phases).toEqual(['starting', 'running', 'stopping', 'done']);
  });

  it('while draining, the last transactions the capture hands over still count', async () => {
    const capture = new FakeCapture(false);
    const h = harness(['--report', 'json', '-r', 'x.pcap'], capture);
    const listener = capture.listener!;
    listener.onReady('x.pcap');
    listener.onEvents([event(T0), event(T0 + 0.5)], T0);
    h.interrupt();
    expect(h.phases[h.phases.length - 1]).toBe('draining');
    expect(capture.stops).toBe(1);
    listener.onEvents([event(T0 + 1), event(T0 + 1.5)], T0 + 1);
    capture.ended();
    expect(await h.exit).toBe(0);
    expect(JSON.parse(h.out.join('')).requests).toBe(4);
    expect(h.out).toHaveLength(1);
    expect(h.phases).toEqual(['starting', 'running', 'draining', 'stopping', 'done']);
  });

  it('a second signal while draining ends the run at once: terminal back, one line, exit 130', async () => {
    const capture = new FakeCapture(false); // a capture that never finishes stopping
    const h = harness(['--tui', '-i', 'lo'], capture, { tty: true });
    capture.listener!.onReady('lo');
    h.interrupt();
    h.interrupt();
    expect(await h.exit).toBe(130);
    expect(h.tui.closed).toBe(1);
    expect(h.err).toEqual(["wiretop: stopped at once (second interrupt): the capture's last transactions are not counted\n"]);
    expect(h.phases).toEqual(['starting', 'running', 'draining', 'stopping', 'done']);
    // The capture ending late changes nothing.
    capture.ended();
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.out).toEqual([]);
  });

  it('an error while draining still ends the run with the error', async () => {
    const capture = new FakeCapture(false);
    const h = harness(['--text', '-r', 'x.pcap'], capture);
    capture.listener!.onReady('x.pcap');
    h.interrupt();
    capture.listener!.onError(new WiretopError('capture', 'read error on x.pcap'));
    capture.ended();
    expect(await h.exit).toBe(1);
    expect(h.err).toEqual(['wiretop: read error on x.pcap\n']);
  });
});

describe('a headless live capture whose interface goes down', () => {
  /** A clock the test moves, and a capture-health report with the interface down or up. */
  function downRun() {
    let now = 1_700_000_000_000;
    const capture = new FakeCapture();
    const h = harness(['--ndjson', '-i', 'eth0'], capture, { clock: { ...systemClock, now: () => now } });
    const listener = capture.listener!;
    listener.onReady('eth0');
    let dataTime = T0;
    const report = (down: boolean) => listener.onStats({ ...emptyCaptureStats(), interfaceDown: down ? 1 : 0 }, dataTime, dataTime);
    return { h, report, advance: (ms: number) => { now += ms; dataTime += ms / 1000; } };
  }

  it('fails once it has been down for the grace, wall time: one line, exit 1', async () => {
    const { h, report, advance } = downRun();
    report(true);
    advance(INTERFACE_DOWN_GRACE_MS - 1);
    report(true);
    expect(h.phases[h.phases.length - 1]).toBe('running');
    advance(1);
    report(true);
    expect(await h.exit).toBe(1);
    expect(h.err[h.err.length - 1]).toBe('wiretop: eth0: the interface is down, nothing can be captured (bring it up, or capture on another with -i)\n');
  });

  it('back up within the grace, it goes on; a later outage gets a whole grace of its own', async () => {
    const { h, report, advance } = downRun();
    report(true);
    advance(INTERFACE_DOWN_GRACE_MS - 1000);
    report(false);
    advance(1000);
    report(true);
    advance(INTERFACE_DOWN_GRACE_MS - 1);
    report(true);
    expect(h.phases[h.phases.length - 1]).toBe('running');
    h.interrupt();
    expect(await h.exit).toBe(0);
  });
});
