/** Helpers that turn request fields into the keys wiretop aggregates on. */
import { memoized } from '../memo';
import { ownCopy, ownCut } from '../protocol/sanitize';

/**
 * The section of a URI: its first path segment. `/pages/create` → `/pages`, `/` → `/`,
 * `http://h/a/b` → `/a`. A target that is not a path (`*`, `host:443`) is its own section.
 */
export function sectionOf(uri: string): string {
  let path = uri;
  const scheme = uri.indexOf('://');
  if (scheme > 0 && scheme < 10) {
    const slash = uri.indexOf('/', scheme + 3);
    path = slash < 0 ? '/' : uri.slice(slash);
  }
  if (path === '') return '/';
  if (path.charCodeAt(0) !== 0x2f) return path;
  let end = 1;
  while (end < path.length) {
    const c = path.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23) break;
    end++;
  }
  // Cut from the URI, a section kept (a key, a slowest request) would keep the whole URI alive.
  return end === 1 ? '/' : ownCut(path.slice(0, end), uri);
}

/** The host name of a Host header: lower-cased, without its port (IPv6 literals keep brackets). */
export function hostWithoutPort(host: string): string {
  if (host.charCodeAt(0) === 0x5b) {
    const close = host.indexOf(']');
    return ownCut((close < 0 ? host : host.slice(0, close + 1)).toLowerCase(), host);
  }
  const colon = host.indexOf(':');
  const bare = colon >= 0 && host.indexOf(':', colon + 1) < 0 ? host.slice(0, colon) : host;
  return ownCut(bare.toLowerCase(), host);
}

/** Hosts whose name is remembered, at most (see hostNameOf). */
const REMEMBERED_HOSTS = 1024;
/** Longest Host value whose name is remembered. */
const REMEMBERED_HOST_LENGTH = 256;

/**
 * `hostWithoutPort`, remembered: a Host header with a port (`example.com:8080`) or in capitals
 * would otherwise give a new string per request, one the capture's batch then hashes anew, where
 * the same header value (the same string: see TextCache) now gives the same name. Bounded: a
 * flood of distinct hosts starts the memory over.
 */
export const hostNameOf: (host: string) => string = memoized(hostWithoutPort, REMEMBERED_HOSTS, (host) => host.length <= REMEMBERED_HOST_LENGTH);

/** A section within `maxLength` (a URI may be 8 KiB, and its first segment nearly all of it). */
export function boundedSection(section: string, maxLength: number): string {
  return section.length <= maxLength ? section : ownCopy(section.slice(0, maxLength));
}
