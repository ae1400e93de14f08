/**
 * Privilege drop: a live capture needs root (or CAP_NET_RAW) only to open the interface.
 * Once it is open, wiretop becomes an unprivileged user (`user`, default `nobody`): the
 * supplementary groups are cleared, then the group and the user are set, for every thread
 * of the process (the C library applies setuid to all of them), which also clears every
 * capability. The parser of hostile traffic then runs with no more rights than `nobody`.
 */
import * as fs from 'fs';
import { WiretopError } from '../errors';
import { ignoreInspectorSignal, lockDownProcess, systemCalls, threadHasCapabilities } from './systemCalls';

/** A user of the password database. */
interface Account {
  uid: number;
  gid: number;
}

/** The account of `name` in /etc/passwd (a name, or a numeric uid), or null. */
export function lookUpUser(name: string, passwd = '/etc/passwd'): Account | null {
  let text: string;
  try {
    text = fs.readFileSync(passwd, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (uid === undefined || gid === undefined) continue;
    if (user === name || uid === name) return { uid: Number(uid), gid: Number(gid) };
  }
  return null;
}

/**
 * Becomes `user` when running as root; returns the line that says so (null when nothing was
 * done: not root, or `root` asked for). Throws a WiretopError when the drop cannot be done.
 */
export function dropPrivileges(user: string): string | null {
  if (typeof process.getuid !== 'function') return null;
  if (process.getuid() !== 0) {
    // A setcap'd node: not root, but capable. The capabilities go once the capture is open.
    if (!threadHasCapabilities()) return null;
    const done = lockDownProcess();
    if (!done.some((what) => what.includes('no capabilities'))) return null;
    ignoreInspectorSignal();
    return `wiretop: dropped capabilities (${done.join(', ')})`;
  }
  if (user === 'root' || user === '0') return null;
  const account = lookUpUser(user);
  if (account === null) {
    throw new WiretopError('permission', `--user ${user}: no such user to run as after the capture opens (name another with --user, or --user root to keep root)`);
  }
  // The native module is read while still root: the account given up to may not read wiretop's
  // files (a checkout only root can read), and without it no thread would get no_new_privs.
  systemCalls();
  try {
    process.setgroups!([]);
    process.setgid!(account.gid);
    process.setuid!(account.uid);
  } catch (error) {
    throw new WiretopError('permission', `cannot drop root privileges to ${user}: ${(error as Error).message} (--user root keeps root)`);
  }
  if (process.getuid() !== account.uid || process.geteuid!() !== account.uid) {
    throw new WiretopError('permission', `dropping root privileges to ${user} did not take (--user root keeps root)`);
  }
  const locked = lockDownProcess();
  ignoreInspectorSignal();
  return `wiretop: dropped privileges to user ${user} (uid ${account.uid}, gid ${account.gid}, no supplementary groups${locked.map((what) => `, ${what}`).join('')})`;
}
