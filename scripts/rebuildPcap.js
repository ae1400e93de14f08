// Rebuilds the pcap addon after scripts/applyPatches.js has applied patches/pcap+*.patch, so the
// binding that ships closes its libuv poll handle (see the patch for why).
const { execFileSync } = require('child_process');
const path = require('path');

const pcapDir = path.join(__dirname, '..', 'node_modules', 'pcap');
const nodeGyp = process.env.npm_config_node_gyp;
const [cmd, args] = nodeGyp
  ? [process.execPath, [nodeGyp, 'rebuild']]
  : ['npm', ['rebuild', 'pcap']];
execFileSync(cmd, args, { cwd: nodeGyp ? pcapDir : path.join(__dirname, '..'), stdio: 'inherit' });
