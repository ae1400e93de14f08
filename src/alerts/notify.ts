/**
 * Alerts that reach people: every alert and recovery of every rule goes, as one JSON event, to
 * a command (`--on-alert CMD`: the event on stdin and as WIRETOP_* variables) and to webhooks
 * (`--webhook URL`: POSTed, with a `text` field that Slack and Mattermost show as is), and as a
 * line to a log file (`--log FILE`, reopened on SIGHUP for logrotate).
 *
 * None of it may slow the capture or the dashboard: everything is asynchronous, each target has
 * a bounded queue (the oldest event is dropped, counted, when it is full), commands are killed
 * after a timeout, webhooks time out and are retried with backoff. Failures are counted, and
 * told (one line each) to whoever listens: the alert log and the log file.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import { isoTime } from '../format';
import type { AlertNotice } from './monitor';

/** One alert or recovery, as every target receives it. */
export interface AlertEvent {
  /** The rule: `High traffic` (the request rate), or a configured rule's name. */
  rule: string;
  state: 'alert' | 'recovered';
  /** Data time of the event, ISO 8601. */
  time: string;
  /** The value that crossed the limit (or came back under it): hits in the window, a percent, or ms. */
  value: number | null;
  limit: number;
  unit: 'hits' | '%' | 'ms';
  /** For a recovery: how long the alert lasted. */
  durationSeconds?: number;
  /** The line the dashboard shows. */
  message: string;
  /** What Slack and Mattermost incoming webhooks display. */
  text: string;
  /** Where the traffic was captured. */
  source: string;
}

/** The event of a notice, or null for notices that are no alert or recovery (learning). */
export function alertEventOf(notice: AlertNotice, source: string): AlertEvent | null {
  const effect = notice.effect;
  if (effect.type !== 'alert' && effect.type !== 'recovered') return null;
  // A configured rule's value may be unknown (a recovery with no traffic); the rate rule's is its hits.
  const ruleEffect = notice.ruleEffect;
  const value = ruleEffect !== undefined && ruleEffect.type !== 'learned' ? ruleEffect.value : effect.hits;
  const state = effect.type === 'alert' ? 'alert' : 'recovered';
  return {
    rule: notice.rule,
    state,
    time: isoTime(effect.at),
    value,
    limit: effect.limit,
    unit: notice.unit,
    ...(effect.type === 'recovered' ? { durationSeconds: effect.durationSeconds } : {}),
    message: notice.message,
    text: `${state === 'alert' ? ':rotating_light:' : ':white_check_mark:'} wiretop on ${source}: ${notice.message}`,
    source,
  };
}

/** Counts of what notifications did. */
export interface NotificationStats {
  sent: number;
  failed: number;
  /** Events dropped because a target's queue was full. */
  dropped: number;
}

/** A failure, told once. */
export type FailureListener = (event: AlertEvent, message: string) => void;

/** Events waiting for one target, at most. */
const MAX_QUEUE = 100;

/** One target: a bounded queue, worked one event at a time. */
abstract class Target {
  private readonly queue: AlertEvent[] = [];
  private busy = false;

  constructor(protected readonly stats: NotificationStats, protected readonly onFailure: FailureListener) {}

  send(event: AlertEvent): void {
    if (this.queue.length >= MAX_QUEUE) {
      this.queue.shift();
      this.stats.dropped++;
    }
    this.queue.push(event);
    this.next();
  }

  /** Nothing is waiting or running. */
  get idle(): boolean {
    return !this.busy && this.queue.length === 0;
  }

  private next(): void {
    if (this.busy) return;
    const event = this.queue.shift();
    if (event === undefined) return;
    this.busy = true;
    void this.deliver(event).then((failure) => {
      if (failure === null) this.stats.sent++;
      else {
        this.stats.failed++;
        this.onFailure(event, failure);
      }
      this.busy = false;
      this.next();
    });
  }

  /** Delivers one event; resolves to null, or what went wrong. Never rejects. */
  protected abstract deliver(event: AlertEvent): Promise<string | null>;
}

/** Bytes of a command's stderr kept for its failure line. */
const MAX_STDERR = 2048;

/** `--on-alert CMD`: runs `sh -c CMD` with the event on stdin and in the environment. */
export class CommandTarget extends Target {
  constructor(private readonly command: string, stats: NotificationStats, onFailure: FailureListener, private readonly timeoutMs = 10_000) {
    super(stats, onFailure);
  }

  protected deliver(event: AlertEvent): Promise<string | null> {
    return new Promise((resolve) => {
      const env = {
        ...process.env,
        WIRETOP_RULE: event.rule, WIRETOP_STATE: event.state, WIRETOP_TIME: event.time, WIRETOP_VALUE: String(event.value ?? ''),
        WIRETOP_LIMIT: String(event.limit), WIRETOP_UNIT: event.unit, WIRETOP_MESSAGE: event.message, WIRETOP_SOURCE: event.source,
      };
      let stderr = '';
      let done = false;
      const finish = (failure: string | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(failure);
      };
      // Its own process group, so that a timeout kills whatever it started too.
      const child = spawn('sh', ['-c', this.command], { env, stdio: ['pipe', 'ignore', 'pipe'], detached: true });
      const timer = setTimeout(() => {
        try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone already */ }
        finish(`--on-alert command killed after ${this.timeoutMs / 1000} s`);
      }, this.timeoutMs);
      child.on('error', (error) => finish(`--on-alert command could not run: ${error.message}`));
      child.stderr!.on('data', (chunk: Buffer) => { if (stderr.length < MAX_STDERR) stderr += chunk.toString('utf8').slice(0, MAX_STDERR - stderr.length); });
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(`${JSON.stringify(event)}\n`);
      child.on('exit', (code, signal) => {
        if (code === 0) finish(null);
        else {
          const said = stderr.trim().split('\n').pop() ?? '';
          finish(`--on-alert command ${signal !== null ? `ended by ${signal}` : `exited ${code}`}${said === '' ? '' : `: ${said}`}`);
        }
      });
    });
  }
}

/** How long a webhook request may take, and the waits before each retry. */
const WEBHOOK_TIMEOUT_MS = 5000;
const RETRY_DELAYS_MS = [1000, 2000, 4000];

/** `--webhook URL`: POSTs the event as JSON; retried with backoff on errors, timeouts and 5xx. */
export class WebhookTarget extends Target {
  constructor(
    private readonly url: string,
    stats: NotificationStats,
    onFailure: FailureListener,
    private readonly timeoutMs = WEBHOOK_TIMEOUT_MS,
    private readonly retryDelaysMs = RETRY_DELAYS_MS,
  ) {
    super(stats, onFailure);
  }

  protected async deliver(event: AlertEvent): Promise<string | null> {
    const body = JSON.stringify(event);
    let failure = '';
    let attempts = 0;
    for (let attempt = 0; attempt <= this.retryDelaysMs.length; attempt++) {
      attempts++;
      if (attempt > 0) {
        await new Promise((resolve) => setTimeout(resolve, this.retryDelaysMs[attempt - 1]));
      }
      failure = await this.post(body);
      if (failure === '') return null;
      if (failure.startsWith('HTTP 4')) break; // the request is wrong: sending it again will not help
    }
    return `webhook ${redact(this.url)}: ${failure} (tried ${attempts} time${attempts === 1 ? '' : 's'})`;
  }

  /** One POST; '' when it was taken (2xx), else what went wrong. */
  private post(body: string): Promise<string> {
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(this.url);
      } catch {
        resolve('not a URL');
        return;
      }
      // https (and the TLS it brings) is loaded by the first https webhook, not by every run.
      const client = url.protocol === 'https:' ? (require('https') as typeof import('https')) : http;
      const request = client.request(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'User-Agent': 'wiretop' },
        timeout: this.timeoutMs,
      }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300 ? '' : `HTTP ${response.statusCode}`));
        response.on('error', (error) => resolve(error.message));
      });
      request.on('timeout', () => request.destroy(new Error(`no answer in ${this.timeoutMs / 1000} s`)));
      request.on('error', (error) => resolve(error.message));
      request.end(body);
    });
  }
}

/** A URL as failure lines show it: without credentials or query (webhook URLs hold secrets). */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.length > 1 ? '/…' : '/'}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * `--log FILE`: a line per alert, recovery and notification failure (text, or JSON lines),
 * written at once; `reopen()` (on SIGHUP) starts writing to whatever now has the name.
 */
export class AlertLogFile {
  private fd: number;

  /** Opens `path` for appending; throws a plain Error saying why it cannot be written. */
  constructor(private readonly path: string, private readonly format: 'text' | 'json') {
    this.fd = AlertLogFile.open(path);
  }

  private static open(path: string): number {
    return fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o640);
  }

  /** Logs an alert or recovery. */
  event(event: AlertEvent): void {
    const { text: _text, ...fields } = event;
    this.write(this.format === 'json' ? JSON.stringify(fields) : `${event.time} ${event.message}`);
  }

  /** Logs a notification failure. */
  failure(event: AlertEvent, message: string): void {
    this.write(this.format === 'json' ? JSON.stringify({ time: event.time, rule: event.rule, state: 'notification-failed', message }) : `${event.time} notification failed: ${message}`);
  }

  /** Starts a new file under the same name (after logrotate renamed the old one); false if it cannot. */
  reopen(): boolean {
    try {
      const fd = AlertLogFile.open(this.path);
      fs.closeSync(this.fd);
      this.fd = fd;
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    try { fs.closeSync(this.fd); } catch { /* closed */ }
  }

  private write(line: string): void {
    try {
      fs.writeSync(this.fd, `${line}\n`);
    } catch {
      // A full disk must not take the monitoring down; the dashboard still shows the alerts.
    }
  }
}

/** Where notifications go. */
export interface NotifySettings {
  command: string | null;
  webhooks: string[];
  log: AlertLogFile | null;
  source: string;
}

/** A notification that could not be delivered: when its alert was, its rule, and why. */
export interface NotificationFailure {
  time: string;
  rule: string;
  message: string;
}

/** Sends every alert and recovery to the command, the webhooks and the log file. */
export class Notifier {
  readonly stats: NotificationStats = { sent: 0, failed: 0, dropped: 0 };
  /** The last failures, newest last (bounded), for the alert log. */
  readonly failures: NotificationFailure[] = [];
  private readonly targets: Target[];
  private readonly failureListeners = new Set<(failure: NotificationFailure) => void>();

  constructor(private readonly settings: NotifySettings) {
    const onFailure: FailureListener = (event, message) => {
      const failure = { time: event.time, rule: event.rule, message };
      this.failures.push(failure);
      if (this.failures.length > 50) this.failures.shift();
      settings.log?.failure(event, message);
      for (const listener of this.failureListeners) listener(failure);
    };
    this.targets = [
      ...(settings.command !== null ? [new CommandTarget(settings.command, this.stats, onFailure)] : []),
      ...settings.webhooks.map((url) => new WebhookTarget(url, this.stats, onFailure)),
    ];
  }

  /** Calls `listener` with each notification failure as it happens (--text prints them); returns the unsubscribe. */
  onFailure(listener: (failure: NotificationFailure) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /** Is there anything to notify? */
  get active(): boolean {
    return this.targets.length > 0 || this.settings.log !== null;
  }

  /** Takes a notice of the alert monitor. */
  notice(notice: AlertNotice): void {
    const event = alertEventOf(notice, this.settings.source);
    if (event === null) return;
    this.settings.log?.event(event);
    for (const target of this.targets) target.send(event);
  }

  /** Resolves once every queued notification is done, or after `ms` (at exit). */
  async drain(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.targets.some((t) => !t.idle) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
