/**
 * A capture made of other wiretops' `--ndjson` streams (files, pipes, `<(ssh web1 wiretop …)`):
 * read on the main thread (JSON lines need no packet work), merged in time order, and given to
 * the run like any capture's transactions. A source that ends or fails is said once and the
 * others go on; the capture ends when all have.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { WiretopError } from '../errors';
import { emptyCaptureStats } from '../types';
import type { CaptureListener, CaptureSource } from './captureSource';
import { EventMerger, parseEventLine, parseHealthLine, parseTlsLine, type NodeEvent, type NodeHealth } from './ndjsonInput';

/** How often merged transactions go out, ms. */
const FLUSH_MS = 100;

/** Bytes of one line read at most (a longer one is counted as malformed and skipped). */
const MAX_LINE = 64 * 1024;

/** The node name of a source: its file name (`/dev/fd/63` for `<(…)`, hence `--node` on the sending side). */
export function sourceNodeName(file: string): string {
  return file === '-' ? 'stdin' : path.basename(file);
}

function describeOpenError(error: NodeJS.ErrnoException): string {
  return error.code === 'ENOENT' ? 'no such file' : error.code === 'EACCES' ? 'permission denied' : error.message;
}

/** Reads several `--ndjson` streams as one capture. */
export class NdjsonCapture implements CaptureSource {
  readonly merger: EventMerger;
  private readonly streams: fs.ReadStream[] = [];
  private timer: NodeJS.Timeout | null = null;
  private listener: CaptureListener | null = null;
  private stopped = false;
  private done = false;
  private resolveStop: (() => void) | null = null;
  /** Messages of sources that ended with an error, said once each. */
  readonly failures: string[] = [];

  /** Sources already said to be skewed. */
  private readonly skewed = new Set<number>();
  /** The node each source names itself (its lines' `node`), once seen; else its file name. */
  private readonly nodeNames: string[];

  /**
   * `onSourceNote(node, note)`: a source ended, failed, or has a clock more than `skewSeconds`
   * away from the others'.
   */
  constructor(
    private readonly files: readonly string[],
    private readonly maxStr: number,
    private readonly onSourceNote: (node: string, note: string) => void = () => undefined,
    private readonly skewSeconds = 120,
    private readonly onNodeHealth: (health: NodeHealth) => void = () => undefined,
  ) {
    this.merger = new EventMerger(files.map(sourceNodeName));
    this.nodeNames = files.map(sourceNodeName);
  }

  start(listener: CaptureListener): void {
    this.listener = listener;
    // Every source is opened now, before the run gives up root (which follows onReady).
    const opened = this.files.map((file) => {
      try {
        return file === '-' ? 0 : fs.openSync(file, 'r');
      } catch (error) {
        return error as NodeJS.ErrnoException;
      }
    });
    // No source could be opened: that is the run's error (one source: its own message).
    if (opened.every((fd) => typeof fd !== 'number')) {
      const first = opened[0] as NodeJS.ErrnoException;
      this.done = true;
      listener.onError(new WiretopError('file', `${this.files[0]}: ${describeOpenError(first)}${this.files.length > 1 ? ' (and no other source could be opened)' : ''}`));
      return;
    }
    listener.onReady(this.files.map(sourceNodeName).join(', '));
    opened.forEach((fd, index) => this.read(this.files[index], index, fd));
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
  }

  private read(file: string, index: number, fd: number | NodeJS.ErrnoException): void {
    if (typeof fd !== 'number') {
      this.sourceFailed(index, `${file}: ${describeOpenError(fd)}`);
      return;
    }
    const stream = fs.createReadStream('', { fd });
    this.streams.push(stream);
    const node = sourceNodeName(file);
    const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
    let batch: NodeEvent[] = [];
    lines.on('line', (line) => {
      if (line.length > MAX_LINE) {
        this.merger.malformed(index);
        return;
      }
      if (line.trim() === '') return;
      const health = parseHealthLine(line);
      if (health !== null) {
        this.onNodeHealth(health);
        return;
      }
      const tls = parseTlsLine(line, this.maxStr, node);
      if (tls !== null) {
        // A connection's record: counted as it comes (its time is its handshake's, long past).
        this.listener?.onTls?.([tls]);
        return;
      }
      const event = parseEventLine(line, this.maxStr, node);
      if (event === null) this.merger.malformed(index);
      else {
        if (this.merger.sources[index].events === 0 && batch.length === 0) this.nodeNames[index] = event.node;
        batch.push(event);
      }
      if (batch.length >= 512) {
        this.merger.add(index, batch);
        batch = [];
      }
    });
    lines.on('close', () => {
      this.merger.add(index, batch);
      batch = [];
      this.merger.end(index);
      if (!this.stopped && this.files.length > 1 && !this.failures.some((f) => f.startsWith(`${file}:`))) this.onSourceNote(this.nodeNames[index], 'ended');
      this.flush();
    });
    stream.on('error', (error: NodeJS.ErrnoException) => this.sourceFailed(index, `${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`));
  }

  private sourceFailed(index: number, message: string): void {
    this.failures.push(message);
    this.merger.end(index);
    if (this.files.length === 1) {
      this.finish();
      this.listener?.onError(new WiretopError('file', message));
      return;
    }
    this.onSourceNote(this.nodeNames[index], `failed: ${message}`);
    this.flush();
  }

  /** Gives out what the merge releases, with health counts; ends when every source has. */
  private flush(): void {
    const listener = this.listener;
    if (listener === null || this.done) return;
    for (const index of this.merger.skewed(this.skewSeconds)) {
      if (this.skewed.has(index)) continue;
      this.skewed.add(index);
      this.onSourceNote(this.nodeNames[index], `clock off by more than ${this.skewSeconds} s`);
    }
    const events = this.merger.release();
    const watermark = this.merger.allEnded ? Infinity : this.merger.watermark();
    const latest = Math.max(...this.merger.sources.map((s) => s.latest));
    if (events.length > 0) listener.onEvents(events, Math.min(watermark, latest + 1e-6));
    const stats = emptyCaptureStats();
    stats.events = this.merger.sources.reduce((sum, s) => sum + s.events, 0);
    stats.parseErrors = this.merger.sources.reduce((sum, s) => sum + s.malformed, 0);
    if (latest !== -Infinity) listener.onStats(stats, latest, Math.min(watermark, latest));
    if (this.merger.allEnded || this.stopped) {
      this.finish();
      listener.onEnd(this.stopped ? 'stopped' : 'eof');
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== null) clearInterval(this.timer);
    for (const stream of this.streams) stream.destroy();
    this.resolveStop?.();
  }

  stop(): Promise<void> {
    if (this.done) return Promise.resolve();
    this.stopped = true;
    return new Promise((resolve) => {
      this.resolveStop = resolve;
      this.flush();
    });
  }
}
