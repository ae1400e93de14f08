/** Frames from a live interface through libpcap, in batches, as fast as they come. */
import * as fs from 'fs';
import * as os from 'os';
import type { CaptureStats } from '../../types';
import { LibpcapSession, type LiveOptions } from '../libpcap';
import { RingSession } from '../packetRing';
import { pauseThread, type FrameSink, type PacketSource } from '../packetSource';

/**
 * How far a live worker's clock runs behind the wall clock when the capture is split among
 * workers: an idle worker's watermark follows its clock, and the merge gives out the other
 * workers' transactions up to it, so it must not pass packets that wait in its ring (the
 * kernel hands a block over within LIVE_TIMEOUT_MS, 50 ms) or in a thread the system has not
 * run yet. Transactions reach the statistics this much later; none is counted late for it.
 */
export const SHARDED_CLOCK_LAG_SECONDS = 0.5;

/**
 * Where the live workers of a sharded capture say when their socket joined the fanout group:
 * a count (Int32), then each worker's join time (Float64, epoch seconds).
 */
export function fanoutJoinBoard(workers: number): SharedArrayBuffer {
  return new SharedArrayBuffer(8 + 8 * workers);
}

/**
 * Seconds after the last socket joined the fanout group before the capture keeps frames: a
 * packet on its way while a socket joins may still reach it alone (measured on lo under wrk: the
 * first ~0.7 ms of transactions after the last join came twice).
 */
export const FANOUT_SETTLE_SECONDS = 0.1;

/** What a live capture reads its packets with. */
export type LiveReader = 'ring' | 'libpcap';

/** What a live source reads from: wiretop's own ring, or libpcap. */
type LiveSession = Pick<LibpcapSession, 'linkType' | 'joinFanout' | 'drainInto' | 'emptiedRing' | 'whenReadable' | 'drops' | 'close'>;

/** Which of the two readers a live capture uses (see README, Live capture under load). */
export function readerFor(filter: string, zeroCopy: boolean): LiveReader {
  // libpcap compiles `vlan` for a live Linux socket, which sees the frames with their tags
  // taken off; the ring's filter is compiled for frames as they are written.
  return zeroCopy && !/\bvlan\b/i.test(filter) ? 'ring' : 'libpcap';
}

function openLiveSession(name: string, filter: string, options: LiveOptions & { zeroCopy?: boolean }): LiveSession {
  const ring = readerFor(filter, options.zeroCopy ?? true) === 'ring' ? RingSession.open(name, filter, options) : null;
  return ring ?? LibpcapSession.openLive(name, filter, options);
}

/** The longest pause after a read that emptied the ring (see PacketSource.lingerMs). */
export const MAX_LINGER_MS = 3;
/** A 10 Gbit/s link's bytes per millisecond: the pause is a quarter of the time such a link takes to fill the ring, at most. */
const LINK_BYTES_PER_MS = 1.25e6;

/** How long a ring of `bufferBytes` is let fill after a read that emptied it. */
export function lingerFor(bufferBytes: number): number {
  return Math.min(MAX_LINGER_MS, bufferBytes / LINK_BYTES_PER_MS / 4);
}

/**
 * Until every worker's socket has joined the fanout group, each socket sees all the traffic (it
 * is opened, then joined): the same packets would reach several workers. A worker keeps only the
 * frames captured after the last join (and FANOUT_SETTLE_SECONDS); those before are the
 * capture's start, not yet split.
 */
export class FanoutStart {
  private readonly count: Int32Array;
  private readonly times: Float64Array;
  private cutoff = Infinity;
  done = false;

  constructor(private readonly workers: number, joined: SharedArrayBuffer, worker: number) {
    this.count = new Int32Array(joined, 0, 1);
    this.times = new Float64Array(joined, 8, workers);
    this.times[worker] = Date.now() / 1000;
    // The time is written before the count that publishes it (Atomics order the two).
    Atomics.add(this.count, 0, 1);
    Atomics.notify(this.count, 0);
  }

  /**
   * Waits (this thread only: a capture worker, before it says it is ready) until every worker has
   * joined and the capture has started, so that "listening" is said when every packet from then
   * on is counted. Gives up after `maxMs` (a worker that failed to open ends the run anyway).
   */
  waitForStart(maxMs = 10_000): void {
    const deadline = Date.now() + maxMs;
    for (let seen = Atomics.load(this.count, 0); seen < this.workers && Date.now() < deadline; seen = Atomics.load(this.count, 0)) {
      Atomics.wait(this.count, 0, seen, Math.max(1, deadline - Date.now()));
    }
    if (Atomics.load(this.count, 0) < this.workers) return;
    // The count no longer changes: waiting on it is a sleep until the start.
    const wait = (Math.max(...this.times) + FANOUT_SETTLE_SECONDS) * 1000 - Date.now();
    if (wait > 0) Atomics.wait(this.count, 0, this.workers, wait);
  }

  /** Keeps the frame? (Until all have joined, none; then those captured after the last join.) */
  keeps(ts: number): boolean {
    if (this.cutoff === Infinity) {
      if (Atomics.load(this.count, 0) < this.workers) return false;
      this.cutoff = Math.max(...this.times) + FANOUT_SETTLE_SECONDS;
    }
    if (ts < this.cutoff) return false;
    this.done = true;
    return true;
  }
}

/** Passes on the frames a FanoutStart keeps. */
class StartFilter implements FrameSink {
  sink: FrameSink | null = null;
  kept = 0;

  constructor(private readonly start: FanoutStart) {}

  /** A frame after the start has been kept: no later one needs the check. */
  get done(): boolean {
    return this.start.done;
  }

  onFrame(buf: Buffer, offset: number, caplen: number, wireLength: number, ts: number, linkType: number): void {
    if (!this.start.keeps(ts)) return;
    this.kept++;
    this.sink!.onFrame(buf, offset, caplen, wireLength, ts, linkType);
  }
}

/** A live capture. */
export class LiveSource implements PacketSource {
  readonly live = true;
  readonly clockLag: number;
  /** One of several workers: frames from before every socket had joined the fanout group are left out. */
  private startFilter: StartFilter | null = null;
  readonly linkType: number;
  private readonly session: LiveSession;
  readonly reader: LiveReader;
  private readonly restorePriority: () => void;
  /** The interface's state, read at most once a second (null: not known, as for `any`). */
  private interfaceUp: boolean | null = null;
  private interfaceCheckedAt = 0;
  private readonly linger: number;

  /**
   * `nice`: the priority to give the thread that reads the capture (see raisePriority), or with
   * `groupNiceOnly` its session's scheduling group alone;
   * `fanoutGroup`: one of several workers, whose sockets share the traffic by connection (PACKET_FANOUT).
   */
  constructor(readonly name: string, filter: string, options: LiveOptions & { nice: number; groupNiceOnly?: boolean; zeroCopy?: boolean; fanoutGroup?: number; fanoutStart?: { worker: number; workers: number; joined: SharedArrayBuffer } }) {
    this.session = openLiveSession(name, filter, options);
    this.reader = this.session instanceof RingSession ? 'ring' : 'libpcap';
    this.clockLag = options.fanoutGroup !== undefined ? SHARDED_CLOCK_LAG_SECONDS : 0;
    if (options.fanoutGroup !== undefined) {
      try {
        this.session.joinFanout(options.fanoutGroup);
      } catch (error) {
        this.session.close();
        throw error;
      }
      const start = options.fanoutStart;
      if (start !== undefined) {
        const gate = new FanoutStart(start.workers, start.joined, start.worker);
        gate.waitForStart();
        this.startFilter = new StartFilter(gate);
      }
    }
    this.linkType = this.session.linkType;
    this.linger = lingerFor(options.bufferBytes);
    this.restorePriority = raisePriority(options.nice, options.groupNiceOnly === true);
  }

  lingerMs(): number {
    return this.session.emptiedRing ? this.linger : 0;
  }

  read(sink: FrameSink): number {
    const filter = this.startFilter;
    if (filter === null) return this.session.drainInto(sink);
    filter.sink = sink;
    filter.kept = 0;
    this.session.drainInto(filter);
    // Past the start, frames go straight to the sink again.
    if (filter.done) this.startFilter = null;
    return filter.kept;
  }

  wait(maxMs: number): Promise<void> {
    return this.session.whenReadable(maxMs);
  }

  updateHealth(stats: CaptureStats): void {
    stats.interfaceDown = this.isInterfaceUp() === false ? 1 : 0;
    const drops = this.session.drops();
    if (drops === null) return;
    stats.kernelDrops = drops.kernelDrops;
    stats.ifDrops = drops.ifDrops;
  }

  /**
   * Is the interface up? A downed interface gives libpcap no error, only silence: its flags
   * (IFF_UP) say it. An interface that disappears makes libpcap fail, which ends the capture.
   */
  private isInterfaceUp(): boolean | null {
    const now = Date.now();
    if (now - this.interfaceCheckedAt < 1000) return this.interfaceUp;
    this.interfaceCheckedAt = now;
    try {
      this.interfaceUp = (parseInt(fs.readFileSync(`/sys/class/net/${this.name}/flags`, 'utf8'), 16) & IFF_UP) !== 0;
    } catch {
      this.interfaceUp = null; // `any`, or not Linux
    }
    return this.interfaceUp;
  }

  close(): void {
    this.session.close();
    this.restorePriority();
  }
}

const AUTOGROUP = '/proc/self/autogroup';
/** The "interface is up" bit of /sys/class/net/IFACE/flags. */
const IFF_UP = 0x1;

/**
 * Writes a nice value to the autogroup file (no offset: it cannot seek). Without
 * CAP_SYS_ADMIN the kernel takes one change per 100 ms: a run shorter than that waits once.
 */
function writeAutogroup(fd: number, value: string): void {
  try {
    fs.writeSync(fd, value);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    pauseThread(110);
    fs.writeSync(fd, value);
  }
}

/**
 * Gives the capture the scheduling priority `nice` asks for, where the system allows it (root
 * or CAP_SYS_NICE): its work per packet is small, but when it waits behind busy server threads
 * for longer than the kernel buffer lasts, the kernel drops packets. Two settings count on
 * Linux: the calling thread's nice value (a nice value belongs to a thread, so wiretop's
 * statistics and display keep theirs), and, where the kernel shares the CPU between sessions
 * first (autogroup: wiretop started from a terminal competes as one group with the server's),
 * the session group's. `groupOnly`: the group's alone (the main thread captures: a nice value
 * it took would be its statistics' and display's too, and every program it starts would inherit
 * it). Returns what puts the group's value back.
 */
function raisePriority(nice: number, groupOnly: boolean): () => void {
  if (nice === 0) return () => undefined;
  try {
    if (!groupOnly) os.setPriority(nice);
  } catch {
    // Not allowed: capture at the normal priority.
  }
  let previous: string | null = null;
  // Kept open for the restore: once wiretop has dropped root (see run/privileges), the file
  // can no longer be opened, but a descriptor opened now may still write a nicer value back.
  let fd: number | null = null;
  try {
    previous = /nice (-?\d+)/.exec(fs.readFileSync(AUTOGROUP, 'utf8'))?.[1] ?? null;
    if (previous !== null && Number(previous) > nice) {
      fd = fs.openSync(AUTOGROUP, 'w');
      writeAutogroup(fd, String(nice));
    } else previous = null;
  } catch {
    previous = null; // no autogroup here, or not allowed
  }
  return () => {
    if (fd === null) return;
    try {
      if (previous !== null) writeAutogroup(fd, previous);
    } catch {
      // The session keeps the raised value; nothing else depends on it.
    } finally {
      fs.closeSync(fd);
      fd = null;
    }
  };
}
