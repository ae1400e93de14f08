/**
 * `--persist DIR`: the run's statistics and alert state survive a restart. At the start the
 * directory is locked (one run per directory) and its snapshot taken back; during the run it is
 * saved every `persist_interval` seconds of wall time (between batches, so it is always the
 * state after whole batches), and at the end once more.
 *
 * Reading the same input again must not count it twice: the snapshot lists each input it has
 * counted by identity (capture files by their first bytes and the options that shape what is
 * taken from them) with how many transactions and TLS records the statistics took. A run on a
 * known input skips that many first, so a run killed mid-file and started again, or a file
 * read twice, counts each transaction once. A run stopped mid-file (q, Ctrl-C) is saved as it
 * stood when the stop was asked, before the capture hands over its open requests as
 * unanswered: the next run reads them answered. A live capture, stdin and the demo have no
 * identity: all they give is new.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Clock } from '../run/clock';
import type { RunState } from '../run/runState';
import { WiretopError } from '../errors';
import { grouped } from '../format';
import type { HttpEvent, TlsConnection } from '../types';
import { restoreRun, saveRun, settingsOf } from './runSnapshot';
import { readSnapshot, SnapshotError, TEMP_PREFIX, writeSnapshot, type InputPosition } from './snapshotFile';

/** The snapshot's name in the directory. */
export const SNAPSHOT_FILE = 'state.wiretop';
/** The lock's: it holds the pid (and start time) of the run that uses the directory. */
const LOCK_FILE = 'lock';
/** Bytes of a file that name it (fewer while it is smaller: a file that grows is the same input). */
const IDENTITY_BYTES = 64 * 1024;
/** Inputs remembered, the most recently read kept. */
const MAX_INPUTS = 256;

/** What a run reads: new traffic only (live, stdin, the demo), or capture files. */
export type RunInput = { kind: 'stream' } | { kind: 'files'; files: readonly string[]; shaping: unknown };

/**
 * Capture files (several: merged streams, in order) as an input: their first bytes and
 * `shaping` (the options that decide which transactions they give: a BPF filter, ports, a key
 * log). By content, not by name or inode: a copy is the same capture, and a file that has grown
 * is the same input read further (a known input is matched on as many bytes as it had then).
 */
export class InputIdentity {
  private readonly prefixes = new Map<string, string | null>();

  constructor(private readonly files: readonly string[], private readonly shaping: unknown) {}

  /** The files' names, for people. */
  get name(): string {
    return this.files.map((f) => path.basename(f)).join(' + ');
  }

  /** The identity over the first `heads[i]` bytes of each file; null when a file is shorter, or cannot be read as a file. */
  idFor(heads: readonly number[]): string | null {
    if (heads.length !== this.files.length) return null;
    const hash = crypto.createHash('sha256').update(JSON.stringify(this.shaping));
    for (let i = 0; i < heads.length; i++) {
      const prefix = this.prefixHash(this.files[i], heads[i]);
      if (prefix === null) return null;
      hash.update(prefix);
    }
    return hash.digest('hex').slice(0, 32);
  }

  /** The bytes that name each file now (null when one is no regular file: a FIFO is read once, and only by the capture). */
  currentHeads(): number[] | null {
    const heads: number[] = [];
    for (const file of this.files) {
      const stat = fs.statSync(file, { throwIfNoEntry: false });
      if (stat === undefined || !stat.isFile()) return null;
      heads.push(Math.min(stat.size, IDENTITY_BYTES));
    }
    return heads;
  }

  private prefixHash(file: string, bytes: number): string | null {
    const key = `${bytes}\0${file}`;
    if (this.prefixes.has(key)) return this.prefixes.get(key)!;
    let result: string | null = null;
    // Checked before it is opened: opening a FIFO would block, and closing it would end its writer.
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (stat !== undefined && stat.isFile() && stat.size >= bytes) {
      let fd: number | null = null;
      try {
        fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
        const head = Buffer.alloc(bytes);
        let read = 0;
        while (read < bytes) {
          const n = fs.readSync(fd, head, read, bytes - read, read);
          if (n === 0) break;
          read += n;
        }
        if (read === bytes) result = crypto.createHash('sha256').update(String(bytes)).update(head).digest('hex');
      } catch {
        result = null; // the capture says what is wrong with it
      } finally {
        if (fd !== null) fs.closeSync(fd);
      }
    }
    this.prefixes.set(key, result);
    return result;
  }
}

/** What a start said: the snapshot taken back, or why a fresh start. */
export interface PersistStart {
  /** The line to show (on stderr): null when all went as expected with nothing to say. */
  line: string | null;
  restored: boolean;
}

/** An account, as the run drops to it. */
type Account = { uid: number; gid: number };

export class Persistence {
  private readonly file: string;
  private readonly lock: string;
  private inputs: InputPosition[] = [];
  /** This run's input, and how far the statistics have taken it. */
  private position: InputPosition | null = null;
  /** What is still to be skipped of it. */
  private readonly skip = { events: 0, tls: 0 };
  private timer: unknown = null;
  private locked = false;
  /** The last save's failure, said once until a save works again. */
  private failing = false;
  /** The run cannot write here (see checkWritable): nothing is saved. */
  private unwritable = false;
  /** Saved as a stop found it (mid-file): nothing after counts or is saved. */
  private frozen = false;

  /** `filtered`: the config's `where` filters what the run counts (not with the dashboard, whose `/` it is). */
  constructor(readonly dir: string, private readonly version: string, private readonly filtered: boolean, private readonly warn: (line: string) => void) {
    this.file = path.join(dir, SNAPSHOT_FILE);
    this.lock = path.join(dir, LOCK_FILE);
  }

  /**
   * Makes the directory (private) and locks it; `owner` (a root run's drop account) gets a
   * directory made here, so that it can still save after the drop. A directory other users may
   * write, or that belongs to someone else, is refused (its snapshot is read back by root).
   * Throws a WiretopError.
   */
  open(owner: Account | null): void {
    const fail = (what: string) => new WiretopError('usage', `--persist ${this.dir}: ${what}`);
    try {
      if (!fs.existsSync(this.dir)) {
        // The parents as any directory (so the drop account can reach DIR), DIR itself private.
        fs.mkdirSync(path.dirname(path.resolve(this.dir)), { recursive: true });
        fs.mkdirSync(this.dir, { mode: 0o700 });
        if (owner !== null) fs.chownSync(this.dir, owner.uid, owner.gid);
      }
    } catch (error) {
      throw fail(`cannot be made (${codeOf(error)}); name a writable directory`);
    }
    const stat = fs.statSync(this.dir);
    if (!stat.isDirectory()) throw fail('not a directory; name a directory to keep the state in');
    const me = typeof process.geteuid === 'function' ? process.geteuid() : -1;
    if (stat.uid !== me && stat.uid !== owner?.uid) throw fail(`belongs to another user (uid ${stat.uid}); name a directory of this user's${owner !== null ? ' or of the account wiretop runs as' : ''}`);
    if ((stat.mode & 0o022) !== 0) throw fail('other users can write it; chmod go-w it or name a private directory');
    if (owner !== null && !writableBy(stat, owner)) throw fail(`not writable by uid ${owner.uid} (the account wiretop runs as after opening the capture, --user); chown it to that account or name another directory`);
    this.takeLock(owner);
    // Saves cut short by a kill left their temporary files: this run is the directory's only one now.
    for (const name of fs.readdirSync(this.dir)) if (name.startsWith(TEMP_PREFIX) && name.endsWith('.tmp')) fs.rmSync(path.join(this.dir, name), { force: true });
  }

  /** The lock, created whole (written beside it, then linked: never seen empty). */
  private takeLock(owner: Account | null): void {
    const mine = `${process.pid} ${startTimeOf(process.pid) ?? ''}\n`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const temp = path.join(this.dir, `.lock.${process.pid}.tmp`);
      try {
        fs.rmSync(temp, { force: true });
        fs.writeFileSync(temp, mine, { mode: 0o600, flag: 'wx' });
        // The drop account must be able to remove its lock at the end.
        if (owner !== null) fs.chownSync(temp, owner.uid, owner.gid);
        fs.linkSync(temp, this.lock);
        this.locked = true;
        return;
      } catch (error) {
        if (codeOf(error) !== 'EEXIST') throw new WiretopError('usage', `--persist ${this.dir}: cannot be written (${codeOf(error)}); name a writable directory`);
      } finally {
        fs.rmSync(temp, { force: true });
      }
      const held = readOr(this.lock, '');
      const [pidText, startText] = held.trim().split(' ');
      const holder = Number.parseInt(pidText ?? '', 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder, startText)) {
        throw new WiretopError('usage', `--persist ${this.dir}: in use by another wiretop (pid ${holder}); give each run its own directory`);
      }
      // Left by a run that ended without cleaning up (killed): taken over, unless another run took it meanwhile.
      if (readOr(this.lock, '') === held) fs.rmSync(this.lock, { force: true });
    }
    throw new WiretopError('usage', `--persist ${this.dir}: its lock cannot be taken; remove ${this.lock} if no wiretop runs`);
  }

  /**
   * Takes the snapshot back into `state` (new, with no data yet). A snapshot that cannot be used
   * is moved aside (kept for a look) and the run starts fresh; `fresh` makes the state to use
   * then, since a failed restore may leave `state` half filled.
   */
  restore(state: RunState, input: RunInput, fresh: () => RunState): { state: RunState; start: PersistStart } {
    const identity = input.kind === 'files' ? new InputIdentity(input.files, input.shaping) : null;
    let snapshot: ReturnType<typeof readSnapshot>;
    try {
      snapshot = readSnapshot(this.file);
    } catch (error) {
      if (!(error instanceof SnapshotError)) throw error;
      return { state, start: this.freshStart(error.kind, error.message, identity) };
    }
    if (snapshot === null) return { state, start: this.begin(identity, null, false) };
    const { header, parts } = snapshot;
    const now = settingsOf(state.config, this.filtered);
    const changed = Object.keys({ ...now, ...header.settings }).filter((key) => now[key] !== header.settings[key]);
    if (changed.length > 0) {
      const what = changed.map((key) => `${key} ${short(header.settings[key])} → ${short(now[key])}`).join(', ');
      return { state, start: this.freshStart('settings', `it was made with other settings (${what})`, identity) };
    }
    try {
      restoreRun(parts, state.stats, state.alerts);
    } catch (error) {
      const reason = error instanceof SnapshotError ? error.message : `its statistics cannot be taken back (${(error as Error).message})`;
      return { state: fresh(), start: this.freshStart('damaged', reason, identity) };
    }
    // Unfinished learning of new traffic (live) would take the time wiretop was down as quiet: it starts over. A learned baseline stays.
    if (input.kind === 'stream' && state.alerts.stateName === 'LEARNING') state.alerts.restoreState({ ...state.alerts.savedState(), machine: { name: 'LEARNING', learningStart: null, learningCount: 0 } });
    this.inputs = header.inputs;
    const known = identity === null ? null : this.inputs.find((p) => identity.idFor(p.heads) === p.id) ?? null;
    return { state, start: this.begin(identity, known, true) };
  }

  /** A fresh start: the unusable snapshot is moved aside, and the line says why. */
  private freshStart(kind: string, reason: string, identity: InputIdentity | null): PersistStart {
    const aside = `${this.file}.${kind === 'settings' || kind === 'format' ? 'old' : kind === 'foreign' ? 'foreign' : 'damaged'}`;
    let kept = `kept as ${path.basename(aside)}`;
    try {
      fs.renameSync(this.file, aside);
    } catch {
      kept = 'it will be replaced';
    }
    this.inputs = [];
    this.begin(identity, null, false);
    return { restored: false, line: `wiretop: --persist ${this.dir}: ${SNAPSHOT_FILE} is not taken back: ${reason}; starting fresh (${kept})` };
  }

  private begin(identity: InputIdentity | null, known: InputPosition | null, restored: boolean): PersistStart {
    if (identity !== null) {
      const heads = known?.heads ?? identity.currentHeads();
      const id = heads === null ? null : identity.idFor(heads);
      if (known !== null) {
        // The most recently read input is the last forgotten.
        this.inputs = [...this.inputs.filter((p) => p !== known), known];
        this.position = known;
      } else if (heads !== null && id !== null) {
        this.position = { id, heads, name: identity.name, events: 0, tls: 0 };
        this.inputs.push(this.position);
      }
      if (this.position !== null) {
        this.skip.events = this.position.events;
        this.skip.tls = this.position.tls;
      }
    }
    if (!restored) return { restored, line: null };
    const counted = known === null || known.events + known.tls === 0 ? '' : `; ${known.name} was counted up to transaction ${grouped(known.events)}: only what follows counts`;
    return { restored, line: `wiretop: statistics and alert state taken back from ${this.file}${counted}` };
  }

  /** The transactions of a batch the statistics have not counted before (the first ones of a known input are skipped); counts the position. */
  admitEvents(events: readonly HttpEvent[]): readonly HttpEvent[] {
    return this.admit(events, 'events');
  }

  /** The same for TLS connection records. */
  admitTls(connections: readonly TlsConnection[]): readonly TlsConnection[] {
    return this.admit(connections, 'tls');
  }

  private admit<T>(items: readonly T[], kind: 'events' | 'tls'): readonly T[] {
    if (this.frozen) return [];
    if (this.position === null) return items;
    // The skipped ones are within the position already.
    const skipped = Math.min(this.skip[kind], items.length);
    this.skip[kind] -= skipped;
    this.position[kind] += items.length - skipped;
    return skipped === 0 ? items : items.slice(skipped);
  }

  /**
   * A stop was asked before the end of a capture file: saves the state as it stands (after the
   * last whole batch), and counts nothing after. What the capture then hands over (its open
   * requests, as unanswered) and the closing of the last seconds are this run's report only:
   * the next run reads those requests answered, in seconds still open.
   */
  stopBeforeEnd(state: RunState, clock: Clock): void {
    if (this.position === null || this.frozen) return;
    this.save(state, clock);
    this.frozen = true;
  }

  /**
   * Saves `state` now; a failure is said once (the run goes on, the last good snapshot stays).
   * Returns whether it was saved.
   */
  save(state: RunState, clock: Clock): boolean {
    if (this.unwritable || this.frozen) return false;
    try {
      this.inputs = this.inputs.slice(-MAX_INPUTS);
      writeSnapshot(this.file, { version: this.version, written: clock.now(), settings: settingsOf(state.config, this.filtered), inputs: this.inputs }, saveRun(state.stats, state.alerts));
      this.failing = false;
      return true;
    } catch (error) {
      if (!this.failing) this.warn(`wiretop: --persist ${this.dir}: cannot save (${codeOf(error)}); the last snapshot stays, trying again in the next interval`);
      this.failing = true;
      return false;
    }
  }

  /** Saves every `seconds` of wall time until `close`. */
  saveEvery(seconds: number, state: RunState, clock: Clock): void {
    const tick = () => {
      this.save(state, clock);
      this.timer = clock.setTimeout(tick, seconds * 1000);
    };
    this.timer = clock.setTimeout(tick, seconds * 1000);
  }

  /** Stops the timer, saves a last time (unless `state` is null: a run that never captured has nothing new), and gives the directory up. */
  close(state: RunState | null, clock: Clock): void {
    if (this.timer !== null) clock.clearTimeout(this.timer);
    this.timer = null;
    if (state !== null) this.save(state, clock);
    if (!this.locked) return;
    this.locked = false;
    try {
      if (readOr(this.lock, '').split(' ')[0] === String(process.pid)) fs.rmSync(this.lock, { force: true });
    } catch {
      // Cannot be removed (the directory is not the run's to write): the next run finds it stale.
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

/** Whether `account` may create files in a directory of this status (by its mode bits; root's view is not the account's). */
function writableBy(stat: fs.Stats, account: Account): boolean {
  if (account.uid === 0) return true;
  if (stat.uid === account.uid) return (stat.mode & 0o300) === 0o300;
  if (stat.gid === account.gid) return (stat.mode & 0o030) === 0o030;
  return (stat.mode & 0o003) === 0o003;
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

function readOr(file: string, otherwise: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return otherwise;
  }
}

/** A process's start time (clock ticks since boot, /proc/PID/stat field 22): with the pid, it names one process, not a reused pid. */
function startTimeOf(pid: number): string | null {
  const stat = readOr(`/proc/${pid}/stat`, '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}

function isRunning(pid: number, startTime: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (codeOf(error) !== 'EPERM') return false;
  }
  // Alive: the same process, unless its start time says the pid was given to another since.
  const now = startTimeOf(pid);
  return startTime === undefined || startTime === '' || now === null || now === startTime;
}

function short(value: string | undefined): string {
  if (value === undefined) return 'none';
  return value.length > 40 ? `${value.slice(0, 39)}…` : value;
}
