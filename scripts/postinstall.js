// What `npm ci` runs after installing: the pcap addon is patched (see patches/) and rebuilt,
// then wiretop is compiled to dist/. It needs no dev dependency, so a production install
// (`npm ci --omit=dev`) works: the patch is applied by scripts/applyPatches.js, and the
// compile is TypeScript's transpilation alone (`noCheck`: no type definitions needed; the
// type check is `npm test`'s).
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');
const { applyPatches } = require('./applyPatches');

const ROOT = path.join(__dirname, '..');
applyPatches();
require('./rebuildPcap');
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
