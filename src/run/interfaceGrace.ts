/**
 * The grace a headless live capture gives a downed interface. The dashboard says INTERFACE
 * DOWN and waits for good; a headless run (a service, a pipeline) fails, so that what runs it
 * notices — but not at the first report: an interface that bounces (a cable, a renewed lease,
 * a moved VM) is back within seconds.
 */
import { WiretopError } from '../errors';
import type { Clock } from './clock';

/** How long a headless live capture waits for a downed interface to come back before it fails. */
export const INTERFACE_DOWN_GRACE_MS = 5000;

/** Counts how long the interface has been down, across the capture's health reports. */
export class InterfaceGrace {
  /** When the interface was first reported down (wall time), or null while it is up. */
  private downSince: number | null = null;

  constructor(private readonly clock: Pick<Clock, 'now'>, private readonly graceMs = INTERFACE_DOWN_GRACE_MS) {}

  /**
   * Told at each health report whether the interface is down; true once it has been down,
   * without coming back in between, for the whole grace. Wall time, not the data's: the data's
   * clock is the packets' timestamps, and a downed interface brings no packets.
   */
  expired(down: boolean): boolean {
    if (!down) {
      this.downSince = null;
      return false;
    }
    const now = this.clock.now();
    this.downSince ??= now;
    return now - this.downSince >= this.graceMs;
  }
}

/** The error that ends a headless live capture whose interface stayed down. */
export function interfaceDownError(listeningOn: string): WiretopError {
  return new WiretopError('interface', `${listeningOn}: the interface is down, nothing can be captured (bring it up, or capture on another with -i)`);
}
