/**
 * Opens the packet source a capture request names. The sources a run does not use are not
 * loaded: the demo's generators and the live capture's modules would only lengthen the start of
 * every run on a file.
 */
import { defaultInterface } from '../libpcap';
import type { CaptureSourceSpec } from '../messages';
import type { PacketSource } from '../packetSource';
import { FileSource, FilteredFileSource } from './fileSource';
import type { MessagePort } from 'worker_threads';

/** Milliseconds the kernel may hold captured packets before it hands them over (see README). */
export const LIVE_TIMEOUT_MS = 50;

/** Opens `spec`'s source; throws a WiretopError that says what to do when it cannot. */
export function openSource(spec: CaptureSourceSpec, stopSignal?: Int32Array, shardPort?: MessagePort): PacketSource {
  switch (spec.kind) {
    case 'file':
      return spec.filter !== '' ? new FilteredFileSource(spec.path, spec.filter, spec.speed) : new FileSource(spec.path, spec.speed, stopSignal);
    case 'demo': {
      const { DemoSource } = require('./demoSource') as typeof import('./demoSource');
      return new DemoSource(spec.seed, spec.speed);
    }
    case 'live': {
      const { LiveSource } = require('./liveSource') as typeof import('./liveSource');
      return new LiveSource(spec.iface !== '' ? spec.iface : defaultInterface(), spec.filter,
        { bufferBytes: spec.bufferBytes, snapLength: spec.snapLength, timeoutMs: LIVE_TIMEOUT_MS, promiscuous: spec.promiscuous, nice: spec.nice, groupNiceOnly: spec.groupNiceOnly,
          zeroCopy: spec.zeroCopy, fanoutGroup: spec.fanoutGroup, fanoutStart: spec.fanoutStart });
    }
    case 'shard': {
      if (shardPort === undefined) throw new Error('a shard source needs its port');
      const { ShardSource } = require('./shardSource') as typeof import('./shardSource');
      return new ShardSource(spec.name, spec.linkType, shardPort);
    }
  }
}
