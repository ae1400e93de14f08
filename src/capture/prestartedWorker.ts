/**
 * A capture worker started before the run knows what it will capture. A worker thread takes
 * ~0.1 s to start (its own Node instance, then the parsers' modules), and the main thread takes
 * as long to load its own modules and read the command line and config: started first, the
 * worker gets ready meanwhile, and a run on a file starts capturing that much sooner. It waits
 * for its request (a `request` message) and is adopted by the run's WorkerCapture when its
 * heap limits are the ones the run wants; otherwise it is ended unused.
 *
 * This module is loaded by bin/wiretop before everything else: it imports only what starting a
 * thread needs.
 */
import { availableParallelism } from 'os';
import * as path from 'path';
import { Worker, type ResourceLimits } from 'worker_threads';
import { budgetForHeap, captureHeapLimitMb, DEFAULT_MEMORY_BUDGET_MB, heapLimitMb } from '../memoryBudget';

/** What a prestarted worker is told first: it runs the capture the request names. */
export const PRESTARTED = 'prestarted';

/** A capture thread's compiled script (tests run the TypeScript sources, threads run from dist/). */
export function captureThreadScript(name: 'worker' | 'shardReader'): string {
  return __filename.endsWith('.ts')
    ? path.resolve(__dirname, `../../dist/src/capture/${name}.js`)
    : path.join(__dirname, `${name}.js`);
}

/** The capture worker's heap limits for a memory budget (its old generation holds the budget's state). */
export function captureWorkerLimits(memoryBudgetMb: number): ResourceLimits {
  // The worker's garbage is short-lived (packets, heads, sent events): a small young
  // generation keeps the process's memory low. 16 MB, not 8: each scavenge copies the same
  // survivors (open connections, held transactions) whatever the size, so half as many of
  // them took 12% fewer instructions from the capture thread (callgrind, 50,000 keep-alive
  // requests), with no change in the live dashboard's peak RSS. Its old generation is sized by
  // the budget its state is held to (a --max-old-space-size given to the process overrides both).
  return { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: captureHeapLimitMb(memoryBudgetMb) };
}

let prestarted: { worker: Worker; limits: ResourceLimits; dead: boolean; ended: Promise<void> } | null = null;

/**
 * Whether a command line reads a file (or runs the demo) with one capture thread, as far as it
 * tells before the config is read: the runs whose start is worth a prestarted worker. A live
 * capture runs for long (and its budget leaves room for the kernel's ring: other limits), help
 * and version start nothing, and several workers are started by the sharded capture.
 */
export function prestartWanted(argv: readonly string[], cores = availableParallelism()): boolean {
  if (argv.some((a) => a === '-h' || a === '--help' || a === '-V' || a === '--version')) return false;
  if (!argv.some((a) => a === '-r' || a === '--read' || a.startsWith('--read=') || a === '--demo')) return false;
  const at = argv.findIndex((a) => a === '--workers' || a.startsWith('--workers='));
  const workers = at < 0 ? 0 : Number(argv[at].startsWith('--workers=') ? argv[at].slice('--workers='.length) : argv[at + 1]);
  // 0 (the default) is one per core beside the main thread's.
  return workers === 1 || (workers === 0 && cores <= 2);
}

/** Starts a capture worker for `argv`'s run, when it is one that benefits (see prestartWanted). `script`: the thread's (tests). */
export function prestartCaptureWorker(argv: readonly string[], script = captureThreadScript('worker')): void {
  if (prestarted !== null || !prestartWanted(argv)) return;
  const limits = captureWorkerLimits(budgetForHeap(DEFAULT_MEMORY_BUDGET_MB, heapLimitMb()));
  const worker = new Worker(script, { workerData: PRESTARTED, resourceLimits: limits });
  // Until a run adopts it, it keeps nothing alive. One that fails or ends before is not adopted:
  // the run starts its own, whose failure it hears.
  worker.unref();
  let ended = (): void => undefined;
  const started = { worker, limits, dead: false, ended: new Promise<void>((resolve) => { ended = resolve; }) };
  worker.on('error', () => { started.dead = true; });
  worker.on('exit', () => {
    started.dead = true;
    ended();
  });
  prestarted = started;
}

/** The prestarted worker, when its limits are `limits` (then it is the caller's); null otherwise. */
export function adoptPrestartedWorker(limits: ResourceLimits): Worker | null {
  const taken = prestarted;
  if (taken === null) return null;
  prestarted = null;
  const same = taken.limits.maxYoungGenerationSizeMb === limits.maxYoungGenerationSizeMb && taken.limits.maxOldGenerationSizeMb === limits.maxOldGenerationSizeMb;
  if (!same || taken.dead) {
    void taken.worker.terminate();
    return null;
  }
  taken.worker.removeAllListeners('error');
  taken.worker.removeAllListeners('exit');
  taken.worker.ref();
  return taken.worker;
}

/** Resolves when the prestarted worker not adopted yet has ended (tests); at once when there is none. */
export function prestartedWorkerEnded(): Promise<void> {
  return prestarted?.ended ?? Promise.resolve();
}

/** Ends a prestarted worker no run adopted (the run needed none, or other limits). */
export function discardPrestartedWorker(): void {
  if (prestarted === null) return;
  void prestarted.worker.terminate();
  prestarted = null;
}
