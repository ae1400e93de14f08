/**
 * HTTP/2 frames for tests: the demo's builders (src/capture/sources/demo/h2Builders.ts), one copy
 * for both, and a test request's usual header list.
 */
export * from '../../src/capture/sources/demo/h2Builders';

/** A request's usual header list. */
export function requestHeaders(method: string, path: string, authority = 'shop.example', extra: Array<[string, string]> = []): Array<[string, string]> {
  return [[':method', method], [':scheme', 'http'], [':path', path], [':authority', authority], ['user-agent', 'h2-test/1.0'], ['accept', '*/*'], ...extra];
}
