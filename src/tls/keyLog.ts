/**
 * The secrets of an NSS key log (`SSLKEYLOGFILE`, written by browsers, curl, OpenSSL, Node and
 * Go): one line per secret, `LABEL <client random, hex> <secret, hex>`. A connection's secrets
 * are found by the client random of its ClientHello.
 *
 * These are keys to other people's traffic: they are kept in memory only, never shown, never
 * written anywhere, and no error message quotes a line of the file.
 */
import * as fs from 'fs';
import { ownCopy } from './records';

/** What the log holds for one connection. */
export interface ConnectionSecrets {
  /** TLS 1.2 and earlier: the master secret (`CLIENT_RANDOM`). */
  master?: Buffer;
  /** TLS 1.3 traffic secrets. */
  clientHandshake?: Buffer;
  serverHandshake?: Buffer;
  clientTraffic?: Buffer;
  serverTraffic?: Buffer;
}

const LABELS: Record<string, keyof ConnectionSecrets> = {
  CLIENT_RANDOM: 'master',
  CLIENT_HANDSHAKE_TRAFFIC_SECRET: 'clientHandshake',
  SERVER_HANDSHAKE_TRAFFIC_SECRET: 'serverHandshake',
  CLIENT_TRAFFIC_SECRET_0: 'clientTraffic',
  SERVER_TRAFFIC_SECRET_0: 'serverTraffic',
};

/** Connections whose secrets are kept at most (the oldest are forgotten first): ~300 bytes each. */
export const MAX_KEYED_CONNECTIONS = 100_000;
/** A line longer than this is no key log line: skipped. */
const MAX_LINE = 1024;
/** Bytes read from the file in one go. */
const READ_CHUNK = 1024 * 1024;

/** Secrets by client random. */
export class KeyLog {
  private readonly secrets = new Map<string, ConnectionSecrets>();
  /** Lines that were not key log lines (comments and blank lines aside). */
  badLines = 0;
  protected carry = '';

  /** Takes the text of whole or partial lines (a partial last line waits for its end). */
  addText(text: string): void {
    const lines = (this.carry + text).split('\n');
    this.carry = lines.pop() ?? '';
    if (this.carry.length > MAX_LINE) this.carry = '';
    for (const line of lines) this.addLine(line);
  }

  private addLine(raw: string): void {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = line.length <= MAX_LINE ? line.split(/\s+/) : [];
    const field = LABELS[parts[0] ?? ''];
    if (parts.length !== 3 || !/^[0-9a-fA-F]{64}$/.test(parts[1]) || !/^(?:[0-9a-fA-F]{2}){16,128}$/.test(parts[2])) {
      // Other labels of the format (EXPORTER_SECRET, early traffic) are valid but not needed.
      if (!/^[A-Z_0-9]+ [0-9a-fA-F]+ [0-9a-fA-F]+$/.test(line)) this.badLines++;
      return;
    }
    if (field === undefined) return;
    const random = parts[1].toLowerCase();
    let entry = this.secrets.get(random);
    if (entry === undefined) {
      if (this.secrets.size >= MAX_KEYED_CONNECTIONS) this.secrets.delete(this.secrets.keys().next().value as string);
      entry = {};
      this.secrets.set(random, entry);
    }
    // Kept for long: in memory of its own, not a shared 8 KB slab.
    entry[field] = ownCopy(Buffer.from(parts[2], 'hex'));
  }

  /** The secrets of the connection whose ClientHello carried `clientRandom`. */
  lookup(clientRandom: Buffer): ConnectionSecrets | undefined {
    return this.secrets.get(clientRandom.toString('hex'));
  }

  get size(): number {
    return this.secrets.size;
  }

  /** Reads what is new in the file (a key log on disk); a no-op for one filled from text. `force`: even if it was just read. */
  refresh(_force = false): void {}
}

/**
 * A key log file, followed as it grows (browsers and curl append a line per connection). The
 * file is opened once, before privileges are dropped, and read from that descriptor.
 */
export class FileKeyLog extends KeyLog {
  private offset = 0;
  private lastRefresh = -Infinity;

  /** `minRefreshMs`: the file is looked at no more often than this (a miss asks again). */
  constructor(private readonly fd: number, private readonly minRefreshMs = 100) {
    super();
    this.readNew();
  }

  override refresh(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastRefresh < this.minRefreshMs) return;
    this.lastRefresh = now;
    this.readNew();
  }

  private readNew(): void {
    let size: number;
    try {
      size = fs.fstatSync(this.fd).size;
    } catch {
      return;
    }
    // Truncated (a new session of the browser): read it again from its start.
    if (size < this.offset) {
      this.offset = 0;
      this.carry = '';
    }
    const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(0, size - this.offset)));
    while (this.offset < size) {
      let read: number;
      try {
        read = fs.readSync(this.fd, chunk, 0, Math.min(chunk.length, size - this.offset), this.offset);
      } catch {
        return;
      }
      if (read <= 0) return;
      this.offset += read;
      this.addText(chunk.toString('latin1', 0, read));
    }
  }
}
