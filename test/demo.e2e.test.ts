/**
 * The demo tells the same story on every run: it learns on the calm rate, spikes once, raises
 * exactly one alert and reports its recovery, with no alert on calm traffic. Checked the way a
 * newcomer meets it (the dashboard in tmux at 80x24, three runs side by side) and headless
 * over the whole demo (every cycle alike, to the second).
 */
import { runWiretop, WIRETOP } from './helpers/runCli';
import { TmuxSession, tmuxAvailable } from './helpers/tmux';
import { DEMO_CALM_RPS, DEMO_CALM_SECONDS, DEMO_CYCLES, DEMO_CYCLE_SECONDS, DEMO_SPIKE_RPS, DEMO_SPIKE_SECONDS, DEMO_PRESETS } from '../src/capture/sources/demo/demo';

const describeTmux = tmuxAvailable() ? describe : describe.skip;

/** What one frame of the dashboard says about the alerting: the status bar's state and the log's count. */
interface Frame { state: string; alerts: number }

function frameOf(screen: string): Frame | undefined {
  const state = /wiretop demo \| (LEARNING|NORMAL|ALERT|RECOVERED)/.exec(screen)?.[1];
  const alerts = /Alerts \((\d+)\)/.exec(screen)?.[1];
  return state && alerts ? { state, alerts: Number(alerts) } : undefined;
}

/** Watches a demo until it has recovered from its first alert; returns the frames' changes. */
async function watchOneCycle(tui: TmuxSession, timeoutMs: number): Promise<Frame[]> {
  const changes: Frame[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const frame = frameOf(tui.screen());
    const last = changes[changes.length - 1];
    if (frame && (!last || last.state !== frame.state || last.alerts !== frame.alerts)) changes.push(frame);
    // Two seconds of data (0.4 s at speed 5) after the recovery: time for a flap to show.
    if (frame?.state === 'RECOVERED' && changes.some((c) => c.state === 'RECOVERED')) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      const after = frameOf(tui.screen());
      if (after && (after.state !== frame.state || after.alerts !== frame.alerts)) changes.push(after);
      return changes;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the demo never recovered; saw ${JSON.stringify(changes)}:\n${tui.screen()}`);
}

describeTmux('--demo in the dashboard at 80x24', () => {
  const sessions: TmuxSession[] = [];
  afterAll(() => sessions.forEach((s) => s.kill()));

  it('three runs tell the same story: learning, calm, one alert, its recovery', async () => {
    // Speed 5: learning ends 4 s in, the spike alerts at 6 s and recovers at 10 s.
    const runs = [0, 1, 2].map(() => {
      const session = new TmuxSession(`"${WIRETOP}" --demo --speed 5`, 80, 24);
      sessions.push(session);
      return session;
    });
    const stories = await Promise.all(runs.map((tui) => watchOneCycle(tui, 45000)));
    for (const story of stories) {
      expect(story).toEqual([
        { state: 'LEARNING', alerts: 0 },
        { state: 'NORMAL', alerts: 0 },
        { state: 'ALERT', alerts: 1 },
        { state: 'RECOVERED', alerts: 1 },
      ]);
    }
    for (const tui of runs) {
      const screen = tui.screen();
      expect(screen).toMatch(/Traffic recovered - hits = 200/);
      expect(screen).toMatch(/High traffic generated an alert/);
      expect(screen).toMatch(/hits = 270, triggered at/);
      tui.keys('q');
    }
    for (const tui of runs) {
      const screen = await tui.waitFor(/EXIT=\d+/);
      expect(screen).toMatch(/wiretop: \d+ requests from demo over [\dhms ]+ of traffic, 1 alert\b/);
      expect(screen).toMatch(/EXIT=0/);
    }
  }, 90000);
});

describe('--demo headless, over all its cycles', () => {
  it('alerts once a cycle, on the spike, for the same 19 s; never on the calm', async () => {
    const result = await runWiretop(['--demo', '--speed', '0', '--report', 'json'], { timeoutMs: 90000 });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      firstTs: number; requests: number;
      alerts: { history: { start: number; end: number; peak: number; hits: number; limit: number; endHits: number }[] };
    };
    const cycleRequests = DEMO_CALM_RPS * (DEMO_CYCLE_SECONDS - DEMO_SPIKE_SECONDS) + DEMO_SPIKE_RPS * DEMO_SPIKE_SECONDS;
    expect(report.requests).toBe(DEMO_CYCLES * cycleRequests);
    const window = DEMO_PRESETS.average_bucket_size!;
    const baseline = DEMO_CALM_RPS * window;
    const history = report.alerts.history;
    expect(history).toHaveLength(DEMO_CYCLES);
    const start = Math.floor(report.firstTs);
    history.forEach((alert, cycle) => {
      const spikeStart = start + cycle * DEMO_CYCLE_SECONDS + DEMO_CALM_SECONDS;
      // The window crosses the limit (10% above the baseline) in the spike's first second...
      expect(alert.start).toBe(spikeStart + 1);
      expect(alert.hits).toBeGreaterThan(alert.limit);
      expect(alert.limit).toBeCloseTo(baseline * 1.1);
      // ... peaks at a window full of spike ...
      expect(alert.peak).toBe(DEMO_SPIKE_RPS * window);
      // ... and recovers when the window is calm again.
      expect(alert.endHits).toBe(baseline);
      expect(alert.end).toBe(spikeStart + DEMO_SPIKE_SECONDS + window);
    });
  }, 120000);
});
