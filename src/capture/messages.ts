/** The typed protocol between the main thread and the capture worker. */
import { WiretopError, type ErrorKind } from '../errors';
import type { CaptureStats, TlsConnection } from '../types';
import type { EncodedBatch } from './eventBatch';
import type { MessagePort } from 'worker_threads';

/** Where packets come from. */
export type CaptureSourceSpec =
  | {
    kind: 'live'; iface: string; filter: string; bufferBytes: number; snapLength: number; nice: number; promiscuous: boolean;
    /**
     * `nice` is for the session's scheduling group only, not the thread that reads (the main
     * thread, when it captures: its statistics, display and the programs it starts keep theirs).
     */
    groupNiceOnly?: boolean;
    /** Read packets in place in the ring (see packetRing) where it can. */
    zeroCopy: boolean;
    /** One of several workers: the PACKET_FANOUT group its socket joins (see shardedCapture). */
    fanoutGroup?: number;
    /** With fanoutGroup: this worker's number, the workers' count, and where each says when it joined (see sources/liveSource). */
    fanoutStart?: { worker: number; workers: number; joined: SharedArrayBuffer };
  }
  | { kind: 'file'; path: string; filter: string; ports: number[] | null; speed: number }
  | { kind: 'demo'; seed: number; speed: number }
  /** One worker's share of a file, handed over by the reader thread through `CaptureRequest.shardPort`. */
  | { kind: 'shard'; name: string; linkType: number };

/** Given to the worker at start (workerData). */
export interface CaptureRequest {
  source: CaptureSourceSpec;
  maxStrLength: number;
  /** Worker flush ceiling, seconds: the longest a finished transaction waits to be posted. */
  timeout: number;
  /** memory_budget_mb: what the worker's growing buffers may hold together. */
  memoryBudgetMb: number;
  /** The config's route templates (`routes`) and proxies trusted to name the client (`trusted_proxies`). */
  routes?: string[];
  trustedProxies?: string[];
  /** Keep the headers a transaction's detail shows (the dashboard's; headless outputs have no use for them). */
  keepHeaders?: boolean | 'all';
  /** A key log file (`--keylog`), opened by the main thread before privileges are dropped: its descriptor. */
  keyLogFd?: number;
  /**
   * One Int32 the main thread sets to 1 (and notifies) to stop: seen even while the worker
   * waits for a stalled pipe without returning to its event loop (where `stop` messages land).
   */
  stopSignal?: SharedArrayBuffer;
  /** Capture workers to split the connections among (files and live; see shardedCapture). */
  workers?: number;
  /** Capture on the main thread, not in a worker (see shardedCapture's captureOnMainThread). */
  onMainThread?: boolean;
  /** A `shard` source: the port its frames come in on. */
  shardPort?: MessagePort;
}

/** A capture thread's failure as its message: what a WiretopError says, else that the capture failed. */
export interface ErrorMessage {
  type: 'error';
  kind: ErrorKind;
  message: string;
}

export function errorMessage(error: unknown): ErrorMessage {
  return error instanceof WiretopError
    ? { type: 'error', kind: error.kind, message: error.message }
    : { type: 'error', kind: 'capture', message: `capture failed: ${(error as Error).message}` };
}

/** Main → worker: `ack` says the main thread has taken in `batches` more event messages. */
/** Main → worker. `request`: what a prestarted worker (see prestartedWorker) is to capture, its first message. */
export type ToWorker = { type: 'stop' } | { type: 'ack'; batches: number } | { type: 'request'; request: CaptureRequest };

/** Worker → main. */
export type FromWorker =
  | { type: 'ready'; source: string; linkType: number }
  | { type: 'events'; batch: EncodedBatch; watermark: number }
  | { type: 'tls'; connections: TlsConnection[] }
  /** `pipelineWatermark`: the watermark even before the first transaction (a sharded capture's merge needs it). */
  | { type: 'stats'; stats: CaptureStats; now: number; watermark: number; pipelineWatermark: number }
  | ErrorMessage
  | { type: 'eof' }
  | { type: 'stopped' };
