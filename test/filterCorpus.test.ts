/**
 * The filter language against ground truth: on every Zeek trace of the corpus, each filter
 * expression picks exactly the transactions that the same predicate, written here on Zeek's
 * http.log columns (not on wiretop's fields), picks. Transactions are paired with their log rows
 * as the accuracy test pairs them (method, host, URI, status); the traces whose transactions
 * differ from Zeek's are the accuracy test's known differences, and their unpaired ones are left out.
 */
import * as path from 'path';
import { compileFilter } from '../src/filter/filter';
import { hostWithoutPort } from '../src/http/uri';
import type { HttpEvent } from '../src/types';
import { readZeekBaseline, runPipelineOnFile, zeekCases, type ZeekRow } from './helpers/corpus';

/**
 * Traces where Zeek's body lengths are not the bytes on the wire: it counts the entity after
 * decoding it (gzip), or the body as it framed it in a malformed message. Byte filters are
 * compared on the other traces.
 */
const BODY_LENGTH_DIFFERS = new Set([
  'x-gzip.pcap', 'missing-zlib-header.pcap', 'pipelined-requests.pcap', 'no_crlf.pcap', 'variant-08-leading_zeros.pcap', 'http-09-content-length-confusion.pcap',
]);

interface Pair {
  trace: string;
  row: ZeekRow;
  event: HttpEvent;
}

function paired(): Pair[] {
  const pairs: Pair[] = [];
  for (const c of zeekCases()) {
    const trace = path.basename(c.trace);
    const remaining = runPipelineOnFile(c.trace).events;
    for (const row of readZeekBaseline(c.baseline)) {
      if (row.method === null) continue;
      const i = remaining.findIndex((e) => e.method === row.method && e.uri === row.uri
        && (row.host === null || row.host === undefined || hostWithoutPort(row.host) === e.host)
        && (row.status === undefined || (row.status === null || row.status === 0 ? null : row.status) === e.status));
      if (i >= 0) pairs.push({ trace, row, event: remaining.splice(i, 1)[0] });
    }
  }
  return pairs;
}

/** Zeek's columns, as a predicate reads them. */
const z = {
  method: (r: ZeekRow) => r.method ?? '',
  host: (r: ZeekRow) => (r.host === null || r.host === undefined ? null : hostWithoutPort(r.host)),
  uri: (r: ZeekRow) => r.uri ?? '',
  path: (r: ZeekRow) => (r.uri ?? '').replace(/[?#].*$/, ''),
  status: (r: ZeekRow) => (r.status === null || r.status === undefined || r.status === 0 ? null : r.status),
  orig: (r: ZeekRow) => r.fields['id.orig_h'] ?? null,
  origPort: (r: ZeekRow) => Number(r.fields['id.orig_p']),
  respPort: (r: ZeekRow) => Number(r.fields['id.resp_p']),
  ua: (r: ZeekRow) => r.fields.user_agent ?? '',
  reqBytes: (r: ZeekRow) => Number(r.fields.request_body_len ?? 0),
  respBytes: (r: ZeekRow) => Number(r.fields.response_body_len ?? 0),
};

const inNet = (ip: string | null, prefix: string) => ip !== null && ip.startsWith(prefix);
const hasStatus = (r: ZeekRow, test: (s: number) => boolean) => { const s = z.status(r); return s !== null && test(s); };

/** Each expression with the same predicate on Zeek's row; `needs` names a column the log must have. */
const CASES: Array<{ where: string; zeek: (r: ZeekRow) => boolean; needs?: string; bytes?: boolean }> = [
  { where: 'method = GET', zeek: (r) => z.method(r) === 'GET' },
  { where: 'method != GET', zeek: (r) => z.method(r) !== 'GET' },
  { where: 'method in (post, put, HEAD)', zeek: (r) => ['POST', 'PUT', 'HEAD'].includes(z.method(r)) },
  { where: 'method not in (GET, POST)', zeek: (r) => !['GET', 'POST'].includes(z.method(r)) },
  { where: 'method ~ ^P', zeek: (r) => z.method(r).startsWith('P') },
  { where: 'method !~ T$', zeek: (r) => !z.method(r).endsWith('T') },
  { where: 'host = upload.wikimedia.org', zeek: (r) => z.host(r) === 'upload.wikimedia.org' },
  { where: 'host = *.wikimedia.org', zeek: (r) => (z.host(r) ?? '').endsWith('.wikimedia.org') },
  { where: 'host ~ wiki', zeek: (r) => (z.host(r) ?? '').includes('wiki') },
  { where: 'host != upload.wikimedia.org', zeek: (r) => z.host(r) !== 'upload.wikimedia.org' },
  { where: 'path = /', zeek: (r) => z.path(r) === '/' },
  { where: 'path ~ \\.(png|jpg|gif)$', zeek: (r) => /\.(png|jpg|gif)$/.test(z.path(r)) },
  { where: 'uri ~ "\\?"', zeek: (r) => z.uri(r).includes('?') },
  { where: 'uri = /', zeek: (r) => z.uri(r) === '/' },
  { where: 'status = 200', zeek: (r) => z.status(r) === 200 },
  { where: 'status = 3xx', zeek: (r) => hasStatus(r, (s) => s >= 300 && s <= 399) },
  { where: 'status >= 400', zeek: (r) => hasStatus(r, (s) => s >= 400) },
  { where: 'status < 300', zeek: (r) => hasStatus(r, (s) => s < 300) },
  { where: 'status <= 304', zeek: (r) => hasStatus(r, (s) => s <= 304) },
  { where: 'status > 200', zeek: (r) => hasStatus(r, (s) => s > 200) },
  { where: 'status = 200..299', zeek: (r) => hasStatus(r, (s) => s >= 200 && s <= 299) },
  { where: 'status in (200, 304, 4xx)', zeek: (r) => hasStatus(r, (s) => s === 200 || s === 304 || (s >= 400 && s <= 499)) },
  { where: 'status != 200', zeek: (r) => z.status(r) !== 200 },
  { where: 'status = none', zeek: (r) => z.status(r) === null },
  { where: 'unanswered', zeek: (r) => z.status(r) === null },
  { where: 'not unanswered', zeek: (r) => z.status(r) !== null },
  { where: 'client = 192.168.0.0/16', zeek: (r) => inNet(z.orig(r), '192.168.'), needs: 'id.orig_h' },
  { where: 'client = 10.0.0.0/8', zeek: (r) => inNet(z.orig(r), '10.'), needs: 'id.orig_h' },
  { where: 'client !~ ^192\\.', zeek: (r) => !inNet(z.orig(r), '192.'), needs: 'id.orig_h' },
  { where: 'server = :80', zeek: (r) => z.respPort(r) === 80, needs: 'id.resp_p' },
  { where: 'server != :80', zeek: (r) => z.respPort(r) !== 80, needs: 'id.resp_p' },
  { where: 'server_port > 1024', zeek: (r) => z.respPort(r) > 1024, needs: 'id.resp_p' },
  { where: 'client_port < 50000', zeek: (r) => z.origPort(r) < 50000, needs: 'id.orig_p' },
  { where: 'ua ~ (?i)firefox', zeek: (r) => /firefox/i.test(z.ua(r)), needs: 'user_agent' },
  { where: 'ua = ""', zeek: (r) => z.ua(r) === '', needs: 'user_agent' },
  { where: 'ua ~ ^curl/', zeek: (r) => z.ua(r).startsWith('curl/'), needs: 'user_agent' },
  { where: 'req_bytes > 0', zeek: (r) => z.reqBytes(r) > 0, needs: 'request_body_len', bytes: true },
  { where: 'resp_bytes > 1k', zeek: (r) => z.respBytes(r) > 1024, needs: 'response_body_len', bytes: true },
  { where: 'resp_bytes = 0', zeek: (r) => z.respBytes(r) === 0, needs: 'response_body_len', bytes: true },
  { where: 'resp_bytes = 1b..10k', zeek: (r) => z.respBytes(r) >= 1 && z.respBytes(r) <= 10240, needs: 'response_body_len', bytes: true },
  { where: '(method = GET and status = 3xx) or host ~ google', zeek: (r) => (z.method(r) === 'GET' && hasStatus(r, (s) => s >= 300 && s < 400)) || (z.host(r) ?? '').includes('google') },
  { where: 'not (status = 2xx or status = 3xx) && !unanswered', zeek: (r) => hasStatus(r, (s) => s < 200 || s >= 400) },
  { where: 'wiki', zeek: (r) => (z.host(r) ?? '').toLowerCase().includes('wiki') || z.uri(r).toLowerCase().includes('wiki') },
  { where: '/\\.PNG$/i', zeek: (r) => /\.png$/i.test(z.host(r) ?? '') || /\.png$/i.test(z.uri(r)) },
];

describe('filters on the held-out captures agree with the same predicate on Zeek\'s logs', () => {
  const pairs = paired();

  it('pairs the transactions of every trace', () => {
    expect(pairs.length).toBeGreaterThan(100);
    expect(new Set(pairs.map((p) => p.trace)).size).toBeGreaterThanOrEqual(40);
  });

  it.each(CASES.map((c) => [c.where, c] as const))('%s', (_where, c) => {
    const { matches } = compileFilter(c.where);
    let compared = 0;
    let selected = 0;
    const disagreements: string[] = [];
    for (const { trace, row, event } of pairs) {
      if (c.needs !== undefined && row.fields[c.needs] === undefined) continue;
      if (c.bytes === true && BODY_LENGTH_DIFFERS.has(trace)) continue;
      compared++;
      const expected = c.zeek(row);
      if (expected) selected++;
      if (matches(event) !== expected) disagreements.push(`${trace}: ${row.method} ${row.uri} (Zeek: ${expected ? 'in' : 'out'})`);
    }
    expect(disagreements).toEqual([]);
    expect(compared).toBeGreaterThan(50);
    // Each expression selects some transactions and leaves others: a filter that picks all or none proves little.
    expect(selected).toBeGreaterThan(0);
    expect(selected).toBeLessThan(compared);
  });
});
