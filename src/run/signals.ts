/**
 * Signals and a run: how the process hears them (SIGINT, SIGTERM, SIGHUP, a failed stdout),
 * and what each does to the run — a signal quits and a second one forces the end; a failed
 * output only stops, it never forces; headless with --log, SIGHUP reopens the log (logrotate)
 * instead of quitting, as a hangup otherwise does.
 */
import type { AlertLogFile } from '../alerts/notify';
import type { RunEnvironment } from './environment';
import type { RunLifecycle } from './lifecycle';

/** A log that SIGHUP reopens, and its name for the message when it cannot. */
export interface ReopenedLog {
  file: Pick<AlertLogFile, 'reopen'>;
  path: string;
}

/** Subscribes `run` to the signals; `reopened` is the log SIGHUP reopens, or null when SIGHUP quits. Returns an unsubscribe. */
export function subscribeSignals(env: Pick<RunEnvironment, 'onInterrupt' | 'onHangup' | 'writeErr'>, run: Pick<RunLifecycle, 'quit' | 'stop'>, reopened: ReopenedLog | null): () => void {
  const stopHangup = reopened !== null && env.onHangup !== undefined ? env.onHangup(() => {
    if (!reopened.file.reopen()) env.writeErr(`wiretop: --log ${reopened.path}: cannot reopen it; still writing to the old file\n`);
  }) : () => undefined;
  const stopInterrupts = env.onInterrupt((cause) => (cause === 'output' ? run.stop() : run.quit()), reopened === null);
  return () => {
    stopInterrupts();
    stopHangup();
  };
}

/**
 * The real process's signals as the environment gives them. `onOutputError` hears a write
 * error on stdout other than a closed pipe (a full disk, an I/O error), which the exit reports.
 */
export function processSignals(onOutputError: (error: NodeJS.ErrnoException) => void): Pick<RunEnvironment, 'onInterrupt' | 'onHangup'> {
  return {
    onHangup: (listener) => {
      process.on('SIGHUP', listener);
      return () => { process.off('SIGHUP', listener); };
    },
    onInterrupt: (handler, hangupQuits = true) => {
      const signals: NodeJS.Signals[] = hangupQuits ? ['SIGINT', 'SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM'];
      // The reader went away (`| head`): a quiet stop. Anything else is an error worth a line.
      // Every later write fails too: only the first error stops the run (a second would force it).
      let failed = false;
      const onEpipe = (error: NodeJS.ErrnoException) => {
        if (failed) return;
        failed = true;
        if (error.code !== 'EPIPE') onOutputError(error);
        handler('output');
      };
      for (const signal of signals) process.on(signal, handler);
      process.stdout.on('error', onEpipe);
      return () => {
        for (const signal of signals) process.off(signal, handler);
      };
    },
  };
}
