/** A transaction as the capture gives it, for tests that feed the statistics, alerts or outputs directly. */
import { UNKNOWN_TEXT, type HttpEvent } from '../../src/types';

/** A 200 to `GET a.example/api/x` in 12 ms at `ts`, with `fields` changed. */
export function httpEvent(ts: number, fields: Partial<HttpEvent> = {}): HttpEvent {
  return {
    ts, src: '10.0.0.1', sport: 1, dst: '10.0.0.2', dport: 80, method: 'GET', host: 'a.example', uri: '/api/x', section: '/api',
    status: 200, reqBytes: 0, respBytes: 10, ua: 'ua', latencyMs: 12, version: '1.1', route: '/api/x', client: '10.0.0.1',
    uriTruncated: false, requestHeaders: '', responseHeaders: '', ...fields,
  };
}

/**
 * Whether a transaction's field says "unknown" instead of giving a value: what an HTTP/2 parser
 * shows for a header it cannot decode after joining a connection mid-way (an HPACK entry it never
 * saw). The HttpEvent contract for it is not settled (src/types.ts will say): adapt it here only.
 */
export function isUnknown(value: string | number | null | undefined): boolean {
  return value === null || value === undefined || value === UNKNOWN_TEXT;
}
