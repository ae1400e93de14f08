/** The interface-down grace on a clock the test moves by hand. */
import { INTERFACE_DOWN_GRACE_MS, InterfaceGrace, interfaceDownError } from '../src/run/interfaceGrace';
import { manualClock } from './helpers/manualClock';

const START = 1_700_000_000_000;

describe('the interface-down grace', () => {
  it('expires once the interface has been down for the whole grace', () => {
    const clock = manualClock(START);
    const grace = new InterfaceGrace(clock);
    expect(grace.expired(true)).toBe(false);
    clock.advance(INTERFACE_DOWN_GRACE_MS - 1);
    expect(grace.expired(true)).toBe(false);
    clock.advance(1);
    expect(grace.expired(true)).toBe(true);
  });

  it('an interface back up within the grace cancels it: the next outage gets a whole grace of its own', () => {
    const clock = manualClock(START);
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
    const clock = manualClock(START);
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
