/**
 * A decoder joined mid-connection (dynamicTable.ts has the reasoning): entries from before the
 * capture come out as null, never as a wrong value, and the decoder says it is synchronised
 * only once what it has seen proves the table whole again, and from then on decodes exactly.
 * First each rule on blocks made for it, then every public story joined at every case.
 */
import { DEFAULT_TABLE_SIZE, HpackDecoder } from '../src/http/h2/hpack/hpackDecoder';
import { ENTRY_OVERHEAD } from '../src/http/h2/hpack/dynamicTable';
import { seededRandom } from '../src/capture/sources/demo/traffic';
import { HpackEncoder, encodeBlock, type Representation } from './helpers/hpackEncoder';
import { decodeFields, loadStories, tableEntries, type Story } from './helpers/hpackStories';

const joined = () => new HpackDecoder({ maxValueLength: 4096, midStream: true });

/** A literal with incremental indexing whose entry takes `size` bytes (name 'n' + index). */
function entryOf(size: number, tag: number): Representation {
  const name = `n${tag}`;
  return { literal: 'incremental', name, value: 'v'.repeat(size - ENTRY_OVERHEAD - name.length) };
}

describe('a decoder joined mid-stream, rule by rule', () => {
  it('reports an index past the known entries as unknown, and counts it; past any entry there could be, malformed', () => {
    const decoder = new HpackDecoder({ maxValueLength: 100, midStream: true, maxTableSize: DEFAULT_TABLE_SIZE });
    const last = 62 + DEFAULT_TABLE_SIZE / ENTRY_OVERHEAD - 1; // 128 entries of 32 bytes at most
    expect(decodeFields(decoder, encodeBlock([{ indexed: 62 }, { indexed: last }, { literal: 'without', name: 70, value: 'x' }, { indexed: 2 }]))).toEqual({
      ok: true, fields: [[null, null, 0], [null, null, 0], [null, 'x', 0], [':method', 'GET', 0]],
    });
    expect(decoder.unknownReferences).toBe(3);
    expect(decodeFields(decoder, encodeBlock([{ indexed: last + 1 }])).ok).toBe(false);
  });

  it('takes an index past what 4096 bytes can hold as a larger maximum set before the capture, up to the cap', () => {
    const decoder = joined();
    const past4096 = 62 + DEFAULT_TABLE_SIZE / ENTRY_OVERHEAD;
    expect(decodeFields(decoder, encodeBlock([{ indexed: past4096 }])).fields).toEqual([[null, null, 0]]);
    expect(decoder['table'].maxSize).toBe(65536);
    expect(decodeFields(decoder, encodeBlock([{ indexed: 62 + 65536 / ENTRY_OVERHEAD - 1 }])).ok).toBe(true);
    expect(decodeFields(decoder, encodeBlock([{ indexed: 62 + 65536 / ENTRY_OVERHEAD }])).ok).toBe(false);
    // Not from the start: there 4096 is known, and the same index is malformed.
    expect(decodeFields(new HpackDecoder({ maxValueLength: 100, midStream: false }), encodeBlock([{ indexed: past4096 }])).ok).toBe(false);
  });

  it('knows the entries it saw added, at the front, and the unknown ones behind them', () => {
    const decoder = joined();
    decodeFields(decoder, encodeBlock([{ literal: 'incremental', name: 'x-a', value: '1' }, { literal: 'incremental', name: 'x-b', value: '2' }]));
    expect(decodeFields(decoder, encodeBlock([{ indexed: 62 }, { indexed: 63 }, { indexed: 64 }])).fields).toEqual([['x-b', '2', 0], ['x-a', '1', 0], [null, null, 0]]);
    expect(decoder.synchronised).toBe(false);
  });

  it('is synchronised once the seen entries leave less than 32 bytes of room: exactly 32 is not enough', () => {
    const decoder = joined();
    // Four entries of 1016 bytes: 4064, and 32 bytes left could still hold one unseen entry.
    decodeFields(decoder, encodeBlock([1, 2, 3, 4].map((i) => entryOf(1016, i))));
    expect(decoder.synchronised).toBe(false);
    expect(decodeFields(decoder, encodeBlock([{ indexed: 66 }])).fields).toEqual([[null, null, 0]]);
    expect(decoder['table'].maxSize).toBe(DEFAULT_TABLE_SIZE);

    const again = joined();
    decodeFields(again, encodeBlock([1, 2, 3, 4].map((i) => entryOf(1016, i))));
    // A size update to 4095 leaves 31 bytes: no entry fits there.
    expect(decodeFields(again, encodeBlock([{ sizeUpdate: 4095 }, { indexed: 65 }])).fields).toEqual([['n1', 'v'.repeat(1016 - 34), 0]]);
    expect(again.synchronised).toBe(true);
    expect(decodeFields(again, encodeBlock([{ indexed: 66 }])).ok).toBe(false);
  });

  it('is synchronised when an entry it saw added had to be evicted: every older one went first', () => {
    const decoder = joined();
    decodeFields(decoder, encodeBlock([1, 2, 3, 4].map((i) => entryOf(1000, i))));
    expect(decoder.synchronised).toBe(false);
    decodeFields(decoder, encodeBlock([entryOf(1000, 5)]));
    expect(decoder.synchronised).toBe(true);
    expect(tableEntries(decoder['table']).map(([name]) => name)).toEqual(['n5', 'n4', 'n3', 'n2']);
  });

  it('is synchronised by a size update to 0, and by an entry larger than the table (both empty it)', () => {
    const zero = joined();
    expect(decodeFields(zero, encodeBlock([{ sizeUpdate: 0 }, { sizeUpdate: 4096 }, { literal: 'incremental', name: 'a', value: 'b' }])).ok).toBe(true);
    expect(zero.synchronised).toBe(true);
    expect(tableEntries(zero['table'])).toEqual([['a', 'b']]);

    const large = joined();
    decodeFields(large, encodeBlock([entryOf(DEFAULT_TABLE_SIZE + 1, 1)]));
    expect(large.synchronised).toBe(true);
    expect(tableEntries(large['table'])).toEqual([]);
  });

  it('gives an entry named after an unknown one a null name and a known value, and waits for it to go before proving anything', () => {
    const decoder = joined();
    expect(decodeFields(decoder, encodeBlock([{ literal: 'incremental', name: 63, value: 'kept' }])).fields).toEqual([[null, 'kept', 0]]);
    expect(decodeFields(decoder, encodeBlock([{ indexed: 62 }])).fields).toEqual([[null, 'kept', 0]]);
    // Its name is 0 bytes or more: the seen entries may fill the table with it, yet not be known.
    decodeFields(decoder, encodeBlock([1, 2, 3].map((i) => entryOf(1343, i)))); // 36 + 3 × 1343 = 4065
    expect(decoder['table'].unknownRoom).toBeLessThan(ENTRY_OVERHEAD);
    expect(decoder.synchronised).toBe(false);
    decodeFields(decoder, encodeBlock([entryOf(1343, 4)]));
    expect(tableEntries(decoder['table']).map(([name]) => name)).toEqual(['n4', 'n3', 'n2']);
    expect(decoder.synchronised).toBe(true);
    expect(decoder.unknownReferences).toBe(2);
  });

  /** An encoder whose table went to 16384 bytes before the capture, already full. */
  function largeTableEncoder(): { encoder: HpackEncoder; headerOf: (i: number) => [string, string] } {
    const encoder = new HpackEncoder({ maxSize: 16384 });
    const headerOf = (i: number): [string, string] => [`x-h${i % 300}`, `value-${i}-${'z'.repeat(i % 40)}`];
    for (let i = 0; i < 400; i++) encoder.encode([headerOf(i)]);
    return { encoder, headerOf };
  }

  it('never gives a wrong value when the table is larger than the 4096 it assumes, and proves it whole only at the cap', () => {
    const { encoder, headerOf } = largeTableEncoder();
    const next = seededRandom(5);
    const decoder = joined();
    let wrong = 0;
    let known = 0;
    for (let block = 0; block < 400; block++) {
      const headers = Array.from({ length: 8 }, () => headerOf(Math.floor(next() * (400 + block * 2))));
      const { ok, fields } = decodeFields(decoder, encoder.encode(headers));
      expect(ok).toBe(true);
      fields.forEach(([name, value], i) => {
        if ((name !== null && name !== headers[i][0]) || (value !== null && value !== headers[i][1])) wrong++;
        if (name !== null && value !== null) known++;
      });
      const ours = tableEntries(decoder['table']);
      const real = tableEntries(encoder['table']);
      if (decoder.synchronised) expect(ours.slice(0, real.length)).toEqual(real);
    }
    expect(wrong).toBe(0);
    expect(known).toBeGreaterThan(2500);
    expect(decoder['table'].maxSize).toBe(65536);
  });

  it('pays for a proof made on the assumed 4096 with one malformed block, then widens to the cap', () => {
    const { encoder, headerOf } = largeTableEncoder();
    const decoder = joined();
    // New headers only, until the seen entries alone overflow 4096 bytes: proved, wrongly.
    for (let i = 1000; !decoder.synchronised; i++) expect(decodeFields(decoder, encoder.encode([headerOf(i)])).ok).toBe(true);
    const old = headerOf(399); // still in the encoder's 16384 bytes, far past the decoder's table
    expect(decodeFields(decoder, encoder.encode([old])).ok).toBe(false);
    expect(decoder.synchronised).toBe(false);
    // The encoder's oldest entry sits past what 4096 bytes can hold: the maximum must be larger.
    const table = encoder['table'];
    const oldest: [string, string] = [table.nameAt(table.length - 1) ?? '', table.valueAt(table.length - 1)];
    expect(decodeFields(decoder, encoder.encode([old, oldest]))).toEqual({ ok: true, fields: [[null, null, 0], [null, null, 0]] });
    expect(decoder['table'].maxSize).toBe(65536);
  });
});

/** What a decoder from the start knows after each case of a story: the truth to compare with. */
interface Truth {
  entries: Array<Array<[string | null, string]>>;
  /** Entries added before case j (insertions[0] = 0). */
  insertions: number[];
  maxSizes: number[];
}

function truthOf(story: Story): Truth {
  const decoder = new HpackDecoder({ maxValueLength: 1 << 16, midStream: false });
  const truth: Truth = { entries: [], insertions: [0], maxSizes: [] };
  for (const c of story.cases) {
    decodeFields(decoder, c.wire);
    truth.entries.push(tableEntries(decoder['table']));
    truth.insertions.push(decoder['table'].insertions);
    truth.maxSizes.push(decoder['table'].maxSize);
  }
  return truth;
}

/** Totals over every story joined at every case after the first. */
const totals = { stories: 0, starts: 0, resynchronised: 0, provable: 0, unknownNames: 0, fields: 0, unknownFields: 0 };
const byEncoder = new Map<string, { starts: number; resynchronised: number }>();

afterAll(() => {
  const lines = ['', `HPACK mid-stream joins: ${totals.starts} starts on ${totals.stories} stories, resynchronised on ${totals.resynchronised} ` +
    `(all ${totals.provable} where exact sizes prove it and the decoder knew every name; ${totals.unknownNames} had an entry named after an unknown one); ` +
    `${totals.unknownFields} of ${totals.fields} fields reported unknown (null)`];
  for (const [encoder, t] of byEncoder) lines.push(`  ${encoder.padEnd(28)} resynchronised ${t.resynchronised}/${t.starts}`);
  process.stdout.write(lines.join('\n') + '\n\n');
});

describe('the public stories joined at every case', () => {
  const stories = loadStories().filter((s) => s.cases.length > 1);

  it.each(stories.map((s) => [s.name, s] as const))('%s', (_, story) => {
    const truth = truthOf(story);
    // Stories whose size never changes after the start: there the decoder's 4096 is the truth.
    const sizeKnown = truth.maxSizes.every((m) => m === DEFAULT_TABLE_SIZE);
    const tally = byEncoder.get(story.encoder) ?? { starts: 0, resynchronised: 0 };
    byEncoder.set(story.encoder, tally);
    totals.stories++;
    // Checked per field of every start: collected, not asserted one by one (hundreds of thousands).
    const problems: string[] = [];
    const problem = (k: number, j: number, what: string) => {
      if (problems.length < 10) problems.push(`joined at ${k}, case ${j}: ${what}`);
    };
    for (let k = 1; k < story.cases.length; k++) {
      const decoder = joined();
      let synchronisedAt = -1;
      let provable = false;
      let sawUnknownName = false;
      for (let j = k; j < story.cases.length; j++) {
        const { ok, fields } = decodeFields(decoder, story.cases[j].wire);
        if (!ok) problem(k, j, 'malformed');
        const expected = story.cases[j].headers;
        if (fields.length !== expected.length) problem(k, j, `${fields.length} fields, not ${expected.length}`);
        fields.forEach(([name, value], i) => {
          // Whatever is reported known is right; an unknown part is null, and none once synchronised.
          if ((name !== null && name !== expected[i][0]) || (value !== null && value !== expected[i][1])) problem(k, j, `field ${i} wrong: ${name}: ${value}`);
          if (name === null || value === null) {
            totals.unknownFields++;
            if (synchronisedAt >= 0) problem(k, j, `field ${i} unknown after synchronising at ${synchronisedAt}`);
          }
        });
        totals.fields += fields.length;

        const table = decoder['table'];
        const real = truth.entries[j];
        const seen = truth.insertions[j + 1] - truth.insertions[k];
        if (decoder.synchronised) {
          if (synchronisedAt < 0) synchronisedAt = j;
          // Sound: no entry from before case k is left, and the real table is the front of ours
          // (ours can be longer when the real maximum is below the 4096 assumed).
          const ours = tableEntries(table);
          if (real.length > seen) problem(k, j, 'synchronised while an entry from before the join is left');
          if (JSON.stringify(ours.slice(0, real.length)) !== JSON.stringify(real) || (sizeKnown && ours.length !== real.length)) problem(k, j, 'synchronised with another table');
        } else if (synchronisedAt >= 0) problem(k, j, 'no longer synchronised');

        // Complete: with exact sizes (from the truth), the proof is there once an entry seen added
        // was evicted, or the seen entries leave less than 32 bytes; the decoder must find it
        // whenever it knew every size itself (no entry named after an unknown one).
        sawUnknownName ||= table['uncertain'] > 0;
        const seenSize = real.slice(0, seen).reduce((sum, [name, value]) => sum + (name ?? '').length + value.length + ENTRY_OVERHEAD, 0);
        provable ||= real.length < seen || DEFAULT_TABLE_SIZE - seenSize < ENTRY_OVERHEAD;
        if (sizeKnown && provable && !sawUnknownName && !decoder.synchronised) problem(k, j, 'provably whole, not synchronised');
      }
      totals.starts++;
      tally.starts++;
      if (synchronisedAt >= 0) {
        totals.resynchronised++;
        tally.resynchronised++;
      }
      if (sizeKnown && !sawUnknownName && provable) totals.provable++;
      if (sawUnknownName) totals.unknownNames++;
    }
    expect(problems).toEqual([]);
  });
});
