/**
 * wiretop's own small native module (native/wiretop_sys.c, built at install): no_new_privs
 * and an empty capability set for the calling thread, which Node does not offer. Loaded at
 * most once per thread; when it is missing (not built), the calls are simply not made.
 */
import * as fs from 'fs';
import * as path from 'path';

/** The module's calls; each returns whether the kernel took it. */
export interface SystemCalls {
  setNoNewPrivs(): boolean;
  dropCapabilities(): boolean;
}

let loaded: SystemCalls | null | undefined;

/** The native module, or null when it was not built. */
export function systemCalls(): SystemCalls | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, 'native', 'build', 'Release', 'wiretop_sys.node');
    if (!fs.existsSync(file)) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require(file) as SystemCalls;
    } catch {
      loaded = null;
    }
    break;
  }
  return loaded;
}

/** The calling thread's effective capabilities are not empty. */
export function threadHasCapabilities(): boolean {
  try {
    return !/^CapEff:\s*0+$/m.test(fs.readFileSync('/proc/thread-self/status', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Locks the calling thread down once what needed privileges is done: no_new_privs, and — when
 * not root (a setcap'd node) — no capabilities. (As root the capabilities go with the change of
 * user, which every thread must still be able to make.) Returns what was done, as words.
 */
export function lockDownThread(): string[] {
  const calls = systemCalls();
  if (calls === null) return [];
  const done: string[] = [];
  if (calls.setNoNewPrivs()) done.push('no new privileges');
  if (process.getuid?.() !== 0 && threadHasCapabilities() && calls.dropCapabilities()) done.push('no capabilities');
  return done;
}
