/**
 * The dashboard under load: 100,000 transactions a second for 10 s of wall time flow into a
 * run whose dashboard draws on a fake screen at the default refresh rate. Prints whether
 * ingestion kept up (the feed's lag behind the clock), the redraws per second, and the share
 * of a core spent redrawing and ingesting, as JSON. Run by `npm run bench` in its own process.
 */
import { defaultConfig } from '../src/config';
import { zipfEvents } from '../test/fixtures/zipf';
import { systemClock } from '../src/run/clock';
import { RunState } from '../src/run/runState';
import { emptyCaptureStats, type HttpEvent } from '../src/types';
import { Dashboard } from '../widgets/dashboard';
import { fakeScreen } from '../test/helpers/fakeScreen';

const RATE = 100_000;
const SECONDS = 10;
const TICK_MS = 50;

function main(): void {
  const config = defaultConfig();
  const run = new RunState(config, 'bench');
  const screen = fakeScreen(160, 50);
  const dashboard = new Dashboard({ run, screen, onQuit: () => undefined, color: true, clock: systemClock });
  let renderNs = 0n;
  const render = dashboard.render.bind(dashboard);
  dashboard.render = () => {
    const started = process.hrtime.bigint();
    render();
    renderNs += process.hrtime.bigint() - started;
  };
  // A pool of realistic transactions (Zipf over 50,000 URIs) replayed with fresh timestamps.
  const pool: HttpEvent[] = [];
  zipfEvents(200_000, 50_000, 1.0, 1, 0, 3, (batch) => pool.push(...batch));
  let poolIndex = 0;
  let ingestNs = 0n;
  let maxLagMs = 0;
  const perTick = (RATE * TICK_MS) / 1000;
  const startWall = Date.now();
  const cpuStart = process.cpuUsage();
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
    const due = startWall + ticks * TICK_MS;
    maxLagMs = Math.max(maxLagMs, Date.now() - due);
    const started = process.hrtime.bigint();
    const now = Date.now() / 1000;
    const batch: HttpEvent[] = new Array(perTick);
    for (let i = 0; i < perTick; i++) {
      const e = pool[poolIndex];
      poolIndex = (poolIndex + 1) % pool.length;
      batch[i] = { ...e, ts: now - 0.05 + (i / perTick) * 0.05 };
    }
    run.ingest(batch);
    dashboard.observe(batch);
    run.advanceTo(now - 0.2);
    // The capture worker reports its health every 100 ms; each report asks for a redraw too.
    if (ticks % 2 === 0) {
      run.updateCapture({ ...emptyCaptureStats(), packets: ticks * perTick * 5, events: ticks * perTick }, now);
      dashboard.onCaptureStats();
    }
    ingestNs += process.hrtime.bigint() - started;
    if (ticks * TICK_MS >= SECONDS * 1000) {
      clearInterval(timer);
      const wallMs = Date.now() - startWall;
      const cpu = process.cpuUsage(cpuStart);
      dashboard.destroy();
      screen.destroy();
      process.stdout.write(JSON.stringify({
        events: ticks * perTick,
        wallSeconds: wallMs / 1000,
        maxLagMs,
        renders: dashboard.scheduler.renders,
        rendersPerSecond: dashboard.scheduler.renders / (wallMs / 1000),
        renderMsPerFrame: Number(renderNs) / 1e6 / Math.max(1, dashboard.scheduler.renders),
        renderShareOfCore: Number(renderNs) / 1e6 / wallMs,
        ingestShareOfCore: Number(ingestNs) / 1e6 / wallMs,
        processShareOfCore: (cpu.user + cpu.system) / 1000 / wallMs,
      }) + '\n');
      process.exit(0);
    }
  }, TICK_MS);
}

main();
