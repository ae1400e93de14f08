/**
 * What a capture runs on, built from its request: the packet source it names and the pipeline
 * that turns the source's frames into transactions. The same for a capture worker thread and for
 * a capture on the main thread (inlineCapture).
 */
import { captureLimits } from './limits';
import type { CaptureRequest } from './messages';
import type { PacketSource } from './packetSource';
import { CapturePipeline, requestNaming } from './pipeline';
import { openSource } from './sources/openSource';
import { FileKeyLog } from '../tls/keyLog';

/** An opened capture: its source, its pipeline, and what its batches in flight may hold. */
export interface OpenedCapture {
  source: PacketSource;
  pipeline: CapturePipeline;
  maxBytesInFlight: number;
}

/** Opens `request`'s source and builds its pipeline; throws a WiretopError when the source cannot be opened. */
export function openCaptureRun(request: CaptureRequest): OpenedCapture {
  const spec = request.source;
  const ports = spec.kind === 'file' && spec.ports !== null ? new Set(spec.ports) : null;
  const keyLog = request.keyLogFd !== undefined ? new FileKeyLog(request.keyLogFd) : null;
  const limits = { ...captureLimits(request.maxStrLength, request.memoryBudgetMb), keepHeaders: request.keepHeaders ?? true };
  const naming = requestNaming(request.routes ?? [], request.trustedProxies ?? [], request.maxStrLength);
  const pipeline = new CapturePipeline(limits, request.timeout, { ports, naming, keyLog });
  const source = openSource(spec, request.stopSignal !== undefined ? new Int32Array(request.stopSignal) : undefined, request.shardPort);
  return { source, pipeline, maxBytesInFlight: limits.maxBytesInFlight };
}
