/**
 * The HPACK decoder on hostile bytes, from a seeded generator (a failure names its run and
 * replays): random blocks, real blocks mutated and cut short, huge integers, bad Huffman
 * strings, oversized size updates and literals. Whatever comes, decode returns true or false
 * without throwing, the table stays within its cap, and a literal kept out of the table within
 * maxValueLength.
 */
import { seededRandom } from '../src/capture/sources/demo/traffic';
import { ENTRY_OVERHEAD } from '../src/http/h2/hpack/dynamicTable';
import { FIELD_NAME_TRUNCATED, FIELD_NEVER_INDEXED, FIELD_VALUE_TRUNCATED, HpackDecoder } from '../src/http/h2/hpack/hpackDecoder';
import { encodeBlock, encodeInteger, huffmanEncode, type Representation } from './helpers/hpackEncoder';
import { loadStories } from './helpers/hpackStories';

const MAX_VALUE = 64;
const CAP = 8192;
const ALL_FLAGS = FIELD_VALUE_TRUNCATED | FIELD_NAME_TRUNCATED | FIELD_NEVER_INDEXED;

const decoderFor = (midStream: boolean) => new HpackDecoder({ maxValueLength: MAX_VALUE, midStream, maxTableSize: CAP });

/**
 * Decodes `block` and checks what holds for any bytes: a boolean back, fields of strings or
 * null no longer than the table could hold or maxValueLength, known flags, a table within
 * bounds, and neither the block nor a scratch buffer grown for a long string kept afterwards.
 * Returns the outcome and the fields.
 */
function decodeChecked(decoder: HpackDecoder, block: Buffer, run: string): { ok: boolean; fields: Array<[string | null, string | null, number]> } {
  const fields: Array<[string | null, string | null, number]> = [];
  let ok: unknown;
  try {
    ok = decoder.decode(block, 0, block.length, (name, value, flags) => fields.push([name, value, flags]));
  } catch (error) {
    throw new Error(`${run}: threw ${String(error)} on ${block.toString('hex').slice(0, 200)}`);
  }
  const table = decoder['table'];
  const longest = Math.max(MAX_VALUE, table.maxSize - ENTRY_OVERHEAD);
  const bad = typeof ok !== 'boolean'
    || table.maxSize > CAP || table.size > table.maxSize || table.length * ENTRY_OVERHEAD > table.size
    || decoder['scratch'].length > 4096 || decoder['valueRef'].src.length > 0
    || fields.some(([name, value, flags]) => (name !== null && name.length > longest) || (value !== null && value.length > longest) || (flags & ~ALL_FLAGS) !== 0);
  if (bad) throw new Error(`${run}: broke a bound on ${block.toString('hex').slice(0, 200)}`);
  return { ok: ok as boolean, fields };
}

const random = seededRandom(7541);
const below = (n: number) => Math.floor(random() * n);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => below(256)));

describe('the HPACK decoder on hostile input', () => {
  it('survives random blocks, on fresh and on long-lived decoders, joined mid-stream or not', () => {
    let accepted = 0;
    for (const midStream of [false, true]) {
      let decoder = decoderFor(midStream);
      for (let run = 0; run < 3000; run++) {
        if (run % 100 === 0) decoder = decoderFor(midStream);
        if (decodeChecked(decoder, bytes(below(64)), `random ${midStream} ${run}`).ok) accepted++;
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });

  it('survives real blocks mutated (bytes changed, inserted, removed) and cut short at every length', () => {
    const stories = loadStories().filter((s) => ['nghttp2', 'python-hpack', 'haskell-http2-linear'].includes(s.encoder)).slice(0, 40);
    let runs = 0;
    for (const story of stories) {
      const decoder = decoderFor(false);
      for (const c of story.cases) {
        const block = [...c.wire];
        for (let edits = 1 + below(4); edits > 0; edits--) {
          const at = below(block.length + 1);
          const kind = below(3);
          if (kind === 0 && at < block.length) block[at] = below(256);
          else if (kind === 1) block.splice(at, 0, below(256));
          else block.splice(at, 1);
        }
        decodeChecked(decoder, Buffer.from(block), `mutated ${story.name} ${c.seqno}`);
        const cut = decoderFor(true);
        for (let length = 0; length < c.wire.length; length++) decodeChecked(cut, c.wire.subarray(0, length), `cut ${story.name} ${c.seqno} ${length}`);
        runs++;
      }
    }
    expect(runs).toBeGreaterThan(200);
  });

  it('rejects huge integers as indices, lengths and size updates, however they are spelt', () => {
    const huge = [2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 2 ** 53, CAP + 1];
    for (const value of huge) {
      const blocks = [
        Buffer.from(encodeInteger(value, 7, 0x80)), // indexed
        Buffer.from(encodeInteger(value, 6, 0x40)), // literal, indexed name
        Buffer.from(encodeInteger(value, 5, 0x20)), // size update
        Buffer.from([0x40, ...encodeInteger(value, 7, 0x80), 0x61]), // Huffman name length
        Buffer.from([0x00, 0x01, 0x61, ...encodeInteger(value, 7), 0x61]), // raw value length
      ];
      for (const block of blocks) expect(decodeChecked(decoderFor(true), block, `integer ${value}`).ok).toBe(false);
    }
    // A long run of continuation bytes: rejected after the fifth, not read to its end.
    const endless = Buffer.from([0xff, ...new Array<number>(100000).fill(0x80)]);
    expect(decodeChecked(decoderFor(false), endless, 'endless integer').ok).toBe(false);
  });

  it('rejects bad Huffman strings: EOS, long padding, padding with a zero, random coded bytes', () => {
    const literal = (coded: number[]) => Buffer.from([0x00, 0x01, 0x61, ...encodeInteger(coded.length, 7, 0x80), ...coded]);
    const bad = [[0xff, 0xff, 0xff, 0xff], [...huffmanEncode('abc'), 0xff], [0xfe], [0x1e]];
    for (const coded of bad) expect(decodeChecked(decoderFor(false), literal(coded), `huffman ${coded}`).ok).toBe(false);
    let rejected = 0;
    for (let run = 0; run < 2000; run++) if (!decodeChecked(decoderFor(false), literal([...bytes(1 + below(40))]), `huffman random ${run}`).ok) rejected++;
    expect(rejected).toBeGreaterThan(100);
  });

  it('keeps size updates within the cap, and the table and literals within their bounds whatever the sizes', () => {
    const decoder = decoderFor(false);
    expect(decodeChecked(decoder, encodeBlock([{ sizeUpdate: CAP }]), 'size at cap').ok).toBe(true);
    expect(decodeChecked(decoder, encodeBlock([{ sizeUpdate: CAP + 1 }]), 'size over cap').ok).toBe(false);
    for (let run = 0; run < 300; run++) {
      const reps: Representation[] = Array.from({ length: 1 + below(6) }, (): Representation => {
        const name = below(2) === 0 ? 1 + below(70) : 'n'.repeat(below(3000));
        const value = 'v'.repeat(below(4) === 0 ? below(20000) : below(200));
        const kind = (['incremental', 'without', 'never'] as const)[below(3)];
        return { literal: kind, name, value, huffman: below(2) === 0 };
      });
      if (below(5) === 0) reps.unshift({ sizeUpdate: below(CAP + 2) });
      const { ok, fields } = decodeChecked(decoder, encodeBlock(reps), `sizes ${run}`);
      if (!ok) continue;
      const literals = reps.filter((r): r is Extract<Representation, { literal: string }> => 'literal' in r);
      fields.forEach(([name, value], i) => {
        if (literals[i].literal === 'incremental') return;
        expect(value === null || value.length <= MAX_VALUE).toBe(true);
        if (typeof literals[i].name === 'string') expect(name === null || name.length <= MAX_VALUE).toBe(true);
      });
    }
  });

  it('decodes a literal of 300 KB into a bounded string and a bounded scratch buffer', () => {
    const value = 'x'.repeat(300_000);
    for (const huffman of [false, true]) {
      const decoder = decoderFor(false);
      const { ok, fields } = decodeChecked(decoder, encodeBlock([{ literal: 'without', name: 'big', value, huffman }, { literal: 'incremental', name: 'big', value, huffman }]), `300 KB ${huffman}`);
      expect(ok).toBe(true);
      expect(fields).toEqual([['big', value.slice(0, MAX_VALUE), FIELD_VALUE_TRUNCATED], ['big', value.slice(0, MAX_VALUE), FIELD_VALUE_TRUNCATED]]);
      expect(decoder['table'].length).toBe(0);
    }
  });
});
