/** The interface-down grace on a clock the test moves by hand. */
import type { Clock } from '../src/run/clock';
import { INTERFACE_DOWN_GRACE_MS, InterfaceGrace, interfaceDownError } from '../src/run/interfaceGrace';

/** A clock that only moves when told. */
function fakeClock(start = 1_700_000_000_000): Pick<Clock, 'now'> & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => { now += ms; } };
}

describe('the interface-down grace', () => {
  it('expires once the interface has been down for the whole grace', () => {
    const clock = fakeClock();
    const grace = new InterfaceGrace(clock);
    expect(grace.expired(true)).toBe(false);
    clock.advance(INTERFACE_DOWN_GRACE_MS - 1);
    expect(grace.expired(true)).toBe(false);
    clock.advance(1);
    expect(grace.expired(true)).toBe(true);
  });

  it('an interface back up within the grace cancels it: the next outage gets a whole grace of its own', () => {
    const clock = fakeClock();
    const grace = new InterfaceGrace(clock);
    expect(grace.expired(true)).toBe(false);
    clock.advance(3000);
    expect(grace.expired(false)).toBe(false);
    clock.advance(1000);
    expect(grace.expired(true)).toBe(false);
    clock.advance(INTERFACE_DOWN_GRACE_MS - 1);
    expect(grace.expired(true)).toBe(false);
    clock.advance(1);
    expect(grace.expired(true)).toBe(true);
  });

  it('an interface that stays up never expires, however long', () => {
    const clock = fakeClock();
    const grace = new InterfaceGrace(clock, 10);
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      expect(grace.expired(false)).toBe(false);
    }
  });

  it('names the interface and says what to do', () => {
    expect(interfaceDownError('eth0').message).toBe('eth0: the interface is down, nothing can be captured (bring it up, or capture on another with -i)');
    expect(interfaceDownError('eth0').kind).toBe('interface');
  });
});
