/**
 * Live capture through libpcap (node_pcap). The only module that loads the native addon, so
 * that tests and file reading never need it. The addon is patched at install time so that a
 * closed session releases its libuv handle and the worker thread can exit (patches/).
 */
import { WiretopError } from '../errors';
import { LinkType } from './decode';

/** The node_pcap session surface wiretop uses. */
interface PcapSession {
  on(event: 'packet', listener: (raw: { buf: Buffer; header: Buffer }) => void): void;
  close(): void;
  stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
  link_type: string;
}

interface PcapModule {
  createSession(device: string, options: Record<string, unknown>): PcapSession;
  createOfflineSession(path: string, options: Record<string, unknown>): PcapSession & { on(event: 'complete', listener: () => void): void };
  findalldevs(): Array<{ name: string; flags?: string; addresses: unknown[] }>;
  warningHandler: (text: string) => void;
}

function loadPcap(): PcapModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pcap = require('pcap') as PcapModule;
  // node_pcap prints warnings with console.warn, which would scribble over the dashboard.
  pcap.warningHandler = () => undefined;
  return pcap;
}

/** Callback per packet: the frame is only valid during the call. */
export type FrameHandler = (buf: Buffer, caplen: number, ts: number, linkType: number) => void;

/** Kernel and interface drop counters as libpcap reports them. */
export interface DropCounts {
  kernelDrops: number;
  ifDrops: number;
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

/** Names of the capture interfaces, for error messages. */
export function interfaceNames(): string[] {
  try {
    return loadPcap().findalldevs().map((d) => d.name);
  } catch {
    return [];
  }
}

/** The first interface that is up, not loopback and has an address. */
export function defaultInterface(): string {
  const devices = loadPcap().findalldevs();
  const candidate = devices.find((d) => !/loopback/i.test(d.flags ?? '') && d.name !== 'lo' && d.name !== 'any'
    && !/^(nflog|nfqueue|dbus|bluetooth)/.test(d.name) && d.addresses.length > 0 && !/down/i.test(d.flags ?? ''));
  if (candidate === undefined) {
    throw new WiretopError('interface', 'no network interface is up: name one with -i (try -i any), or read a file with -r');
  }
  return candidate.name;
}

/** A running live capture. */
export class LiveCapture {
  private readonly session: PcapSession;
  readonly linkType: number;
  private closed = false;

  constructor(readonly iface: string, filter: string, onFrame: FrameHandler) {
    const pcap = loadPcap();
    try {
      // buffer_timeout 0: immediate mode, or packets wait up to a second in the kernel.
      this.session = pcap.createSession(iface, { filter, buffer_timeout: 0, snap_length: 65535, buffer_size: 32 * 1024 * 1024 });
    } catch (error) {
      throw translateOpenError((error as Error).message, iface, filter);
    }
    this.linkType = linkTypeNumber(this.session.link_type);
    if (this.linkType < 0) {
      this.session.close();
      throw new WiretopError('interface', `${iface}: unsupported link type ${this.session.link_type}`);
    }
    const linkType = this.linkType;
    this.session.on('packet', (raw) => {
      const header = raw.header;
      onFrame(raw.buf, header.readUInt32LE(8), header.readUInt32LE(0) + header.readUInt32LE(4) / 1e6, linkType);
    });
  }

  drops(): DropCounts {
    if (this.closed) return { kernelDrops: 0, ifDrops: 0 };
    const s = this.session.stats();
    return { kernelDrops: s.ps_drop, ifDrops: s.ps_ifdrop };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.close();
  }
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

/** Reads a capture file through libpcap so that a BPF filter applies; resolves at its end. */
export function readFileThroughLibpcap(path: string, filter: string, onFrame: FrameHandler, onOpen: (linkType: number) => void): Promise<void> {
  const pcap = loadPcap();
  let session: PcapSession & { on(event: 'complete', listener: () => void): void };
  try {
    session = pcap.createOfflineSession(path, { filter });
  } catch (error) {
    const text = (error as Error).message;
    if (/No such file|Permission denied|unknown file format|bad dump file|truncated/i.test(text)) {
      return Promise.reject(new WiretopError('file', text.includes(path) ? text : `${path}: ${text}`));
    }
    return Promise.reject(translateOpenError(text, path, filter));
  }
  const linkType = linkTypeNumber(session.link_type);
  onOpen(linkType);
  session.on('packet', (raw) => {
    const header = raw.header;
    onFrame(raw.buf, header.readUInt32LE(8), header.readUInt32LE(0) + header.readUInt32LE(4) / 1e6, linkType);
  });
  return new Promise((resolve) => session.on('complete', () => { session.close(); resolve(); }));
}
