/**
 * `--persist DIR`: the run's statistics and alert state survive a restart. At the start the
 * directory is locked (one run per directory) and its snapshot taken back; during the run it is
 * saved every `persist_interval` seconds of wall time (between batches, so it is always the
 * state after whole batches), and at the end once more.
 *
 * Reading the same input again must not count it twice: the snapshot lists each input it has
 * counted by identity (a capture file by its first MiB and the options that shape what is
 * taken from it) with how many transactions and TLS records were taken. A run on a known input
 * skips that many first, so a run killed mid-file and started again, or a file read twice,
 * counts each transaction once. A live capture, stdin and the demo have no identity: all they
 * give is new.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Clock } from '../run/clock';
import type { RunState } from '../run/runState';
import { WiretopError } from '../errors';
import type { HttpEvent, TlsConnection } from '../types';
import { restoreRun, saveRun, settingsOf } from './runSnapshot';
import { readSnapshot, SnapshotError, writeSnapshot, type InputPosition } from './snapshotFile';

/** The snapshot's name in the directory. */
export const SNAPSHOT_FILE = 'state.wiretop';
/** The lock's: it holds the pid of the run that uses the directory. */
const LOCK_FILE = 'lock';
/** Bytes of a file that name it. */
const IDENTITY_BYTES = 1024 * 1024;
/** Inputs remembered, the most recent kept. */
const MAX_INPUTS = 256;

/** What identifies an input: its id and name, or null for one that has none (live, stdin, demo). */
export interface InputIdentity {
  id: string;
  name: string;
}

/**
 * The identity of capture files (several: merged streams, in order): their first MiB each, and
 * `shaping` (the options that decide which transactions they give: a BPF filter, ports, a key
 * log). By content, not by name or inode: a copy is the same capture, a grown file is the same
 * input read further.
 */
export function inputIdentity(files: readonly string[], shaping: unknown): InputIdentity | null {
  if (files.length === 0 || files.includes('-')) return null;
  const hash = crypto.createHash('sha256').update(JSON.stringify(shaping));
  for (const file of files) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return null; // the capture says what is wrong with it
    }
    try {
      if (!fs.fstatSync(fd).isFile()) return null; // a FIFO or a device: read once, no identity
      const head = Buffer.alloc(IDENTITY_BYTES);
      const read = fs.readSync(fd, head, 0, IDENTITY_BYTES, 0);
      hash.update(String(read)).update(head.subarray(0, read));
    } finally {
      fs.closeSync(fd);
    }
  }
  return { id: hash.digest('hex').slice(0, 32), name: files.map((f) => path.basename(f)).join(' + ') };
}

/** What a start said: the snapshot taken back, or why a fresh start. */
export interface PersistStart {
  /** The line to show (on stderr): null when all went as expected with nothing to say. */
  line: string | null;
  restored: boolean;
}

export class Persistence {
  private readonly file: string;
  private readonly lock: string;
  private inputs: InputPosition[] = [];
  /** This run's input, and what has been skipped and taken of it. */
  private position: InputPosition | null = null;
  /** What is still to be skipped of it. */
  private readonly skip = { events: 0, tls: 0 };
  private timer: unknown = null;
  private locked = false;
  /** The last save's failure, said once until a save works again. */
  private failing = false;
  /** The run cannot write here (see checkWritable): nothing is saved. */
  private unwritable = false;

  /** `filtered`: the config's `where` filters what the run counts (not with the dashboard, whose `/` it is). */
  constructor(readonly dir: string, private readonly version: string, private readonly filtered: boolean, private readonly warn: (line: string) => void) {
    this.file = path.join(dir, SNAPSHOT_FILE);
    this.lock = path.join(dir, LOCK_FILE);
  }

  /**
   * Makes the directory (private) and locks it; `owner` (a root run's drop account) gets a
   * directory made here, so that it can still save after the drop. Throws a WiretopError.
   */
  open(owner: { uid: number; gid: number } | null): void {
    try {
      if (!fs.existsSync(this.dir)) {
        fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        if (owner !== null) fs.chownSync(this.dir, owner.uid, owner.gid);
      }
      if (!fs.statSync(this.dir).isDirectory()) throw new WiretopError('usage', `--persist ${this.dir}: not a directory; name a directory to keep the state in`);
    } catch (error) {
      if (error instanceof WiretopError) throw error;
      throw new WiretopError('usage', `--persist ${this.dir}: cannot be made (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); name a writable directory`);
    }
    this.takeLock();
    // The drop account must be able to remove its lock at the end.
    try {
      if (owner !== null) fs.chownSync(this.lock, owner.uid, owner.gid);
    } catch {
      // Only the lock's owner changes; a stale lock is found by its pid anyway.
    }
  }

  private takeLock(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(this.lock, 'wx', 0o600);
        fs.writeSync(fd, `${process.pid}\n`);
        fs.closeSync(fd);
        this.locked = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new WiretopError('usage', `--persist ${this.dir}: cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); name a writable directory`);
        }
      }
      const holder = Number.parseInt(readOr(this.lock, ''), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
        throw new WiretopError('usage', `--persist ${this.dir}: in use by another wiretop (pid ${holder}); give each run its own directory`);
      }
      // Left by a run that ended without cleaning up (killed): taken over.
      fs.rmSync(this.lock, { force: true });
    }
    throw new WiretopError('usage', `--persist ${this.dir}: its lock cannot be taken; remove ${this.lock} if no wiretop runs`);
  }

  /**
   * Takes the snapshot back into `state` (new, with no data yet). A snapshot that cannot be used
   * is moved aside (kept for a look) and the run starts fresh; `fresh` makes the state to use
   * then, since a failed restore may leave `state` half filled.
   */
  restore(state: RunState, input: InputIdentity | null, fresh: () => RunState): { state: RunState; start: PersistStart } {
    let snapshot: ReturnType<typeof readSnapshot>;
    try {
      snapshot = readSnapshot(this.file);
    } catch (error) {
      if (!(error instanceof SnapshotError)) throw error;
      return { state, start: this.freshStart(error.kind, error.message, input) };
    }
    if (snapshot === null) return { state, start: this.begin(input, null, false) };
    const { header, parts } = snapshot;
    const now = settingsOf(state.config, this.filtered);
    const changed = Object.keys({ ...now, ...header.settings }).filter((key) => now[key] !== header.settings[key]);
    if (changed.length > 0) {
      const what = changed.map((key) => `${key} ${short(header.settings[key])} → ${short(now[key])}`).join(', ');
      return { state, start: this.freshStart('settings', `it was made with other settings (${what})`, input) };
    }
    try {
      restoreRun(parts, state.stats, state.alerts);
    } catch (error) {
      const reason = error instanceof SnapshotError ? error.message : `its statistics cannot be taken back (${(error as Error).message})`;
      return { state: fresh(), start: this.freshStart('damaged', reason, input) };
    }
    // Unfinished learning of new traffic (live) would take the time wiretop was down as quiet: it starts over. A learned baseline stays.
    if (input === null && state.alerts.stateName === 'LEARNING') state.alerts.restoreState({ ...state.alerts.savedState(), machine: { name: 'LEARNING', learningStart: null, learningCount: 0 } });
    this.inputs = header.inputs.filter((p) => p !== null && typeof p.id === 'string' && Number.isInteger(p.events) && Number.isInteger(p.tls));
    const known = input === null ? null : this.inputs.find((p) => p.id === input.id) ?? null;
    return { state, start: this.begin(input, known, true) };
  }

  /** A fresh start: the unusable snapshot is moved aside, and the line says why. */
  private freshStart(kind: string, reason: string, input: InputIdentity | null): PersistStart {
    const aside = `${this.file}.${kind === 'settings' || kind === 'format' ? 'old' : kind === 'foreign' ? 'foreign' : 'damaged'}`;
    let kept = `kept as ${path.basename(aside)}`;
    try {
      fs.renameSync(this.file, aside);
    } catch {
      kept = 'it will be replaced';
    }
    this.begin(input, null, false);
    return { restored: false, line: `wiretop: --persist ${this.dir}: ${SNAPSHOT_FILE} is not taken back: ${reason}; starting fresh (${kept})` };
  }

  private begin(input: InputIdentity | null, known: InputPosition | null, restored: boolean): PersistStart {
    if (input !== null) {
      this.position = known ?? { id: input.id, name: input.name, events: 0, tls: 0 };
      if (known === null) this.inputs.push(this.position);
      this.skip.events = this.position.events;
      this.skip.tls = this.position.tls;
    }
    if (!restored) return { restored, line: null };
    const counted = known === null || known.events + known.tls === 0 ? '' : `; ${known.name} was counted up to transaction ${known.events.toLocaleString('en-US')}: only what follows counts`;
    return { restored, line: `wiretop: statistics and alert state taken back from ${this.file}${counted}` };
  }

  /** The transactions of a batch not counted before (the first ones of a known input are skipped); counts the position. */
  admitEvents(events: readonly HttpEvent[]): readonly HttpEvent[] {
    return this.admit(events, 'events');
  }

  /** The same for TLS connection records. */
  admitTls(connections: readonly TlsConnection[]): readonly TlsConnection[] {
    return this.admit(connections, 'tls');
  }

  private admit<T>(items: readonly T[], kind: 'events' | 'tls'): readonly T[] {
    if (this.position === null) return items;
    // The skipped ones are within the position already.
    const skipped = Math.min(this.skip[kind], items.length);
    this.skip[kind] -= skipped;
    this.position[kind] += items.length - skipped;
    return skipped === 0 ? items : items.slice(skipped);
  }

  /**
   * Saves `state` now; a failure is said once (the run goes on, the last good snapshot stays).
   * Returns whether it was saved.
   */
  save(state: RunState, clock: Clock): boolean {
    if (this.unwritable) return false;
    try {
      this.inputs = this.inputs.slice(-MAX_INPUTS);
      writeSnapshot(this.file, { version: this.version, written: clock.now(), settings: settingsOf(state.config, this.filtered), inputs: this.inputs }, saveRun(state.stats, state.alerts));
      this.failing = false;
      return true;
    } catch (error) {
      if (!this.failing) this.warn(`wiretop: --persist ${this.dir}: cannot save (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the last snapshot stays, trying again in the next interval`);
      this.failing = true;
      return false;
    }
  }

  /** Saves every `seconds` of wall time until `stop`. */
  saveEvery(seconds: number, state: RunState, clock: Clock): void {
    const tick = () => {
      this.save(state, clock);
      this.timer = clock.setTimeout(tick, seconds * 1000);
    };
    this.timer = clock.setTimeout(tick, seconds * 1000);
  }

  /** Stops the timer, saves a last time (unless `state` is null: a failed run's is not trusted), and gives the directory up. */
  close(state: RunState | null, clock: Clock): void {
    if (this.timer !== null) clock.clearTimeout(this.timer);
    this.timer = null;
    if (state !== null) this.save(state, clock);
    if (this.locked) {
      this.locked = false;
      if (readOr(this.lock, '').trim() === String(process.pid)) fs.rmSync(this.lock, { force: true });
    }
  }

  /** Can the run (after a privilege drop) still save here? Throws a WiretopError that says what to do. */
  checkWritable(user: string | null): void {
    try {
      fs.accessSync(this.dir, fs.constants.W_OK | fs.constants.X_OK);
    } catch {
      this.unwritable = true;
      throw new WiretopError('permission', `--persist ${this.dir}: not writable${user === null ? '' : ` by ${user} (the account wiretop runs as after opening the capture)`}; chown it${user === null ? '' : ` to ${user}`} or name another directory`);
    }
  }
}

function readOr(file: string, otherwise: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return otherwise;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function short(value: string | undefined): string {
  if (value === undefined) return 'none';
  return value.length > 40 ? `${value.slice(0, 39)}…` : value;
}
