/**
 * libpcap, through node_pcap's native binding: the only module that loads the addon, so tests
 * and wiretop's own file reader never need it. The binding is patched at install time
 * (patches/): a closed session releases its libuv handle (so the worker thread can exit), and
 * `dispatch_batch` copies every packet ready now into one buffer with a table of offsets and
 * timestamps, one call from JavaScript per batch instead of one per packet (node_pcap's own
 * path: a copy, an EventEmitter emit and an object per packet).
 */
import { WiretopError } from '../errors';
import { systemCalls } from '../platform/systemCalls';
import { LinkType } from './decode';
import type { Frame, FrameSink } from './packetSource';

/** The native session (node_pcap's PcapSession binding) as wiretop uses it. */
interface NativeSession {
  open_live(device: string, filter: string, bufferBytes: number, snapLength: number, dumpFile: string,
    onPacket: () => void, monitor: boolean, timeoutMs: number, onWarning: (text: string) => void, promiscuous: boolean): string;
  open_offline(path: string, filter: string, bufferBytes: number, snapLength: number, dumpFile: string,
    onPacket: () => void, monitor: boolean, timeoutMs: number, onWarning: (text: string) => void, promiscuous: boolean): string;
  dispatch_batch(data: Buffer, table: Uint32Array): number;
  /** Joins the PACKET_FANOUT group (symmetric flow hash); returns '' or the system's reason. */
  join_fanout?(group: number): string;
  start_polling(): void;
  /** Called by the binding's libuv poll whenever the capture descriptor is readable. */
  read_callback?: () => void;
  stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
  close(): void;
}

interface PcapBinding {
  PcapSession: new () => NativeSession;
  findalldevs(): Array<{ name: string; flags?: string; addresses: unknown[] }>;
}

function loadBinding(): PcapBinding {
  // The binding itself, not node_pcap's JavaScript: its per-packet EventEmitter path and its
  // decoders are not used.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('pcap/build/Release/pcap_binding.node') as PcapBinding;
}

/** Bytes one batch may hold: 256 frames of the default snapshot length per native call, 32 of 64 KiB. */
const BATCH_BYTES = 2 * 1024 * 1024;
/** Packets one batch may hold. */
const BATCH_PACKETS = 4096;
/** libpcap's largest snapshot length, which it takes for 0 or more. */
const MAXIMUM_SNAPLEN = 262144;
/** uint32 fields per packet in the batch table (see the patch): offset, caplen, wire length, s, µs. */
const FIELDS = 5;

/** Kernel and interface drop counters as libpcap reports them. */
export interface DropCounts {
  kernelDrops: number;
  ifDrops: number;
}

/** How a live session is opened. */
export interface LiveOptions {
  /** Bytes of kernel ring buffer. */
  bufferBytes: number;
  /** Bytes kept of each packet. */
  snapLength: number;
  /** Milliseconds the kernel may hold a partly filled block before handing it over. */
  timeoutMs: number;
  promiscuous: boolean;
}

const LINK_TYPE_NAMES: Record<string, number> = {
  LINKTYPE_NULL: LinkType.NULL,
  LINKTYPE_ETHERNET: LinkType.ETHERNET,
  LINKTYPE_RAW: LinkType.RAW,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
};

function linkTypeNumber(name: string): number {
  if (name in LINK_TYPE_NAMES) return LINK_TYPE_NAMES[name];
  const unknown = /Unknown linktype (\d+)/.exec(name);
  return unknown ? Number(unknown[1]) : -1;
}

const ignoreWarning = () => undefined;

/** Wakes whoever waits for a capture descriptor to be readable (one waiter at a time), or lets the wait end after a time. */
export class ReadableSignal {
  private waiter: (() => void) | null = null;

  /** The descriptor is readable (or the capture closed). */
  fire(): void {
    this.waiter?.();
  }

  /** Resolves at the next fire(), or after `maxMs`. */
  wait(maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.waiter === done) this.waiter = null;
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      this.waiter = done;
    });
  }
}

/** An open libpcap session, live or on a file, read in batches. */
export class LibpcapSession {
  readonly linkType: number;
  private readonly data = Buffer.allocUnsafe(BATCH_BYTES);
  private readonly table = new Uint32Array(BATCH_PACKETS * FIELDS);
  private count = 0;
  private cursor = 0;
  private readonly frame: Frame = { buf: this.data, offset: 0, caplen: 0, wireLength: 0, ts: 0, linkType: 0 };
  private closed = false;
  private readonly readable = new ReadableSignal();
  /** The last fill stopped because nothing more was ready, not because the batch was full. */
  private emptied = false;

  /** `snapshot`: the snapshot length, as libpcap takes it (see fill). */
  private constructor(private readonly native: NativeSession, linkTypeName: string, what: string, private readonly snapshot = MAXIMUM_SNAPLEN) {
    this.linkType = linkTypeNumber(linkTypeName);
    if (this.linkType < 0) {
      native.close();
      throw new WiretopError('interface', `${what}: unsupported link type ${linkTypeName}`);
    }
  }

  /** Opens a live capture on `iface`; throws a WiretopError that says what to do. */
  static openLive(iface: string, filter: string, options: LiveOptions): LibpcapSession {
    const native = new (loadBinding().PcapSession)();
    let linkTypeName: string;
    try {
      linkTypeName = native.open_live(iface, filter, options.bufferBytes, options.snapLength, '', ignoreWarning, false,
        options.timeoutMs, ignoreWarning, options.promiscuous);
    } catch (error) {
      throw translateOpenError((error as Error).message, iface, filter);
    }
    // libpcap's socket is not close-on-exec: a program wiretop starts (--on-alert) would inherit
    // a working raw socket on the interface.
    systemCalls()?.packetSocketsCloseOnExec?.();
    const snapshot = options.snapLength > 0 && options.snapLength <= MAXIMUM_SNAPLEN ? options.snapLength : MAXIMUM_SNAPLEN;
    const session = new LibpcapSession(native, linkTypeName, iface, snapshot);
    native.read_callback = () => session.readable.fire();
    native.start_polling();
    return session;
  }

  /**
   * Shares the interface's traffic with the other sessions of fanout group `group`, each taking
   * whole connections (both directions hash alike). The sessions are opened first; what the
   * ring took before the join is the kernel's copy for this session alone.
   */
  joinFanout(group: number): void {
    const join = this.native.join_fanout;
    const reason = join === undefined ? 'this build of the pcap addon has no fanout (run npm ci again)' : join.call(this.native, group);
    if (reason !== '') throw fanoutError(reason);
  }

  /** Opens a capture file through libpcap, so that a BPF filter applies. */
  static openOffline(path: string, filter: string): LibpcapSession {
    const native = new (loadBinding().PcapSession)();
    let linkTypeName: string;
    try {
      linkTypeName = native.open_offline(path, filter, 0, 65535, '', ignoreWarning, false, 1000, ignoreWarning, false);
    } catch (error) {
      const text = (error as Error).message;
      if (/No such file|Permission denied|unknown file format|bad dump file|truncated/i.test(text)) {
        throw new WiretopError('file', text.includes(path) ? text : `${path}: ${text}`);
      }
      throw translateOpenError(text, path, filter);
    }
    return new LibpcapSession(native, linkTypeName, path);
  }

  /** Takes the next batch from libpcap; returns its packet count (0: none ready, or the end of a file). */
  fill(): number {
    if (this.closed) return 0;
    let count: number;
    try {
      count = this.native.dispatch_batch(this.data, this.table);
    } catch (error) {
      throw new WiretopError('capture', `capture failed: ${(error as Error).message}`);
    }
    this.count = Math.max(0, count);
    this.cursor = 0;
    // The binding asks libpcap for packets while the rest of the batch has room for one of the
    // snapshot length: it stopped short of that only when none was ready.
    const last = (this.count - 1) * FIELDS;
    const used = this.count > 0 ? this.table[last] + this.table[last + 1] : 0;
    this.emptied = this.count < BATCH_PACKETS && BATCH_BYTES - used >= this.snapshot;
    return this.count;
  }

  /** The last batch took every packet the kernel had ready. */
  get emptiedRing(): boolean {
    return this.emptied;
  }

  /** Hands every packet of a fresh batch to `sink`; returns how many. */
  drainInto(sink: FrameSink): number {
    const count = this.fill();
    const { data, table, linkType } = this;
    for (let i = 0, row = 0; i < count; i++, row += FIELDS) {
      sink.onFrame(data, table[row], table[row + 1], table[row + 2], table[row + 3] + table[row + 4] / 1e6, linkType);
    }
    this.cursor = count;
    return count;
  }

  /** The next packet of the current batch (see fill), or null when it is used up. */
  nextFrame(): Frame | null {
    if (this.cursor >= this.count) return null;
    const row = this.cursor++ * FIELDS;
    const { frame, table } = this;
    frame.offset = table[row];
    frame.caplen = table[row + 1];
    frame.wireLength = table[row + 2];
    frame.ts = table[row + 3] + table[row + 4] / 1e6;
    frame.linkType = this.linkType;
    return frame;
  }

  /** Resolves when the capture descriptor is readable, or after `maxMs`. */
  whenReadable(maxMs: number): Promise<void> {
    return this.readable.wait(maxMs);
  }

  drops(): DropCounts | null {
    if (this.closed) return null;
    const s = this.native.stats();
    return { kernelDrops: s.ps_drop, ifDrops: s.ps_ifdrop };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.readable.fire();
    this.native.close();
  }
}

/** Names of the capture interfaces, for error messages. */
export function interfaceNames(): string[] {
  try {
    return loadBinding().findalldevs().map((d) => d.name);
  } catch {
    return [];
  }
}

/** The first interface that is up, not loopback and has an address. */
export function defaultInterface(): string {
  const devices = loadBinding().findalldevs();
  const candidate = devices.find((d) => !/loopback/i.test(d.flags ?? '') && d.name !== 'lo' && d.name !== 'any'
    && !/^(nflog|nfqueue|dbus|bluetooth)/.test(d.name) && d.addresses.length > 0 && !/down/i.test(d.flags ?? ''));
  if (candidate === undefined) {
    throw new WiretopError('interface', 'no network interface is up: name one with -i (try -i any), or read a file with -r');
  }
  return candidate.name;
}

/** A live capture's socket could not join its fanout group. */
export function fanoutError(reason: string): WiretopError {
  return new WiretopError('capture', `cannot split the capture among workers (PACKET_FANOUT): ${reason}; use --workers 1`);
}

/** Turns libpcap's open errors into one line that says what to do. */
export function translateOpenError(text: string, iface: string, filter: string): WiretopError {
  if (/Operation not permitted|permission denied|You don't have permission/i.test(text)) {
    return new WiretopError('permission',
      `cannot capture on ${iface}: permission denied (run as root, or grant the capability: sudo setcap cap_net_raw,cap_net_admin+eip "$(readlink -f "$(which node)")"), or read a file with -r`);
  }
  if (/No such device|doesn't exist|no such device/i.test(text)) {
    const names = interfaceNames();
    return new WiretopError('interface', `no such interface: ${iface}${names.length ? ` (interfaces: ${names.join(', ')})` : ''}`);
  }
  if (/syntax error|unknown|parse error|illegal|expression|filter/i.test(text)) {
    return new WiretopError('filter', `bad capture filter "${filter}": ${text.replace(/^.*?:\s*/, '')}`);
  }
  return new WiretopError('capture', `cannot capture on ${iface}: ${text}`);
}
