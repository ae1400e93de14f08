// Runs a build step with its output held back: node-gyp writes ~30 lines of `gyp info` per build,
// which drown what npm ci has to say. The output is shown only when the step fails.
'use strict';
const { spawnSync } = require('child_process');

/** Runs `cmd args` in `cwd`; returns null on success, else the failure with the step's whole output. */
function runQuietly(cmd, args, cwd) {
  const result = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status === 0) return null;
  const reason = result.error ? result.error.message : `exit status ${result.status ?? result.signal}`;
  return { reason, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

module.exports = { runQuietly };
