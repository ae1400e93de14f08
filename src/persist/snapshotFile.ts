/**
 * The snapshot file: a line naming the format, a JSON header line (format version, wiretop's
 * version, when, the settings it was made under, the inputs already counted, the parts' lengths
 * and the body's SHA-256), then the body: its parts one after another, each a value through
 * `v8.serialize`, deflated (one at a time: a large store is never serialised whole). Written whole
 * or not at all: a temporary file beside it, fsync, rename, fsync of the directory. Read back
 * only when every check passes; otherwise the reason is one of a few kinds, each its own line.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
import * as zlib from 'zlib';

/** The first line of every snapshot. */
const MAGIC = 'wiretop-state\n';
/**
 * Bumped when the saved classes change their fields (test/persist.test.ts pins them): a
 * snapshot of another format is not read (its fields would land in the wrong places).
 */
export const STATE_FORMAT = 1;
/** A snapshot larger than this is no snapshot of ours (the statistics are bounded far below). */
const MAX_FILE_BYTES = 1024 * 1024 * 1024;
/** Temporary files of a save: `.state.wiretop.PID.tmp` beside it. */
export const TEMP_PREFIX = '.state.wiretop.';
/** Nor is a part that inflates to more than this. */
const MAX_PART_BYTES = 1024 * 1024 * 1024;

/** What has been counted from an input already: its identity, and how far. */
export interface InputPosition {
  /** See InputIdentity (persistence.ts): a hash of the options and of each file's first `heads[i]` bytes. */
  id: string;
  heads: number[];
  /** What it is, for people: the file's name. */
  name: string;
  /** Transactions and TLS connection records taken from it, in the order the capture gives them. */
  events: number;
  tls: number;
}

/** The header line. */
export interface SnapshotHeader {
  format: number;
  version: string;
  /** Wall time of the write (ms since the epoch): for people, never for statistics. */
  written: number;
  settings: Record<string, string>;
  inputs: InputPosition[];
  /** The deflated length of each part. */
  parts: number[];
  sha256: string;
}

/** Why a snapshot was not read. */
export type SnapshotProblem = 'foreign' | 'damaged' | 'format' | 'unreadable';

export class SnapshotError extends Error {
  constructor(readonly kind: SnapshotProblem, message: string) {
    super(message);
  }
}

/** Writes `parts` with their header to `file`, atomically; returns the body's bytes; throws on failure (the old snapshot stays). */
export function writeSnapshot(file: string, header: Omit<SnapshotHeader, 'parts' | 'sha256' | 'format'>, parts: Iterable<unknown>): number {
  const deflated: Buffer[] = [];
  const hash = crypto.createHash('sha256');
  for (const part of parts) {
    const bytes = zlib.deflateSync(v8.serialize(part), { level: 1 });
    hash.update(bytes);
    deflated.push(bytes);
  }
  const payload = Buffer.concat(deflated);
  const described = { format: STATE_FORMAT, ...header, parts: deflated.map((part) => part.length) };
  // The checksum covers the header too: a damaged position would count an input twice.
  const full: SnapshotHeader = { ...described, sha256: hash.update(JSON.stringify(described)).digest('hex') };
  const temp = path.join(path.dirname(file), `${TEMP_PREFIX}${process.pid}.tmp`);
  // Never through a link planted at the temporary name: created here, or not at all.
  fs.rmSync(temp, { force: true });
  const fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.writeSync(fd, `${MAGIC}${JSON.stringify(full)}\n`);
    for (let at = 0; at < payload.length;) at += fs.writeSync(fd, payload, at);
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  syncDirectory(path.dirname(file));
  return payload.length;
}

/** The rename is durable only once the directory is written too. */
function syncDirectory(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems cannot fsync a directory: the rename is as durable as they make it.
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/**
 * A snapshot read back: its header and its parts, each read when the iteration reaches it;
 * null when there is no file. Throws SnapshotError (the parts too, should one not read).
 */
export function readSnapshot(file: string): { header: SnapshotHeader; parts: Iterable<unknown> } | null {
  let data: Buffer;
  try {
    const stat = fs.lstatSync(file);
    if (!stat.isFile()) throw new SnapshotError('foreign', 'not a regular file');
    if (stat.size > MAX_FILE_BYTES) throw new SnapshotError('foreign', `${stat.size} bytes, more than a snapshot holds`);
    data = fs.readFileSync(file);
  } catch (error) {
    if (error instanceof SnapshotError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SnapshotError('unreadable', `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (data.length < MAGIC.length || data.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new SnapshotError('foreign', 'not a wiretop snapshot');
  const end = data.indexOf(10, MAGIC.length);
  if (end < 0) throw new SnapshotError('damaged', 'its header is cut short');
  let header: SnapshotHeader;
  try {
    header = JSON.parse(data.toString('utf8', MAGIC.length, end)) as SnapshotHeader;
  } catch {
    throw new SnapshotError('damaged', 'its header is not JSON');
  }
  if (header === null || typeof header !== 'object' || typeof header.format !== 'number') throw new SnapshotError('damaged', 'its header has no format');
  if (header.format !== STATE_FORMAT) throw new SnapshotError('format', `format ${header.format} (this wiretop reads ${STATE_FORMAT})`);
  if (!wellFormed(header)) throw new SnapshotError('damaged', 'its header is incomplete');
  const payload = data.subarray(end + 1);
  const bytes = header.parts.reduce((sum, n) => sum + n, 0);
  if (payload.length !== bytes) throw new SnapshotError('damaged', `${payload.length} bytes where the header says ${bytes}`);
  const { sha256, ...described } = header;
  if (crypto.createHash('sha256').update(payload).update(JSON.stringify(described)).digest('hex') !== sha256) throw new SnapshotError('damaged', 'its checksum does not match');
  return { header, parts: partsOf(payload, header.parts) };
}

/** Every field of the header of the type it must have (a value of another type would mislead the run, or crash it). */
function wellFormed(header: SnapshotHeader): boolean {
  const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  return typeof header.sha256 === 'string' && typeof header.version === 'string' && typeof header.written === 'number'
    && header.settings !== null && typeof header.settings === 'object' && !Array.isArray(header.settings) && Object.values(header.settings).every((v) => typeof v === 'string')
    && Array.isArray(header.parts) && header.parts.every(count)
    && Array.isArray(header.inputs) && header.inputs.every((p) => p !== null && typeof p === 'object' && typeof p.id === 'string' && typeof p.name === 'string'
      && Array.isArray(p.heads) && p.heads.every(count) && count(p.events) && count(p.tls));
}

function* partsOf(payload: Buffer, lengths: readonly number[]): Generator<unknown> {
  let at = 0;
  for (const length of lengths) {
    const bytes = payload.subarray(at, at + length);
    at += length;
    let value: unknown;
    try {
      value = v8.deserialize(zlib.inflateSync(bytes, { maxOutputLength: MAX_PART_BYTES }));
    } catch (error) {
      throw new SnapshotError('damaged', `a part cannot be read (${(error as Error).message})`);
    }
    yield value;
  }
}
