/**
 * What a transaction is, for every statistic, panel, alert and metric alike: an error or not
 * (the one error rule), its status class and status key, its endpoint, its user agent as a
 * key, its bytes. The section of a URI is the parser's (`http/uri.ts`, `event.section`).
 */
import { GRPC_STATUS_NAMES } from '../http/h2/grpc';
import type { HttpEvent } from '../types';
import type { HeavyHitter } from './spaceSaving';

/** The error rule: the server failed (5xx, or a code past the known classes) or never answered. */
export function isErrorStatus(status: number | null): boolean {
  return status === null || status >= 500;
}

/** A gRPC call that ended with a status other than OK (a failure the HTTP status, 200, does not show). */
export function isGrpcFailure(event: HttpEvent): boolean {
  return event.grpcStatus !== undefined && event.grpcStatus !== null && event.grpcStatus !== 0;
}

/** An event counts as an error when the server failed or never answered (see isErrorStatus), or its gRPC call failed. */
export function isErrorEvent(event: HttpEvent): boolean {
  return isErrorStatus(event.status) || isGrpcFailure(event);
}

/** The key of an unanswered request in the status breakdown. */
export const NO_STATUS = 'none';

/** Between an HTTP status and a failed gRPC call's code in a status key: `200 grpc NOT_FOUND`. */
const GRPC_KEY_PART = ' grpc ';

/** A gRPC status code's name (`NOT_FOUND`), or its number when it has none. */
export function grpcStatusName(code: number): string {
  return GRPC_STATUS_NAMES[code] ?? String(code);
}

/** A status as the status breakdown keys it: the code, or `none` when unanswered. */
export function statusKey(status: number | null): string {
  return status === null ? NO_STATUS : String(status);
}

/** An event's status key: its status's, and the code of a failed gRPC call after it (`200 grpc UNAVAILABLE`). */
export function statusKeyOf(event: HttpEvent): string {
  const key = statusKey(event.status);
  return isGrpcFailure(event) ? `${key}${GRPC_KEY_PART}${grpcStatusName(event.grpcStatus!)}` : key;
}

/** The HTTP status a status breakdown's key stands for (the inverse of statusKey). */
export function statusOfKey(key: string): number | null {
  const space = key.indexOf(' ');
  const status = space < 0 ? key : key.slice(0, space);
  return status === NO_STATUS ? null : Number(status);
}

/** Does a status key stand for an error (the one error rule)? */
export function isErrorKey(key: string): boolean {
  return isErrorStatus(statusOfKey(key)) || key.includes(GRPC_KEY_PART);
}

/** A status's class: `2xx`..., and `none` for an unanswered request. */
export function statusClass(status: number | null): string {
  return status === null ? NO_STATUS : `${Math.floor(status / 100)}xx`;
}

/** The classes a summary counts (a class outside them, `0xx` or `9xx`, counts in none of them). */
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', NO_STATUS] as const;

/** Counts of status classes (1xx..5xx, none) from a statuses breakdown, and the error rate. */
export function statusClasses(entries: readonly HeavyHitter[]): { classes: Record<string, number>; errorRate: number | null } {
  const classes: Record<string, number> = Object.fromEntries(STATUS_CLASSES.map((name) => [name, 0]));
  let total = 0;
  let errors = 0;
  for (const e of entries) {
    total += e.count;
    const status = statusOfKey(e.key);
    const name = statusClass(status);
    if (name in classes) classes[name] += e.count;
    if (isErrorKey(e.key)) errors += e.count;
  }
  return { classes, errorRate: total === 0 ? null : errors / total };
}

/** A transaction's protocol as the protocol breakdown keys it: `HTTP/1.1`, `HTTP/2`, and `gRPC` for gRPC over HTTP/2. */
export function protocolOf(event: HttpEvent): string {
  if (event.grpcMethod !== undefined) return 'gRPC';
  // The common versions' keys are constants: a key made per event would be a new string to
  // hash in every lookup of the summaries.
  switch (event.version) {
    case '1.1': return 'HTTP/1.1';
    case '2': return 'HTTP/2';
    case '1.0': return 'HTTP/1.0';
    default: return `HTTP/${event.version}`;
  }
}

/** An endpoint: the method and the route, `GET /users/{id}`. */
export function endpointOf(event: HttpEvent): string {
  return `${event.method} ${event.route}`;
}

/** The user agent as the breakdown keys it: `(none)` when the request sent none. */
export function userAgentOf(event: HttpEvent): string {
  return event.ua === '' ? '(none)' : event.ua;
}

/**
 * The program a transaction's connection belongs to as the processes breakdown keys it
 * (`--processes`): its command name, with its container when it runs in one (`nginx
 * docker:0123456789ab`); '' when there is none (not on this host, or not seen by a scan).
 */
export function processKeyOf(event: HttpEvent): string {
  return event.owner === undefined ? '' : event.owner.key;
}

/** Separates the two parts of a composite key (host + section, server name + client). */
export const KEY_SEPARATOR = '\u0000';

/** Bytes of a transaction: request and response bodies. */
export function eventBytes(event: HttpEvent): number {
  return event.reqBytes + event.respBytes;
}
