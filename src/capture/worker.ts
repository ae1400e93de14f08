/**
 * The capture worker thread: a thin adapter between the thread's messages and the capture loop.
 * It opens the source the main thread asked for, runs the loop, and turns `stop` and `ack`
 * messages into calls; a failure becomes one `error` message.
 */
import * as fs from 'fs';
import { heapPeakIfAsked } from '../platform/heapPeak';
import { parentPort, workerData } from 'worker_threads';
import { CaptureLoop } from './captureLoop';
import { captureLimits } from './limits';
import { errorMessage, type CaptureRequest, type FromWorker, type ToWorker } from './messages';
import { PRESTARTED } from './prestartedWorker';
import { CapturePipeline, requestNaming } from './pipeline';
import { openSource } from './sources/openSource';
import { lockDownThread } from '../platform/systemCalls';
import { FileKeyLog } from '../tls/keyLog';

const port = parentPort!;
let loop: CaptureLoop | null = null;
let stopBeforeStart = false;
/** A prestarted worker's request comes in its first message (see prestartedWorker). */
let requested: ((request: CaptureRequest) => void) | null = null;
const requestGiven: Promise<CaptureRequest> = workerData === PRESTARTED
  ? new Promise((resolve) => { requested = resolve; })
  : Promise.resolve(workerData as CaptureRequest);

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'request':
      requested?.(message.request);
      requested = null;
      break;
    case 'stop':
      stopBeforeStart = true;
      loop?.stop();
      break;
    case 'ack':
      loop?.acknowledge(message.batches);
      break;
  }
});

function post(message: FromWorker, transfer?: ArrayBuffer[]): void {
  port.postMessage(message, transfer);
}

const heapPeak = heapPeakIfAsked();

async function main(): Promise<void> {
  try {
    const request = await requestGiven;
    const spec = request.source;
    const ports = spec.kind === 'file' && spec.ports !== null ? new Set(spec.ports) : null;
    const keyLog = request.keyLogFd !== undefined ? new FileKeyLog(request.keyLogFd) : null;
    const limits = { ...captureLimits(request.maxStrLength, request.memoryBudgetMb), keepHeaders: request.keepHeaders ?? true };
    const naming = requestNaming(request.routes ?? [], request.trustedProxies ?? [], request.maxStrLength);
    const pipeline = new CapturePipeline(limits, request.timeout, { ports, naming, keyLog });
    const source = openSource(spec, request.stopSignal !== undefined ? new Int32Array(request.stopSignal) : undefined, request.shardPort);
    // The capture is open: this thread, the one that parses the network's bytes, needs nothing more.
    lockDownThread();
    loop = new CaptureLoop(source, pipeline, { post }, limits.maxBytesInFlight);
    if (stopBeforeStart) loop.stop();
    await loop.run();
    // For `npm run bench`: this thread's heap, before the main thread's rusage line.
    if (heapPeak !== null) fs.writeSync(2, heapPeak.finish('capture'));
  } catch (error) {
    post(errorMessage(error));
  }
  port.close();
}

void main();
