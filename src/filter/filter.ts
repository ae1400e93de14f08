/**
 * The one filter language of every view: the dashboard's `/`, `--where` of the headless
 * outputs, an alert rule's `where`, the saved views. A text is parsed once (syntax.ts) and
 * compiled into a predicate (compile.ts); a text that cannot be read is a FilterError that
 * names the problem and its column.
 */
import type { HttpEvent, TlsConnection } from '../types';
import { compileNode } from './compile';
import { fieldNamed, fieldNames } from './fields';
import { FilterError, parseFilterText } from './syntax';

export { FilterError } from './syntax';

/** A compiled filter and the text it was compiled from. */
export interface TransactionFilter {
  readonly text: string;
  readonly matches: (e: HttpEvent) => boolean;
}

/** Compiles `text` (throws FilterError). An empty text matches every transaction. */
export function compileFilter(text: string): TransactionFilter {
  const trimmed = text.trim();
  if (trimmed === '') return { text: trimmed, matches: () => true };
  const node = parseFilterText(trimmed, (name) => fieldNamed(name) !== undefined, fieldNames());
  return { text: trimmed, matches: compileNode(node) };
}

/** What is wrong with a filter, in one line: `unknown field "latncy" … at column 18`. */
export function filterProblem(error: unknown): string {
  if (error instanceof FilterError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * A TLS connection as a filter sees it: a transaction with only its connection's fields (client,
 * server, ports, sni, node, https when decrypted); no method, URI or status. So `client =
 * 10.0.0.0/8` or `sni = *.example.com` keep connections as they keep transactions, and
 * `status = 5xx` keeps none.
 */
export function connectionAsTransaction(c: TlsConnection): HttpEvent {
  return {
    ts: c.ts, src: c.src, sport: c.sport, dst: c.dst, dport: c.dport, method: '', host: c.serverName, uri: '', section: '', status: null,
    reqBytes: 0, respBytes: 0, ua: '', latencyMs: null, version: '', route: '', client: c.src, uriTruncated: false, requestHeaders: '', responseHeaders: '',
    ...(c.node !== undefined ? { node: c.node } : {}), ...(c.decrypted ? { https: true } : {}), ...(c.serverName !== '' ? { sni: c.serverName } : {}),
  };
}
