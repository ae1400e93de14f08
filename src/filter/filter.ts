/**
 * The one filter language of every view: the dashboard's `/`, `--where` of the headless
 * outputs, an alert rule's `where`, the saved views. A text is parsed once (syntax.ts) and
 * compiled into a predicate (compile.ts); a text that cannot be read is a FilterError that
 * names the problem and its column.
 */
import type { HttpEvent, TlsConnection } from '../types';
import { compileNode } from './compile';
import { fieldNamed, fieldNames } from './fields';
import { FilterError, parseFilterText, type FilterNode } from './syntax';

export { FilterError } from './syntax';

/** A compiled filter and the text it was compiled from. */
export interface TransactionFilter {
  readonly text: string;
  readonly matches: (e: HttpEvent) => boolean;
  /**
   * Does a TLS connection record pass? Only a filter of the connection's own fields (client,
   * server, their ports, sni, node, https) can tell: one that names anything else (a path, a
   * status, a user agent, a bare word) is about requests, which a record has none of, and leaves
   * the records out — `not ua ~ bot` must not keep every opaque connection.
   */
  readonly matchesConnection: (c: TlsConnection) => boolean;
}

/** The fields a TLS connection record has. */
const CONNECTION_FIELDS: ReadonlySet<string> = new Set(['client', 'server', 'client_port', 'server_port', 'sni', 'node', 'https']);

/** Does the filter name only fields a connection record has? */
function onlyConnectionFields(node: FilterNode): boolean {
  switch (node.kind) {
    case 'and': case 'or': return onlyConnectionFields(node.left) && onlyConnectionFields(node.right);
    case 'not': return onlyConnectionFields(node.operand);
    case 'text': return false;
    default: return CONNECTION_FIELDS.has(node.field);
  }
}

/** Compiles `text` (throws FilterError). An empty text matches every transaction. */
export function compileFilter(text: string): TransactionFilter {
  const trimmed = text.trim();
  if (trimmed === '') return { text: trimmed, matches: () => true, matchesConnection: () => true };
  const node = parseFilterText(trimmed, (name) => fieldNamed(name) !== undefined, fieldNames());
  const matches = compileNode(node);
  const connections = onlyConnectionFields(node);
  return { text: trimmed, matches, matchesConnection: (c) => connections && matches(connectionAsTransaction(c)) };
}

/** What is wrong with a filter, in one line: `unknown field "latncy" … at column 18`. */
export function filterProblem(error: unknown): string {
  if (error instanceof FilterError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** A TLS connection as a filter of its own fields sees it: a transaction with only those (client, server, ports, sni, node, https when decrypted). */
export function connectionAsTransaction(c: TlsConnection): HttpEvent {
  return {
    ts: c.ts, src: c.src, sport: c.sport, dst: c.dst, dport: c.dport, method: '', host: c.serverName, uri: '', section: '', status: null,
    reqBytes: 0, respBytes: 0, ua: '', latencyMs: null, version: '', route: '', client: c.src, uriTruncated: false, requestHeaders: '', responseHeaders: '',
    ...(c.node !== undefined ? { node: c.node } : {}), ...(c.decrypted ? { https: true } : {}), ...(c.serverName !== '' ? { sni: c.serverName } : {}),
  };
}
