/** Notifications: webhooks against real HTTP servers on 127.0.0.1, commands, the alert log file. */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { AlertLogFile, CommandTarget, Notifier, WebhookTarget, alertEventOf, redact, type AlertEvent, type NotificationStats } from '../src/alerts/notify';
import type { AlertNotice } from '../src/alerts/monitor';
import { tempDir } from './helpers/conversation';

const dir = tempDir();

function notice(at: number, type: 'alert' | 'recovered' = 'alert'): AlertNotice {
  const effect = type === 'alert' ? { type, at, hits: 300, limit: 200 } as const
    : { type, at, hits: 150, limit: 200, startedAt: at - 60, durationSeconds: 60, peak: 320 } as const;
  return { effect, message: `High traffic ${type === 'alert' ? 'generated an alert' : 'recovered'} - hits = ${effect.hits}`, rule: 'High traffic', unit: 'hits' };
}

const EVENT: AlertEvent = alertEventOf(notice(1_700_000_000), 'eth0')!;

/** A server on 127.0.0.1 that answers each request with the next of `statuses` (the last one repeats), or never. */
async function server(statuses: Array<number | 'hang'>): Promise<{ url: string; bodies: string[]; close: () => Promise<void> }> {
  const bodies: string[] = [];
  let n = 0;
  const srv = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => { body += chunk.toString(); });
    request.on('end', () => {
      bodies.push(body);
      const status = statuses[Math.min(n++, statuses.length - 1)];
      if (status === 'hang') return;
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/secret-token?key=abc`,
    bodies,
    close: () => new Promise((resolve) => { srv.closeAllConnections(); srv.close(() => resolve()); }),
  };
}

/** Sends one event to a target and waits until it is done; returns the stats and the failures told. */
async function deliver(make: (stats: NotificationStats, onFailure: (e: AlertEvent, m: string) => void) => WebhookTarget | CommandTarget) {
  const stats: NotificationStats = { sent: 0, failed: 0, dropped: 0 };
  const failures: string[] = [];
  const target = make(stats, (_e, message) => failures.push(message));
  target.send(EVENT);
  for (let i = 0; i < 400 && !target.idle; i++) await new Promise((resolve) => setTimeout(resolve, 25));
  return { stats, failures, target };
}

describe('webhooks', () => {
  it('POST the event as JSON with a text field Slack shows', async () => {
    const hook = await server([200]);
    const { stats } = await deliver((s, f) => new WebhookTarget(hook.url, s, f));
    await hook.close();
    expect(stats).toEqual({ sent: 1, failed: 0, dropped: 0 });
    const body = JSON.parse(hook.bodies[0]) as AlertEvent;
    expect(body).toMatchObject({ rule: 'High traffic', state: 'alert', value: 300, limit: 200, unit: 'hits', source: 'eth0', time: '2023-11-14T22:13:20.000Z' });
    expect(body.text).toMatch(/^:rotating_light: wiretop on eth0: High traffic generated an alert/);
  });

  it('are retried with backoff after a 500, and succeed', async () => {
    const hook = await server([500, 503, 200]);
    const { stats } = await deliver((s, f) => new WebhookTarget(hook.url, s, f, 1000, [10, 20, 40]));
    await hook.close();
    expect(hook.bodies).toHaveLength(3);
    expect(stats).toEqual({ sent: 1, failed: 0, dropped: 0 });
  });

  it('to a server that is down fail after the retries, counted, and said without the URL\'s secrets', async () => {
    const hook = await server([200]);
    await hook.close();
    const { stats, failures } = await deliver((s, f) => new WebhookTarget(hook.url, s, f, 1000, [10, 20]));
    expect(stats).toEqual({ sent: 0, failed: 1, dropped: 0 });
    expect(failures[0]).toMatch(/^webhook http:\/\/127\.0\.0\.1:\d+\/…: .*ECONNREFUSED.* \(tried 3 times\)$/);
    expect(failures[0]).not.toMatch(/secret-token|key=abc/);
    expect(redact('https://user:pw@hooks.slack.com/services/T0/B0/XYZ')).toBe('https://hooks.slack.com/…');
  });

  it('to a server that never answers time out; a slow target never holds the caller, its queue is bounded', async () => {
    const hook = await server(['hang']);
    const stats: NotificationStats = { sent: 0, failed: 0, dropped: 0 };
    const failures: string[] = [];
    const target = new WebhookTarget(hook.url, stats, (_e, m) => failures.push(m), 200, []);
    // 150 events at once: send() returns at once each time; past 100 waiting, the oldest are dropped.
    for (let i = 0; i < 150; i++) target.send(EVENT);
    expect(stats.dropped).toBe(49);
    for (let i = 0; i < 40 && failures.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(failures[0]).toMatch(/no answer in 0\.2 s/);
    await hook.close();
  });
});

describe('--on-alert commands', () => {
  it('get the event on stdin and as WIRETOP_* variables', async () => {
    const out = path.join(dir, 'event.out');
    const command = `cat > ${out}; echo "$WIRETOP_RULE|$WIRETOP_STATE|$WIRETOP_VALUE|$WIRETOP_LIMIT|$WIRETOP_UNIT" >> ${out}`;
    const { stats } = await deliver((s, f) => new CommandTarget(command, s, f));
    expect(stats.sent).toBe(1);
    const [json, vars] = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(JSON.parse(json)).toMatchObject({ rule: 'High traffic', state: 'alert' });
    expect(vars).toBe('High traffic|alert|300|200|hits');
  });

  it('that fail are recorded with their exit status and stderr; one that hangs is killed after its timeout', async () => {
    const failed = await deliver((s, f) => new CommandTarget('echo oops >&2; exit 3', s, f));
    expect(failed.stats.failed).toBe(1);
    expect(failed.failures[0]).toBe('--on-alert command exited 3: oops');
    const hung = await deliver((s, f) => new CommandTarget('sleep 30', s, f, 300));
    expect(hung.failures[0]).toBe('--on-alert command killed after 0.3 s');
  });
});

describe('the alert log file', () => {
  it('gets a line per alert, recovery and failure, and goes on in a new file after a rotation', () => {
    const file = path.join(dir, 'alerts.log');
    const log = new AlertLogFile(file, 'text');
    const notifier = new Notifier({ command: null, webhooks: [], log, source: 'eth0' });
    notifier.notice(notice(1_700_000_000));
    fs.renameSync(file, `${file}.1`);
    expect(log.reopen()).toBe(true);
    notifier.notice(notice(1_700_000_060, 'recovered'));
    log.failure(EVENT, 'webhook http://x/…: HTTP 500');
    log.close();
    expect(fs.readFileSync(`${file}.1`, 'utf8')).toBe('2023-11-14T22:13:20.000Z High traffic generated an alert - hits = 300\n');
    expect(fs.readFileSync(file, 'utf8').split('\n')).toEqual([
      '2023-11-14T22:14:20.000Z High traffic recovered - hits = 150',
      '2023-11-14T22:13:20.000Z notification failed: webhook http://x/…: HTTP 500',
      '',
    ]);
  });

  it('in JSON lines; a path that cannot be written is refused at once', () => {
    const file = path.join(dir, 'alerts.jsonl');
    const log = new AlertLogFile(file, 'json');
    log.event(EVENT);
    log.close();
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ rule: 'High traffic', state: 'alert', value: 300, unit: 'hits' });
    expect(() => new AlertLogFile('/nonexistent/dir/alerts.log', 'text')).toThrow(/ENOENT/);
  });
});
