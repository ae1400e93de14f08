// Rebuilds the pcap addon after scripts/applyPatches.js has applied patches/pcap+*.patch, so the
// binding that ships closes its libuv poll handle (see the patch for why). Quiet unless it fails.
'use strict';
const path = require('path');
const { runQuietly } = require('./quietly');

const pcapDir = path.join(__dirname, '..', 'node_modules', 'pcap');
const nodeGyp = process.env.npm_config_node_gyp;
const [cmd, args] = nodeGyp
  ? [process.execPath, [nodeGyp, 'rebuild']]
  : ['npm', ['rebuild', 'pcap']];
const failure = runQuietly(cmd, args, nodeGyp ? pcapDir : path.join(__dirname, '..'));
if (failure !== null) {
  process.stderr.write(failure.output);
  process.stderr.write(`wiretop: the pcap addon did not build (${failure.reason}); it needs build-essential, python3 and libpcap-dev (apt-get install build-essential python3 libpcap-dev)\n`);
  process.exit(1);
}
