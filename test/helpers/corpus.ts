/** Access to the public traces carried in test/corpus (see its SOURCES.md), read at test time. */
import * as fs from 'fs';
import * as path from 'path';
import { CaptureFileReader } from '../../src/capture/captureFile';
import { captureLimits } from '../../src/capture/limits';
import { CapturePipeline } from '../../src/capture/pipeline';
import type { CaptureStats, HttpEvent } from '../../src/types';

/** The repository root: the nearest folder above this file with a package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

/** The corpus is part of the repository, so a clone tests everything with nothing beside it. */
export const CORPUS = path.join(repoRoot(), 'test/corpus');

/** One expected transaction of a Zeek http.log; '-' fields are null, absent columns undefined. */
export interface ZeekRow {
  method: string | null | undefined;
  host: string | null | undefined;
  uri: string | null | undefined;
  status: number | null | undefined;
  /** The other columns, as Zeek wrote them (null for '-', undefined when the log has no such column). */
  fields: Record<string, string | null | undefined>;
}

function field(row: string[], columns: string[], name: string): string | null | undefined {
  const i = columns.indexOf(name);
  if (i < 0) return undefined;
  const value = row[i];
  if (value === '-') return null;
  if (value === '(empty)') return '';
  return value;
}

/** Parses a Zeek http.log baseline (full TSV with #fields, or zeek-cut output with a header line). */
export function readZeekBaseline(file: string): ZeekRow[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('###'));
  let columns: string[] = [];
  const rows: ZeekRow[] = [];
  for (const line of lines) {
    if (line.startsWith('#fields')) { columns = line.split('\t').slice(1); continue; }
    if (line.startsWith('#')) continue;
    const cells = line.split('\t');
    if (columns.length === 0) { columns = cells; continue; }
    const status = field(cells, columns, 'status_code');
    rows.push({
      method: field(cells, columns, 'method'),
      host: field(cells, columns, 'host'),
      uri: field(cells, columns, 'uri'),
      status: status === undefined ? undefined : status === null ? null : Number(status),
      fields: Object.fromEntries(columns.map((name) => [name, field(cells, columns, name)])),
    });
  }
  return rows;
}

/** The trace each Zeek baseline was made from (SOURCES.md's table). */
export function zeekCases(): Array<{ baseline: string; trace: string }> {
  const sources = fs.readFileSync(path.join(CORPUS, 'SOURCES.md'), 'utf8');
  const cases: Array<{ baseline: string; trace: string }> = [];
  for (const match of sources.matchAll(/^\| `(scripts\.[^`]+)` \| `testing\/btest\/Traces\/(?:[^`]*\/)?([^`/]+\.pcap)` \|/gm)) {
    cases.push({ baseline: path.join(CORPUS, 'zeek/baselines', `${match[1]}.http.log`), trace: path.join(CORPUS, 'zeek/traces', match[2]) });
  }
  return cases;
}

/** Runs a capture file through the pipeline in-process; returns its events and stats. */
export function runPipelineOnFile(file: string, maxStrLength = 1024): { events: HttpEvent[]; stats: CaptureStats } {
  const reader = new CaptureFileReader(file);
  const pipeline = new CapturePipeline(captureLimits(maxStrLength), 2);
  const events: HttpEvent[] = [];
  for (let packet = reader.next(); packet !== null; packet = reader.next()) {
    pipeline.onFrame(packet.buf, packet.offset, packet.caplen, packet.wireLength, packet.ts, packet.linkType);
    pipeline.tick(pipeline.now);
    events.push(...pipeline.release());
  }
  events.push(...pipeline.finish());
  reader.close();
  return { events, stats: pipeline.stats };
}
