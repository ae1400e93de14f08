/**
 * Route templates: the path of a URI with its variable parts named, so that `/users/123` and
 * `/users/456` count as one endpoint, `/users/{id}`. Three sources, in order:
 *
 * 1. The user's routes (config `routes`): `/api/v{n}/users/:id` — `:name` or `{name}` stands for
 *    one path segment or part of one, a trailing `*` for the rest of the path. The first that
 *    matches gives the route, as written.
 * 2. Built-in rules per segment: integers `{id}`, UUIDs `{uuid}`, dates `{date}`, e-mail-like
 *    `{email}`, hex strings of 16+ digits `{hash}`, and long random-looking tokens `{token}`.
 *    Words joined by `-`, `_` or `.` (slugs such as `how-to-install-nginx`) stay literal.
 * 3. Learning: under one prefix (the route so far), a position that has shown more than
 *    `LEARN_THRESHOLD` distinct values becomes `{param}` for good. The first segment is never
 *    learnt: it is the section, and a scanner trying a thousand paths would otherwise turn every
 *    route into `/{param}/…`. Bounded: at most `MAX_PREFIXES` prefixes are watched and
 *    `MAX_LEARNT_CHARS` characters of values remembered; past that, segments stay literal.
 *
 * The query string and fragment are dropped. Deterministic for a given order of URIs.
 */

import { ownCopy, ownText } from '../protocol/sanitize';

/** Distinct values at one position under one prefix past which it becomes a parameter. */
export const LEARN_THRESHOLD = 64;

/** Prefixes whose next position is watched, at most (then no new ones are watched). */
const MAX_PREFIXES = 20_000;

/** Characters of watched values remembered, all prefixes together (~8 MB at worst). */
const MAX_LEARNT_CHARS = 4_000_000;

/** Paths whose routes are kept for reuse, at most (then the cache starts over). */
const MAX_CACHED_PATHS = 8192;

/**
 * Longer paths are templated each time instead of kept: they seldom repeat, and a cache of
 * distinct long paths (a flood of them) would hold megabytes. With this bound the cache holds
 * at most ~8 MB (paths and routes, two bytes a character).
 */
const MAX_CACHED_PATH_LENGTH = 256;

/** Segments of a path templated, at most; the rest of a longer path becomes `{…}`. */
const MAX_SEGMENTS = 32;

const INTEGER = /^\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/;
const EMAIL = /^[^@/\s]+@[^@/\s]+\.[a-z]{2,}$/i;
const HEX = /^[0-9a-f]{16,}$/i;
const FINGERPRINT = /(^|[-_.])([0-9a-f]{8,})(?=$|[-_.])/gi;
const TOKEN_CHARS = /^[A-Za-z0-9_\-=+~.%]{16,}$/;

/** The built-in template of one segment, or null when it stays literal. */
export function segmentTemplate(segment: string): string | null {
  if (INTEGER.test(segment)) return '{id}';
  if (segment.length >= 32 && UUID.test(segment)) return '{uuid}';
  if (DATE.test(segment)) return '{date}';
  if (segment.includes('@') && EMAIL.test(segment)) return '{email}';
  if (HEX.test(segment) && /\d/.test(segment)) return '{hash}';
  // A fingerprint in a file name: `app.3f9a1c2b7d4e.js` → `app.{hash}.js`, `vendor-5f60a1b2.min.js` → `vendor-{hash}.min.js`.
  const fingerprinted = segment.replace(FINGERPRINT, (part, separator: string, hex: string) => (/\d/.test(hex) && /[a-f]/i.test(hex) ? `${separator}{hash}` : part));
  if (fingerprinted !== segment) return fingerprinted;
  if (looksRandom(segment)) return '{token}';
  return null;
}

/**
 * A long token that is no words: 16+ characters of the URL-safe kinds, with digits among
 * letters, that does not split (on `-`, `_`, `.`, `~`) into words and short parts.
 * `aZ3kP9qR2xT7mB1v` is random; `top-10-tips-for-2024` and `report_2023_q4.pdf` are words.
 */
function looksRandom(segment: string): boolean {
  if (!TOKEN_CHARS.test(segment)) return false;
  let digits = 0;
  let letters = 0;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) letters++;
  }
  if (digits === 0 || letters === 0) return false;
  return !segment.split(/[-_.~]/).every((part) => part.length <= 4 || /^[A-Za-z]+$/.test(part));
}

/** A user route compiled: its text and the pattern of the paths it matches. */
interface UserRoute {
  text: string;
  pattern: RegExp;
}

/** Compiles a user route (`/api/v{n}/users/:id`, `/static/*`); throws on one that is no path. */
export function compileRoute(text: string): UserRoute {
  if (!text.startsWith('/')) throw new Error(`route ${JSON.stringify(text)} does not start with /`);
  let source = '';
  for (let i = 0; i < text.length;) {
    const rest = text.slice(i);
    const braced = /^\{[A-Za-z_][A-Za-z0-9_]*\}/.exec(rest);
    const named = /^:[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (braced !== null || named !== null) {
      source += '[^/]+';
      i += (braced ?? named)![0].length;
    } else if (rest === '*' || rest === '/*') {
      source += rest === '*' ? '.*' : '(?:/.*)?';
      i = text.length;
    } else {
      source += text[i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i++;
    }
  }
  return { text, pattern: new RegExp(`^${source}/?$`) };
}

/** Turns URIs into routes; one per capture (it learns from what it sees). */
export class RouteTemplater {
  private readonly userRoutes: UserRoute[];
  /** Prefix → the distinct values seen at the next position (null once it is a parameter). */
  private readonly positions = new Map<string, Set<string> | null>();
  private learntChars = 0;
  /**
   * Routes of recent paths: most traffic repeats a few paths, and templating one costs a split
   * and a dozen tests per segment. Emptied when a position is learnt (their routes change then).
   */
  private readonly cache = new Map<string, string>();

  constructor(routes: readonly string[] = [], private readonly maxLength = 1024) {
    this.userRoutes = routes.map(compileRoute);
  }

  /** The route of `uri` (an origin-form path, or an absolute URI of a proxy request). */
  route(uri: string): string {
    const path = pathOf(uri);
    // Copies where it may be a slice: a route is made of pieces of the URI, and kept (a key, the
    // cache) would keep it alive.
    if (path.length > MAX_CACHED_PATH_LENGTH) return ownText(this.template(path));
    let route = this.cache.get(path);
    if (route === undefined) {
      route = ownText(this.template(path));
      if (this.cache.size >= MAX_CACHED_PATHS) this.cache.clear();
      // A path cut from a much longer URI (a long query) would keep the whole URI alive as a key.
      this.cache.set(path.length + 64 < uri.length ? ownCopy(path) : path, route);
    }
    return route;
  }

  private template(path: string): string {
    for (const user of this.userRoutes) if (user.pattern.test(path)) return user.text;
    if (path === '/' || path === '' || path === '*') return path === '' ? '/' : path;
    const segments = path.split('/');
    let route = '';
    const last = Math.min(segments.length, MAX_SEGMENTS + 1);
    for (let i = 1; i < last; i++) {
      const segment = segments[i];
      const prefix = route;
      if (segment === '') {
        route += '/';
        continue;
      }
      route += '/' + (segmentTemplate(segment) ?? this.learn(prefix, segment));
      if (route.length >= this.maxLength) return route.slice(0, this.maxLength);
    }
    if (segments.length > last) route += '/{…}';
    return route;
  }

  /** The segment, or `{param}` once its position under `prefix` has shown too many values. */
  private learn(prefix: string, segment: string): string {
    if (prefix === '') return segment;
    let seen = this.positions.get(prefix);
    if (seen === null) return '{param}';
    if (seen === undefined) {
      if (this.positions.size >= MAX_PREFIXES) return segment;
      seen = new Set();
      // Copies: the prefix and the segment are cut from the URI, and kept they would keep the
      // whole URI alive (its query too, up to 8 KB), outside the count of learnt characters.
      this.positions.set(ownCopy(prefix), seen);
    }
    if (seen.has(segment)) return segment;
    if (seen.size >= LEARN_THRESHOLD) {
      for (const value of seen) this.learntChars -= value.length + prefix.length;
      this.positions.set(prefix, null);
      this.cache.clear();
      return '{param}';
    }
    if (this.learntChars + segment.length + prefix.length > MAX_LEARNT_CHARS) return segment;
    this.learntChars += segment.length + prefix.length;
    seen.add(ownCopy(segment));
    return segment;
  }
}

/** The path of a URI: without query and fragment, and without scheme and authority when absolute. */
export function pathOf(uri: string): string {
  let end = uri.length;
  const query = uri.indexOf('?');
  if (query >= 0) end = query;
  const fragment = uri.indexOf('#');
  if (fragment >= 0 && fragment < end) end = fragment;
  let path = uri.slice(0, end);
  if (!path.startsWith('/')) {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(path);
    if (scheme !== null) path = path.slice(scheme[0].length) || '/';
  }
  return path;
}
