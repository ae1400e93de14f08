/**
 * The capture worker thread: a thin adapter between the thread's messages and the capture loop.
 * It opens the source the main thread asked for, runs the loop, and turns `stop` and `ack`
 * messages into calls; a failure becomes one `error` message.
 */
import * as fs from 'fs';
import { heapPeakIfAsked } from '../platform/heapPeak';
import { parentPort, workerData } from 'worker_threads';
import { CaptureLoop } from './captureLoop';
import { openCaptureRun } from './captureRun';
import { errorMessage, type CaptureRequest, type FromWorker, type ToWorker } from './messages';
import { PRESTARTED } from './prestartedWorker';
import { lockDownThread } from '../platform/systemCalls';

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
    const { source, pipeline, maxBytesInFlight } = openCaptureRun(await requestGiven);
    // The capture is open: this thread, the one that parses the network's bytes, needs nothing more.
    lockDownThread();
    loop = new CaptureLoop(source, pipeline, { post }, maxBytesInFlight);
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
