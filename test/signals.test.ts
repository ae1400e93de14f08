/** What each signal does to a run, with a fake environment and a fake run. */
import { subscribeSignals } from '../src/run/signals';

function fakes() {
  const calls: string[] = [];
  let interrupt: ((cause?: 'output') => void) | null = null;
  let hangup: (() => void) | null = null;
  let hangupQuits: boolean | undefined;
  const env = {
    onInterrupt: (handler: (cause?: 'output') => void, quits?: boolean) => {
      interrupt = handler;
      hangupQuits = quits;
      return () => { calls.push('interrupts off'); };
    },
    onHangup: (listener: () => void) => {
      hangup = listener;
      return () => { calls.push('hangup off'); };
    },
    writeErr: (text: string) => { calls.push(text); },
  };
  const run = { quit: () => { calls.push('quit'); }, stop: () => { calls.push('stop'); } };
  return { env, run, calls, interrupt: (cause?: 'output') => interrupt!(cause), hangup: () => hangup?.(), hangupQuits: () => hangupQuits, hears: () => hangup !== null };
}

describe('signals and the run', () => {
  it('a signal quits; a failed output only stops', () => {
    const f = fakes();
    subscribeSignals(f.env, f.run, null);
    f.interrupt();
    f.interrupt('output');
    expect(f.calls).toEqual(['quit', 'stop']);
  });

  it('without a log to reopen, SIGHUP quits like the others and is not listened to apart', () => {
    const f = fakes();
    subscribeSignals(f.env, f.run, null);
    expect(f.hangupQuits()).toBe(true);
    expect(f.hears()).toBe(false);
  });

  it('with a log to reopen, SIGHUP reopens it, and says when it cannot', () => {
    const f = fakes();
    let reopens = 0;
    let works = true;
    const unsubscribe = subscribeSignals(f.env, f.run, { file: { reopen: () => { reopens++; return works; } }, path: '/var/log/wiretop.log' });
    expect(f.hangupQuits()).toBe(false);
    f.hangup();
    works = false;
    f.hangup();
    expect(reopens).toBe(2);
    expect(f.calls).toEqual(['wiretop: --log /var/log/wiretop.log: cannot reopen it; still writing to the old file\n']);
    unsubscribe();
    expect(f.calls.slice(1).sort()).toEqual(['hangup off', 'interrupts off']);
  });
});
