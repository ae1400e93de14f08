/**
 * The dashboard end to end in tmux: panel titles and rows on screen, focus, help, an alert in
 * the alert log during the demo's spike, quitting with the terminal restored, on several TERM
 * values and sizes; and the --text fallback where no dashboard can run.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { PcapWriter } from './fixtures/pcapWriter';
import { generateTraffic } from '../src/capture/sources/demo/traffic';
import { tempDir } from './helpers/conversation';
import { runWiretop, WIRETOP } from './helpers/runCli';
import { TmuxSession, tmuxAvailable } from './helpers/tmux';

const describeTmux = tmuxAvailable() ? describe : describe.skip;
const TITLES = [/Requests\/s:/, /Capture health/, /Top sections/, /Top domains/, /Status .* err/, /User agents/, /Alerts \(\d+\)/];

function fixture(): string {
  const file = path.join(tempDir(), 'replay.pcap');
  const writer = new PcapWriter(file);
  for (const { ts, frame } of generateTraffic({ startTs: 1_700_000_000, phases: [{ seconds: 30, rps: 30 }], seed: 8, connections: 8, requestsPerConnection: 40 })) writer.write(ts, frame);
  writer.close();
  return file;
}

describeTmux('dashboard in tmux', () => {
  const sessions: TmuxSession[] = [];
  const open = (command: string, columns: number, rows: number, term?: string) => {
    const session = new TmuxSession(command, columns, rows, term);
    sessions.push(session);
    return session;
  };
  afterAll(() => sessions.forEach((s) => s.kill()));

  it.each([[80, 24], [120, 40]])('--demo at %ix%i: every panel, focus, help, an alert during the spike, q exits 0', async (columns, rows) => {
    const tui = open(`"${WIRETOP}" --demo --speed 5`, columns, rows);
    let screen = await tui.waitFor(/Top sections[\s\S]*\/\w+\s+\d+/);
    for (const title of TITLES) expect(screen).toMatch(title);
    expect(screen).toMatch(/▶ Top sections/);
    // Endpoints share the sections' place: the second Tab reaches the domains.
    tui.keys('Tab');
    await tui.waitFor(/▶ Endpoints/);
    tui.keys('Tab');
    screen = await tui.waitFor(/▶ Top domains/);
    expect(screen).not.toMatch(/▶ Top sections/);
    tui.keys('?');
    // The whole help fits at 80x24, down to its last key.
    await tui.waitFor(/Keys \(Esc or \? to close\)[\s\S]*drill down[\s\S]*q \/ Ctrl-C +quit/);
    tui.keys('Escape');
    await tui.waitFor(/^(?![\s\S]*Keys \(Esc)/);
    // The demo learns for 20 s of data (4 s at speed 5), spikes at 30 s and recovers at 50 s.
    screen = await tui.waitFor(/ALERT since \d\d:\d\d:\d\d/, 30000);
    expect(screen).toMatch(/High traffic generated/);
    await tui.waitFor(/Traffic recovered/, 30000);
    tui.keys('q');
    screen = await tui.waitFor(/EXIT=\d+/);
    expect(screen).toMatch(/wiretop: \d+ requests from demo over [\dhms ]+ of traffic, \d+ alerts?/);
    expect(screen).toMatch(/EXIT=0/);
    // The terminal is given back: no panel left on the screen.
    expect(screen).not.toMatch(/Top sections/);
  }, 60000);

  it('drills from a section to its endpoints, to an endpoint\'s transactions, to one transaction\'s detail', async () => {
    const tui = open(`"${WIRETOP}" --demo --speed 5`, 100, 30);
    await tui.waitFor(/Top sections[\s\S]*\/\w+\s+\d+/);
    tui.keys('Enter');
    await tui.waitFor(/Endpoints of \/\w+[\s\S]*(GET|POST|PUT|DELETE|HEAD) \/\w+/);
    tui.keys('t');
    await tui.waitFor(/Transactions of (GET|POST|PUT|DELETE|HEAD) \/\w+\S*: \d+, newest first/);
    tui.keys('Enter');
    const detail = await tui.waitFor(/Timings:[\s\S]*latency[\s\S]*Connection: [\d.]+:\d+ → [\d.]+:80/);
    expect(detail).toMatch(/^[│x]?(GET|POST|PUT|DELETE|HEAD) \/\S+ HTTP\/1\.1/m);
    expect(detail).toMatch(/Endpoint: (GET|POST|PUT|DELETE|HEAD) \/\w+/);
    tui.keys('Escape');
    await tui.waitFor(/Transactions of/);
    tui.keys('Escape');
    await tui.waitFor(/Endpoints of/);
    tui.keys('l');
    await tui.waitFor(/Slowest requests \(last \d+s\): \d+, slowest first/);
    tui.keys('q');
    expect(await tui.waitFor(/EXIT=\d+/)).toMatch(/EXIT=0/);
  }, 60000);

  it('gives the terminal back even when the process is killed with SIGKILL', async () => {
    const tui = open(`"${WIRETOP}" --demo`, 100, 30);
    await tui.waitFor(/Top sections/);
    expect(tui.display('#{alternate_on}')).toBe('1');
    const shell = Number(tui.display('#{pane_pid}'));
    const node = spawnSync('pgrep', ['-P', String(shell), 'node'], { encoding: 'utf8' }).stdout.trim();
    expect(node).toMatch(/^\d+$/);
    process.kill(Number(node), 'SIGKILL');
    const screen = await tui.waitFor(/the terminal is given back/);
    expect(screen).not.toMatch(/Top sections/);
    expect(tui.display('#{alternate_on}')).toBe('0');
    // Line editing and echo are back on (the modes from before the dashboard).
    const modes = spawnSync('stty', ['-F', tui.display('#{pane_tty}'), '-a'], { encoding: 'utf8' }).stdout;
    expect(modes).toMatch(/(^|\s)icanon(\s|$)/m);
    expect(modes).toMatch(/(^|\s)echo(\s|$)/m);
  }, 30000);

  it('replays a capture file (-r --speed 0) and keeps the result on screen until q', async () => {
    const tui = open(`"${WIRETOP}" -r "${fixture()}" --speed 0 --bucket 5`, 100, 30);
    const screen = await tui.waitFor(/\(ended\)/);
    expect(screen).toMatch(/shop\.example\.com\s+\d+/);
    tui.keys('w', 'w', 'w');
    await tui.waitFor(/Top sections \(all\)/);
    tui.keys('/');
    tui.keys('api.example', 'Enter');
    await tui.waitFor(/filter: api\.example/);
    tui.keys('Tab', 'Tab');
    const filtered = await tui.waitFor(/▶ Top domains/);
    expect(filtered).toMatch(/api\.example\.com/);
    expect(filtered).not.toMatch(/shop\.example\.com\s+\d+/);
    tui.keys('C-c');
    expect(await tui.waitFor(/EXIT=\d+/)).toMatch(/EXIT=0/);
  }, 30000);

  it.each(['xterm', 'xterm-256color', 'tmux-256color', 'screen-256color', 'vt100'])('TERM=%s draws without errors and quits cleanly', async (term) => {
    const tui = open(`"${WIRETOP}" --demo --speed 5`, 80, 24, term);
    const screen = await tui.waitFor(/Top domains[\s\S]*example\.com/);
    for (const title of TITLES) expect(screen).toMatch(title);
    expect(screen).not.toMatch(/Error|plab_norm|undefined/);
    tui.keys('q');
    expect(await tui.waitFor(/EXIT=\d+/)).toMatch(/EXIT=0/);
  }, 30000);

  it('a capture error in a terminal is one line, exit 1, and no dashboard flash', async () => {
    const tui = open(`clear; "${WIRETOP}" -i nosuch0`, 100, 24);
    const screen = await tui.waitFor(/EXIT=\d+/);
    expect(screen).toMatch(/^wiretop: (no such interface: nosuch0|cannot capture on nosuch0: permission denied)/m);
    expect(screen).toMatch(/EXIT=1/);
    expect(screen).not.toMatch(/Top sections|Requests\/s/);
  }, 20000);

  it('follows resizes: smaller, too small, and back', async () => {
    const tui = open(`"${WIRETOP}" --demo --speed 5`, 120, 40);
    await tui.waitFor(/Top domains[\s\S]*example\.com/);
    tui.resize(80, 24);
    const allPanels = /Requests\/s:[\s\S]*Capture health[\s\S]*Top sections[\s\S]*Top domains[\s\S]*Status[\s\S]*User agents[\s\S]*Alerts \(/;
    let screen = await tui.waitFor(allPanels);
    expect(screen.split('\n').every((line) => line.length <= 80)).toBe(true);
    for (const title of TITLES) expect(screen).toMatch(title);
    tui.resize(60, 20);
    await tui.waitFor(/terminal too small: 60x20/);
    tui.resize(100, 30);
    screen = await tui.waitFor(allPanels);
    expect(screen).not.toMatch(/too small/);
    for (const title of TITLES) expect(screen).toMatch(title);
    tui.keys('q');
    expect(await tui.waitFor(/EXIT=\d+/)).toMatch(/EXIT=0/);
  }, 30000);

  it('says when the terminal is too small', async () => {
    const tui = open(`"${WIRETOP}" --demo`, 70, 20);
    await tui.waitFor(/terminal too small: 70x20 \(wiretop needs 80x24\)/);
    tui.keys('q');
    expect(await tui.waitFor(/EXIT=\d+/)).toMatch(/EXIT=0/);
  }, 20000);
});

describe('no terminal', () => {
  it('falls back to --text with a note when stdout is not a terminal', async () => {
    const result = await runWiretop(['-r', fixture(), '--bucket', '5']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^wiretop: stdout is not a terminal: printing --text summaries instead/);
    expect(result.stdout).toMatch(/^2023-11-14 \d\d:\d\d:\d\d UTC {2}LEARNING/m);
  });

  it('refuses --tui with TERM=dumb the same way', async () => {
    const result = await runWiretop(['--tui', '-r', fixture()], { env: { TERM: 'dumb' } });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/printing --text summaries instead/);
  });
});
