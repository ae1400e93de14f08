/** Failures a user can act on: each becomes one line on stderr and exit status 1. */

/** What went wrong, for callers that react differently (tests, the worker protocol). */
export type ErrorKind = 'usage' | 'config' | 'permission' | 'interface' | 'file' | 'filter' | 'capture' | 'plugin';

/** An error whose message is already the line to show the user. */
export class WiretopError extends Error {
  constructor(readonly kind: ErrorKind, message: string) {
    super(message);
    this.name = 'WiretopError';
  }
}
