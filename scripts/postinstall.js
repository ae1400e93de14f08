// What `npm ci` runs after installing: the pcap addon is patched (see patches/) and rebuilt,
// wiretop's own small native module (native/) is built, then wiretop is compiled to dist/. It needs no dev dependency, so a production install
// (`npm ci --omit=dev`) works: the patch is applied by scripts/applyPatches.js, and the
// compile is TypeScript's transpilation alone (`noCheck`: no type definitions needed; the
// type check is `npm test`'s).
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');
const { applyPatches } = require('./applyPatches');
const { runQuietly } = require('./quietly');

const ROOT = path.join(__dirname, '..');
applyPatches();
require('./rebuildPcap');
const nativeBuilt = buildSystemCalls();
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
process.stdout.write(`wiretop: built the patched pcap addon${nativeBuilt ? ', native/' : ''} and dist/\n`);

/**
 * Builds native/ (no_new_privs and capability drop for wiretop's threads). Best effort: without
 * it wiretop runs the same, only without those two locks, and says less when it drops root.
 * Returns whether it was built.
 */
function buildSystemCalls() {
  const nodeGyp = process.env.npm_config_node_gyp;
  const [cmd, args] = nodeGyp ? [process.execPath, [nodeGyp, 'rebuild']] : ['npx', ['--no-install', 'node-gyp', 'rebuild']];
  const failure = runQuietly(cmd, args, path.join(ROOT, 'native'));
  if (failure === null) return true;
  process.stderr.write(failure.output);
  process.stderr.write(`wiretop: native/ was not built (${failure.reason}): no_new_privs and the capability drop will be skipped\n`);
  return false;
}
