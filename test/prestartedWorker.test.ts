/** The capture worker started before the run knows its request (bin/wiretop): when, and who takes it. */
import { adoptPrestartedWorker, captureWorkerLimits, discardPrestartedWorker, prestartCaptureWorker, prestartedWorkerEnded, prestartWanted } from '../src/capture/prestartedWorker';
import * as fs from 'fs';
import * as path from 'path';
import { budgetForHeap, DEFAULT_MEMORY_BUDGET_MB, heapLimitMb } from '../src/memoryBudget';
import { tempDir } from './helpers/conversation';

describe('prestarted capture worker', () => {
  it('is wanted for a file or the demo with one capture thread, not for help, version, live or several workers', () => {
    expect(prestartWanted(['-r', 'a.pcap', '--report', 'json'], 2)).toBe(true);
    expect(prestartWanted(['--read=a.pcap'], 2)).toBe(true);
    expect(prestartWanted(['--demo'], 2)).toBe(true);
    expect(prestartWanted(['-r', 'a.pcap', '--workers', '1'], 16)).toBe(true);
    expect(prestartWanted(['-r', 'a.pcap'], 16)).toBe(false);
    expect(prestartWanted(['-r', 'a.pcap', '--workers=3'], 2)).toBe(false);
    expect(prestartWanted(['-i', 'lo'], 2)).toBe(false);
    expect(prestartWanted([], 2)).toBe(false);
    expect(prestartWanted(['-r', 'a.pcap', '--help'], 2)).toBe(false);
    expect(prestartWanted(['--version'], 2)).toBe(false);
  });

  it('is adopted only with the heap limits it was started with; otherwise ended', async () => {
    const limits = captureWorkerLimits(budgetForHeap(DEFAULT_MEMORY_BUDGET_MB, heapLimitMb()));
    prestartCaptureWorker(['-r', 'a.pcap', '--workers', '1']);
    const adopted = adoptPrestartedWorker(limits);
    expect(adopted).not.toBeNull();
    expect(adoptPrestartedWorker(limits)).toBeNull(); // taken once
    await adopted!.terminate();

    prestartCaptureWorker(['-r', 'a.pcap', '--workers', '1']);
    expect(adoptPrestartedWorker(captureWorkerLimits(DEFAULT_MEMORY_BUDGET_MB / 2))).toBeNull();
    prestartCaptureWorker(['-r', 'a.pcap', '--workers', '1']);
    discardPrestartedWorker();
    expect(adoptPrestartedWorker(limits)).toBeNull();
  });

  it('is not adopted once it has failed: the run starts its own, whose failure it hears', async () => {
    const limits = captureWorkerLimits(budgetForHeap(DEFAULT_MEMORY_BUDGET_MB, heapLimitMb()));
    const script = path.join(tempDir(), 'fails.js');
    fs.writeFileSync(script, 'throw new Error("cannot start");\n');
    prestartCaptureWorker(['-r', 'a.pcap', '--workers', '1'], script);
    await prestartedWorkerEnded();
    expect(adoptPrestartedWorker(limits)).toBeNull();
  });
});
