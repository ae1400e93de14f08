/** The HPACK test stories carried in test/corpus/hpack (see its SOURCES.md), read at test time. */
import * as fs from 'fs';
import * as path from 'path';
import type { DynamicTable } from '../../src/http/h2/hpack/dynamicTable';
import type { HpackDecoder } from '../../src/http/h2/hpack/hpackDecoder';
import { CORPUS } from './corpus';

/** One header block of a story and the header list it must decode to. */
export interface StoryCase {
  seqno: number;
  wire: Buffer;
  headers: Array<[string, string]>;
}

/** A story: header blocks of one direction of one connection, decoded in order with one table. */
export interface Story {
  /** `<encoder>/story_NN`. */
  name: string;
  encoder: string;
  cases: StoryCase[];
}

/** The folder of the stories, one sub-folder per encoder. */
export const HPACK_CORPUS = path.join(CORPUS, 'hpack');

/** The shape of a story file: `{cases: [{seqno, header_table_size?, wire (hex), headers: [{name: value}]}]}`. */
interface StoryFile {
  cases: Array<{ seqno: number; wire: string; headers: Array<Record<string, string>> }>;
}

/** Every story under `root` (the corpus by default), by encoder then story number. */
export function loadStories(root = HPACK_CORPUS): Story[] {
  const stories: Story[] = [];
  for (const encoder of fs.readdirSync(root).sort()) {
    const dir = path.join(root, encoder);
    if (!fs.statSync(dir).isDirectory() || encoder === 'raw-data') continue;
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const json = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as StoryFile;
      const cases = json.cases.map((c) => ({
        seqno: c.seqno,
        wire: Buffer.from(c.wire, 'hex'),
        headers: c.headers.map((h) => Object.entries(h)[0]),
      }));
      stories.push({ name: `${encoder}/${file.replace(/\.json$/, '')}`, encoder, cases });
    }
  }
  return stories;
}

/** A decoded field: name, value (null when unknown) and the FIELD_* flags. */
export type DecodedField = [string | null, string | null, number];

/** Decodes one whole block; `fields` holds what was given before any failure. */
export function decodeFields(decoder: HpackDecoder, block: Buffer): { ok: boolean; fields: DecodedField[] } {
  const fields: DecodedField[] = [];
  const ok = decoder.decode(block, 0, block.length, (name, value, flags) => fields.push([name, value, flags]));
  return { ok, fields };
}

/** The entries of a dynamic table, newest first (for a decoder's, a test's look inside: `decoder['table']`). */
export function tableEntries(table: DynamicTable): Array<[string | null, string]> {
  return Array.from({ length: table.length }, (_, i) => [table.nameAt(i), table.valueAt(i)]);
}
