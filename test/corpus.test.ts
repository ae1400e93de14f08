/**
 * The pipeline against real public traces: every Zeek trace's transactions compared with its
 * http.log baseline (method, host, uri, status), and the tcpdump traces with their printouts.
 * The agreement per trace is printed; each trace that differs is listed here with the reason.
 */
import * as path from 'path';
import { hostWithoutPort } from '../src/http/uri';
import type { HttpEvent } from '../src/types';
import { CORPUS, readZeekBaseline, runPipelineOnFile, zeekCases, type ZeekRow } from './helpers/corpus';

/** Traces where wiretop's answer differs from Zeek's, and why (checked below). */
const KNOWN_DIFFERENCES: Record<string, string> = {
  'wikipedia.pcap': 'the first connection started before the capture; wiretop resyncs and reports its GET /, Zeek skips the partial connection',
  'http-filename.pcap': 'Zeek logs the URI with %20 decoded; wiretop shows the URI as sent on the wire',
  'http-11-request-then-cruft.pcap': 'transactions agree; the server\'s 400 to the cruft is counted as a response without request, Zeek logs nothing for it',
};

function rowMatches(row: ZeekRow, event: HttpEvent): boolean {
  if (row.method !== undefined && row.method !== event.method) return false;
  if (row.uri !== undefined && row.uri !== null && row.uri !== event.uri) return false;
  // Zeek's host is the Host header with its port; without one wiretop shows the server address.
  if (row.host !== undefined && row.host !== null && hostWithoutPort(row.host) !== event.host) return false;
  if (row.status !== undefined) {
    const expected = row.status === null || row.status === 0 ? null : row.status;
    if (expected !== event.status) return false;
  }
  return true;
}

interface Comparison {
  trace: string;
  expected: number;
  got: number;
  matched: number;
  unmatchedRows: ZeekRow[];
  extraEvents: HttpEvent[];
  orphanRowsExpected: number;
  orphanResponses: number;
}

function compare(trace: string, rows: ZeekRow[], events: HttpEvent[], orphanResponses: number): Comparison {
  // Zeek logs a response that has no request as a row without a method.
  const requestRows = rows.filter((r) => r.method !== null);
  const orphanRows = rows.filter((r) => r.method === null && r.status !== null && r.status !== 0 && r.status !== undefined);
  const remaining = [...events];
  const unmatchedRows: ZeekRow[] = [];
  for (const row of requestRows) {
    const i = remaining.findIndex((e) => rowMatches(row, e));
    if (i >= 0) remaining.splice(i, 1);
    else unmatchedRows.push(row);
  }
  return {
    trace, expected: requestRows.length, got: events.length, matched: requestRows.length - unmatchedRows.length,
    unmatchedRows, extraEvents: remaining, orphanRowsExpected: orphanRows.length, orphanResponses,
  };
}

const results: Comparison[] = [];

afterAll(() => {
  const lines = ['', 'Agreement with Zeek http.log baselines (method, host, uri, status):'];
  for (const r of results) {
    const total = Math.max(r.expected, r.got);
    const pct = total === 0 ? 100 : (100 * r.matched) / total;
    const note = KNOWN_DIFFERENCES[r.trace] ? `  (${KNOWN_DIFFERENCES[r.trace]})` : '';
    lines.push(`  ${r.trace.padEnd(44)} ${String(r.matched).padStart(3)}/${String(total).padEnd(3)} ${pct.toFixed(0).padStart(3)}%${note}`);
  }
  const matched = results.reduce((s, r) => s + r.matched, 0);
  const total = results.reduce((s, r) => s + Math.max(r.expected, r.got), 0);
  lines.push(`  all traces: ${matched}/${total} transactions agree (${((100 * matched) / total).toFixed(1)}%)`, '');
  process.stdout.write(lines.join('\n') + '\n');
});

describe('Zeek traces', () => {
  const cases = zeekCases();

  it('finds every trace of the corpus', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases.map((c) => [path.basename(c.baseline, '.http.log'), c] as const))('%s', (_name, c) => {
    const trace = path.basename(c.trace);
    const { events, stats } = runPipelineOnFile(c.trace);
    const result = compare(trace, readZeekBaseline(c.baseline), events, stats.orphanResponses);
    results.push(result);
    expect(stats.decodeErrors).toBe(0);
    if (trace === 'http-11-request-then-cruft.pcap') expect(result.orphanResponses).toBe(1);
    else expect(result.orphanResponses).toBe(result.orphanRowsExpected);
    switch (trace) {
      case 'wikipedia.pcap':
        expect(result.unmatchedRows).toEqual([]);
        expect(result.extraEvents.map((e) => [e.method, e.host, e.uri, e.status])).toEqual([['GET', 'www.wikipedia.org', '/', 304]]);
        break;
      case 'http-filename.pcap':
        expect(result.unmatchedRows).toHaveLength(1);
        expect(result.extraEvents).toHaveLength(1);
        expect(decodeURIComponent(result.extraEvents[0].uri)).toBe(result.unmatchedRows[0].uri);
        break;
      default:
        expect(result.unmatchedRows).toEqual([]);
        expect(result.extraEvents).toEqual([]);
    }
  });
});

describe('tcpdump traces', () => {
  it('a response without its request is counted, not invented into a transaction', () => {
    const { events, stats } = runPipelineOnFile(path.join(CORPUS, 'tcpdump/ipv4_tcp_http_xml.pcap'));
    expect(events).toEqual([]);
    expect(stats.orphanResponses).toBe(1);
  });

  it('an absolute-URI POST in a TSO segment (IP length 0) is read', () => {
    const { events, stats } = runPipelineOnFile(path.join(CORPUS, 'tcpdump/ipv4_tcp_http_xml_tso.pcap'));
    expect(stats.decodeErrors).toBe(0);
    expect(events).toEqual([expect.objectContaining({
      method: 'POST', dport: 8080, status: null, host: 'gwm-ml-a2.wsodqa.com',
      uri: 'http://gwm-ml-a2.wsodqa.com//research/module-loader/module-loader.asp?user_id=test', section: '/',
    })]);
  });
});
