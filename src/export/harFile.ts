/**
 * `--har FILE`: the run's transactions streamed into a HAR document as they come, so a long
 * capture costs disk, not memory. The entries go to a temporary file beside FILE (opened before
 * the capture starts, while the run still has its privileges: a bad path fails at once), which
 * is renamed over FILE once the document is whole: a reader never finds half a HAR.
 */
import * as fs from 'fs';
import * as path from 'path';
import { WiretopError } from '../errors';
import type { HttpEvent } from '../types';
import { harEntry } from './har';

/** Bytes gathered before a write (entries are ~1 KB). */
const WRITE_CHUNK = 256 * 1024;

export class HarFileWriter {
  private readonly temp: string;
  private fd: number | null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private count = 0;
  /** What went wrong writing, said once at the end; null while all is well. */
  failure: string | null = null;

  /**
   * `owner`: the account the run drops to (root's run gives its privileges up once the capture is
   * open): the temporary file is made theirs, so that they may rename it in a shared directory
   * such as /tmp (a directory only root may write still keeps the document at its temporary name, said at the end).
   */
  constructor(
    private readonly file: string,
    version: string,
    where: string | null,
    owner: { uid: number; gid: number } | null = null,
    /** Applied here when the run does not filter what reaches the outputs (the dashboard, whose `/` is the user's). */
    private readonly matches: ((e: HttpEvent) => boolean) | null = null,
  ) {
    this.temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    // Renaming over a device, a FIFO or a directory (`--har /dev/stdout`) would replace it: refused.
    const existing = fs.statSync(file, { throwIfNoEntry: false });
    if (existing !== undefined && !existing.isFile()) throw new WiretopError('usage', `--har ${file}: not a regular file; give the path of a file to write`);
    try {
      // Private: the HAR holds URLs with their query strings and every header but the secrets.
      this.fd = fs.openSync(this.temp, 'wx', 0o600);
    } catch (error) {
      throw new WiretopError('usage', `--har ${file}: cannot write there (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): choose a writable directory`);
    }
    try {
      if (owner !== null) fs.fchownSync(this.fd, owner.uid, owner.gid);
    } catch {
      // A file system without owners (vfat) or with root squashed (NFS): the file stays the run's; a rename that then fails is said at the end.
    }
    const comment = where === null ? '' : `,"comment":${JSON.stringify(`transactions matching: ${where}`)}`;
    this.write(`{"log":{"version":"1.2","creator":{"name":"wiretop","version":${JSON.stringify(version)}},"pages":[]${comment},"entries":[\n`);
  }

  /** Transactions written so far. */
  get written(): number {
    return this.count;
  }

  add(events: readonly HttpEvent[]): void {
    if (this.fd === null) return;
    for (const e of events) {
      if (this.matches !== null && !this.matches(e)) continue;
      const text = `${this.count === 0 ? '' : ',\n'}${JSON.stringify(harEntry(e))}`;
      this.pending.push(text);
      this.pendingBytes += text.length;
      this.count++;
    }
    if (this.pendingBytes >= WRITE_CHUNK) this.flush();
  }

  /** Ends the document and puts it in place; returns the line that says so (or why not). */
  finish(): string {
    if (this.fd === null) return this.failure ?? '';
    this.pending.push('\n]}}\n');
    this.flush();
    if (this.fd === null) return this.failure!;
    try {
      fs.fsyncSync(this.fd);
    } catch (error) {
      this.failure = `wiretop: --har: writing ${this.temp} failed (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); no HAR was written`;
      this.abort();
      return this.failure;
    }
    fs.closeSync(this.fd);
    this.fd = null;
    try {
      fs.renameSync(this.temp, this.file);
    } catch (error) {
      this.failure = `wiretop: --har: could not put ${this.file} in place (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the whole document is in ${this.temp}`;
      return this.failure;
    }
    return `wiretop: wrote ${this.count} transaction${this.count === 1 ? '' : 's'} to ${this.file} (HAR 1.2)`;
  }

  /** The run failed: the half-written document is removed. */
  abort(): void {
    if (this.fd === null) return;
    try {
      fs.closeSync(this.fd);
      fs.unlinkSync(this.temp);
    } catch {
      // Nothing more to do: the temporary name says what it is.
    }
    this.fd = null;
  }

  private flush(): void {
    if (this.pending.length === 0 || this.fd === null) return;
    this.write(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  private write(text: string): void {
    try {
      // writeFileSync on a descriptor writes all of it (writeSync may write part: a full disk).
      fs.writeFileSync(this.fd!, text);
    } catch (error) {
      this.failure = `wiretop: --har: writing ${this.temp} failed (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); no HAR was written`;
      this.abort();
    }
  }
}
