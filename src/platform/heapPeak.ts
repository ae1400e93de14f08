/**
 * For `npm run bench` (WIRETOP_PRINT_RUSAGE=1): the most heap a thread committed, used and held
 * outside it (buffers), sampled every 100 ms, so that a peak RSS can be told apart by thread.
 */
import { getHeapStatistics } from 'v8';

const MB = 1024 * 1024;

export class HeapPeak {
  private committed = 0;
  private used = 0;
  private external = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.sample(), 100);
    this.timer.unref();
  }

  private sample(): void {
    const heap = getHeapStatistics();
    this.committed = Math.max(this.committed, heap.total_heap_size);
    this.used = Math.max(this.used, heap.used_heap_size);
    this.external = Math.max(this.external, heap.external_memory);
  }

  /** Stops sampling; the line to print: `heap THREAD {"committedMB":…,"usedMB":…,"externalMB":…}`. */
  finish(thread: string): string {
    this.sample();
    clearInterval(this.timer);
    const mb = (bytes: number) => Math.round(bytes / MB);
    return `heap ${thread} ${JSON.stringify({ committedMB: mb(this.committed), usedMB: mb(this.used), externalMB: mb(this.external) })}\n`;
  }
}

/** A HeapPeak when the environment asks for resource figures, else null. */
export function heapPeakIfAsked(): HeapPeak | null {
  return process.env.WIRETOP_PRINT_RUSAGE === '1' ? new HeapPeak() : null;
}
