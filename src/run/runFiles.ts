/**
 * The files a run opens before anything starts, so that a path that cannot be used is one
 * line and exit 1 now, not a surprise later: the alert log (to write) and the TLS key log (to
 * read, as the user who started wiretop: root may drop to nobody once the capture is open).
 */
import * as fs from 'fs';
import { AlertLogFile } from '../alerts/notify';
import type { Config } from '../config';
import { WiretopError } from '../errors';

/** The files a run holds open. */
export interface RunFiles {
  /** `--log`: every alert and recovery; null without it. */
  alertLog: AlertLogFile | null;
  /** `--keylog`: its descriptor, read by the capture; undefined without it. */
  keyLogFd: number | undefined;
}

/** Why a file cannot be used: its errno code, else the message. */
function reasonOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

/**
 * Opens the alert log and, when `wantsKeyLog` (a capture of packets: not the demo, not merged
 * streams), the key log; throws a WiretopError saying what to do. A key log that other users
 * can read is said on `warn` and used.
 */
export function openRunFiles(config: Config, wantsKeyLog: boolean, warn: (line: string) => void): RunFiles {
  let alertLog: AlertLogFile | null = null;
  if (config.log_file !== null) {
    try {
      alertLog = new AlertLogFile(config.log_file, config.log_format === 'json' ? 'json' : 'text');
    } catch (error) {
      throw new WiretopError('config', `--log ${config.log_file}: cannot be written (${reasonOf(error)}); name a file in a writable directory`);
    }
  }
  let keyLogFd: number | undefined;
  if (config.keylog_file !== null && wantsKeyLog) {
    try {
      keyLogFd = fs.openSync(config.keylog_file, 'r');
      if ((fs.fstatSync(keyLogFd).mode & 0o077) !== 0) warn(`wiretop: --keylog ${config.keylog_file}: other users can read these TLS secrets; chmod 600 it\n`);
    } catch (error) {
      throw new WiretopError('config', `--keylog ${config.keylog_file}: cannot be read (${reasonOf(error)}); create it first (touch FILE && chmod 600 FILE) and point the client's SSLKEYLOGFILE at it`);
    }
  }
  return { alertLog, keyLogFd };
}
