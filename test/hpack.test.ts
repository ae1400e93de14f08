/**
 * The HPACK decoder on the examples of RFC 7541 (Appendix C), on its parts (prefix integers,
 * the Huffman code, the static table), on the promises of its contract (same strings, limits,
 * flags, what is malformed), and round trips through the test encoder.
 */
import { DEFAULT_TABLE_SIZE, FIELD_NAME_TRUNCATED, FIELD_NEVER_INDEXED, FIELD_VALUE_SKIPPED, FIELD_VALUE_TRUNCATED, HpackDecoder } from '../src/http/h2/hpack/hpackDecoder';
import { EOS, HUFFMAN_CODES, HUFFMAN_LENGTHS, decodeHuffman } from '../src/http/h2/hpack/huffman';
import { MAX_INTEGER, readInteger } from '../src/http/h2/hpack/integer';
import { STATIC_NAMES, STATIC_TABLE_LENGTH, STATIC_VALUES } from '../src/http/h2/hpack/staticTable';
import { seededRandom } from '../src/capture/sources/demo/traffic';
import { HpackEncoder, encodeBlock, encodeInteger, huffmanEncode, type Representation } from './helpers/hpackEncoder';
import { decodeFields, tableEntries } from './helpers/hpackStories';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const fresh = (maxValueLength = 4096) => new HpackDecoder({ maxValueLength, midStream: false });

/** The fields of a block as [name, value] pairs, failing the test when the block is malformed. */
function pairs(decoder: HpackDecoder, block: Buffer): Array<[string | null, string | null]> {
  const { ok, fields } = decodeFields(decoder, block);
  expect(ok).toBe(true);
  return fields.map(([name, value]) => [name, value]);
}

describe('prefix integers (§5.1)', () => {
  const read = (bytes: number[], prefixBits: number) => {
    const cursor = { pos: 0, end: bytes.length };
    return { value: readInteger(Buffer.from(bytes), cursor, prefixBits), pos: cursor.pos };
  };

  it('reads the examples of C.1, ignoring the bits above the prefix', () => {
    expect(read([0b1110_1010], 5)).toEqual({ value: 10, pos: 1 });
    expect(read([0b0001_1111, 0b1001_1010, 0b0000_1010], 5)).toEqual({ value: 1337, pos: 3 });
    expect(read([42], 8)).toEqual({ value: 42, pos: 1 });
    expect(read([0xff, 0x00], 7)).toEqual({ value: 127, pos: 2 });
  });

  it('takes values up to 2^31 - 1 and overlong zero groups within five continuation bytes', () => {
    expect(read(encodeInteger(MAX_INTEGER, 7), 7).value).toBe(MAX_INTEGER);
    expect(read([0x1f, 0x80, 0x80, 0x80, 0x80, 0x00], 5)).toEqual({ value: 31, pos: 6 });
    for (const prefixBits of [4, 5, 6, 7, 8]) {
      for (const value of [0, 1, 14, 15, 16, 126, 127, 128, 255, 4096, 65535, 2 ** 24, 2 ** 31 - 2]) {
        const bytes = encodeInteger(value, prefixBits);
        expect(read(bytes, prefixBits)).toEqual({ value, pos: bytes.length });
      }
    }
  });

  it('rejects 2^31 and more, a sixth continuation byte, and an integer cut short', () => {
    expect(read(encodeInteger(MAX_INTEGER + 1, 7), 7).value).toBe(-1);
    expect(read(encodeInteger(2 ** 40, 5), 5).value).toBe(-1);
    expect(read([0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 5).value).toBe(-1);
    expect(read([0x1f, 0xff], 5).value).toBe(-1);
    expect(read([], 5).value).toBe(-1);
  });
});

describe('the Huffman code (Appendix B)', () => {
  it('has the codes of Appendix B (a sample) from the lengths alone', () => {
    const sample: Array<[number, number, number]> = [
      [0, 0x1ff8, 13], [32, 0x14, 6], [48, 0x0, 5], [97, 0x3, 5], [127, 0xffffffc, 28],
      [128, 0xfffe6, 20], [255, 0x3ffffee, 26], [10, 0x3ffffffc, 30], [EOS, 0x3fffffff, 30],
    ];
    for (const [symbol, code, length] of sample) expect([symbol, HUFFMAN_CODES[symbol], HUFFMAN_LENGTHS[symbol]]).toEqual([symbol, code, length]);
  });

  const decode = (bytes: number[], limit = 1024) => {
    const out = Buffer.alloc(limit);
    const length = decodeHuffman(Buffer.from(bytes), 0, bytes.length, out, 0, limit);
    return length < 0 ? null : out.latin1Slice(0, Math.min(length, limit));
  };

  it('decodes every byte value, alone and in runs, as the test encoder codes it', () => {
    for (let symbol = 0; symbol < 256; symbol++) {
      const text = String.fromCharCode(symbol);
      expect(decode(huffmanEncode(text))).toBe(text);
      expect(decode(huffmanEncode(text.repeat(5)))).toBe(text.repeat(5));
    }
    const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
    expect(decode(huffmanEncode(all))).toBe(all);
    expect(decode([])).toBe('');
  });

  it('rejects EOS inside a string, padding of 8 bits or more, and padding that is not all ones', () => {
    expect(decode([0xff, 0xff, 0xff, 0xff])).toBeNull(); // EOS (30 ones) then 2 more
    expect(decode([...huffmanEncode('a'), 0xff])).toBeNull(); // 'a' + 3 padding bits + a byte of ones
    expect(decode([0xff])).toBeNull(); // 8 bits of padding alone
    expect(decode([0b0001_1110])).toBeNull(); // 'a' then padding 110
    expect(decode([0b0001_1111])).toBe('a');
  });

  it('keeps at most `limit` bytes but still reads and checks the rest', () => {
    const out = Buffer.alloc(16);
    const coded = Buffer.from(huffmanEncode('www.example.com'));
    expect(decodeHuffman(coded, 0, coded.length, out, 2, 5)).toBe(15);
    expect(out.latin1Slice(2, 7)).toBe('www.e');
    expect(out[7]).toBe(0);
    const bad = Buffer.from([...huffmanEncode('www.example.com').slice(0, -1), 0x00]);
    expect(decodeHuffman(bad, 0, bad.length, out, 0, 5)).toBe(-1);
  });
});

describe('the static table (Appendix A)', () => {
  it('has its 61 entries', () => {
    expect(STATIC_TABLE_LENGTH).toBe(61);
    expect(STATIC_NAMES).toHaveLength(62);
    expect([STATIC_NAMES[1], STATIC_VALUES[1]]).toEqual([':authority', '']);
    expect([STATIC_NAMES[2], STATIC_VALUES[2]]).toEqual([':method', 'GET']);
    expect([STATIC_NAMES[14], STATIC_VALUES[14]]).toEqual([':status', '500']);
    expect([STATIC_NAMES[16], STATIC_VALUES[16]]).toEqual(['accept-encoding', 'gzip, deflate']);
    expect([STATIC_NAMES[32], STATIC_NAMES[55], STATIC_NAMES[61]]).toEqual(['cookie', 'set-cookie', 'www-authenticate']);
  });
});

describe('RFC 7541 Appendix C', () => {
  it('C.2: one representation of each kind', () => {
    let decoder = fresh();
    expect(decodeFields(decoder, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))).toEqual({ ok: true, fields: [['custom-key', 'custom-header', 0]] });
    expect(tableEntries(decoder['table'])).toEqual([['custom-key', 'custom-header']]);
    expect(decoder['table'].size).toBe(55);

    decoder = fresh();
    expect(decodeFields(decoder, hex('040c 2f73 616d 706c 652f 7061 7468'))).toEqual({ ok: true, fields: [[':path', '/sample/path', 0]] });
    expect(tableEntries(decoder['table'])).toEqual([]);

    decoder = fresh();
    expect(decodeFields(decoder, hex('1008 7061 7373 776f 7264 0673 6563 7265 74'))).toEqual({ ok: true, fields: [['password', 'secret', FIELD_NEVER_INDEXED]] });
    expect(tableEntries(decoder['table'])).toEqual([]);

    decoder = fresh();
    expect(decodeFields(decoder, hex('82'))).toEqual({ ok: true, fields: [[':method', 'GET', 0]] });
    expect(tableEntries(decoder['table'])).toEqual([]);
  });

  const requests: Array<{ fields: Array<[string, string]>; table: Array<[string, string]>; size: number }> = [
    {
      fields: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
      table: [[':authority', 'www.example.com']], size: 57,
    },
    {
      fields: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
      table: [['cache-control', 'no-cache'], [':authority', 'www.example.com']], size: 110,
    },
    {
      fields: [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
      table: [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']], size: 164,
    },
  ];

  it.each([
    ['C.3 (requests without Huffman)', [
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ]],
    ['C.4 (requests with Huffman)', [
      '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
      '8286 84be 5886 a8eb 1064 9cbf',
      '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
    ]],
  ])('%s: three requests on one table', (_, blocks) => {
    const decoder = fresh();
    blocks.forEach((block, i) => {
      expect(pairs(decoder, hex(block))).toEqual(requests[i].fields);
      expect(tableEntries(decoder['table'])).toEqual(requests[i].table);
      expect(decoder['table'].size).toBe(requests[i].size);
    });
  });

  const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
  const location = 'https://www.example.com';
  const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
  const responses: Array<{ fields: Array<[string, string]>; table: Array<[string, string]>; size: number }> = [
    {
      fields: [[':status', '302'], ['cache-control', 'private'], ['date', date1], ['location', location]],
      table: [['location', location], ['date', date1], ['cache-control', 'private'], [':status', '302']], size: 222,
    },
    {
      fields: [[':status', '307'], ['cache-control', 'private'], ['date', date1], ['location', location]],
      table: [[':status', '307'], ['location', location], ['date', date1], ['cache-control', 'private']], size: 222,
    },
    {
      fields: [[':status', '200'], ['cache-control', 'private'], ['date', date2], ['location', location], ['content-encoding', 'gzip'], ['set-cookie', cookie]],
      table: [['set-cookie', cookie], ['content-encoding', 'gzip'], ['date', date2]], size: 215,
    },
  ];

  it.each([
    ['C.5 (responses without Huffman)', [
      '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '4803 3330 37c1 c0bf',
      '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
    ]],
    ['C.6 (responses with Huffman)', [
      '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
      '4883 640e ffc1 c0bf',
      '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
    ]],
  ])('%s: three responses on a 256-byte table, with evictions', (_, blocks) => {
    const decoder = fresh();
    blocks.forEach((block, i) => {
      // The examples run with SETTINGS_HEADER_TABLE_SIZE 256; on HTTP/2 the encoder says so
      // with a size update at the start of its first block (§4.2).
      const wire = i === 0 ? Buffer.concat([encodeBlock([{ sizeUpdate: 256 }]), hex(block)]) : hex(block);
      expect(pairs(decoder, wire)).toEqual(responses[i].fields);
      expect(tableEntries(decoder['table'])).toEqual(responses[i].table);
      expect(decoder['table'].size).toBe(responses[i].size);
    });
    expect(decoder.synchronised).toBe(true);
    expect(decoder.unknownReferences).toBe(0);
  });
});

describe('the decoder contract', () => {
  it('gives back the same string objects for static entries and for a dynamic entry referenced again', () => {
    const decoder = fresh();
    const seen: Array<string | null> = [];
    const collect = (name: string | null, value: string | null) => seen.push(name, value);
    const block = encodeBlock([{ indexed: 2 }, { literal: 'incremental', name: 'x-trace', value: 'abc', huffman: true }]);
    decoder.decode(block, 0, block.length, collect);
    const again = encodeBlock([{ indexed: 2 }, { indexed: 62 }, { literal: 'without', name: 62, value: 'v' }]);
    decoder.decode(again, 0, again.length, collect);
    expect(seen[0]).toBe(STATIC_NAMES[2]);
    expect(seen[4]).toBe(seen[0]);
    expect(seen[6]).toBe(seen[2]); // the name of entry 62, inserted by the first block
    expect(seen[7]).toBe(seen[3]);
    expect(seen[8]).toBe(seen[2]);
  });

  it('decodes a block inside a larger buffer, and an empty block', () => {
    const decoder = fresh();
    const block = Buffer.concat([Buffer.from([0xde, 0xad]), hex('8286 84'), Buffer.from([0xff])]);
    const fields: string[] = [];
    expect(decoder.decode(block, 2, 5, (name, value) => fields.push(`${name}: ${value}`))).toBe(true);
    expect(fields).toEqual([':method: GET', ':scheme: http', ':path: /']);
    expect(decoder.decode(block, 3, 3, () => fields.push('none'))).toBe(true);
    expect(fields).toHaveLength(3);
  });

  it('cuts a name or value that does not go into the table to maxValueLength, and flags it', () => {
    const decoder = fresh(8);
    const long = 'abcdefghijklmnop';
    const block = encodeBlock([
      { literal: 'without', name: 4, value: long },
      { literal: 'never', name: 'x-very-long-name', value: 'short', huffman: true },
      { literal: 'without', name: 'x-fits', value: '12345678', huffman: true },
      { literal: 'incremental', name: 'x-in-table', value: long },
      { indexed: 62 },
    ]);
    expect(decodeFields(decoder, block)).toEqual({
      ok: true,
      fields: [
        [':path', 'abcdefgh', FIELD_VALUE_TRUNCATED],
        ['x-very-l', 'short', FIELD_NAME_TRUNCATED | FIELD_NEVER_INDEXED],
        ['x-fits', '12345678', 0],
        ['x-in-table', long, 0], // kept whole: it is in the table anyway
        ['x-in-table', long, 0],
      ],
    });
  });

  it('an entry larger than the table empties it and is reported cut like a literal not indexed', () => {
    const decoder = fresh(10);
    const big = 'x'.repeat(DEFAULT_TABLE_SIZE);
    const block = encodeBlock([
      { literal: 'incremental', name: 'a', value: '1' },
      { literal: 'incremental', name: 'b', value: big, huffman: true },
    ]);
    expect(decodeFields(decoder, block).fields).toEqual([['a', '1', 0], ['b', 'x'.repeat(10), FIELD_VALUE_TRUNCATED]]);
    expect(tableEntries(decoder['table'])).toEqual([]);
    const exact = 'y'.repeat(DEFAULT_TABLE_SIZE - 32 - 1);
    expect(decodeFields(decoder, encodeBlock([{ literal: 'incremental', name: 'c', value: exact }])).fields).toEqual([['c', exact, 0]]);
    expect(tableEntries(decoder['table'])).toEqual([['c', exact]]);
    expect(decoder['table'].size).toBe(DEFAULT_TABLE_SIZE);
  });

  it('follows size updates: eviction, growth up to the cap, and none above it', () => {
    const decoder = new HpackDecoder({ maxValueLength: 100, midStream: false, maxTableSize: 8192 });
    const fill = encodeBlock([1, 2, 3].map((i): Representation => ({ literal: 'incremental', name: `n${i}`, value: 'v'.repeat(40) })));
    decodeFields(decoder, fill);
    expect(tableEntries(decoder['table']).map(([name]) => name)).toEqual(['n3', 'n2', 'n1']);
    expect(decodeFields(decoder, encodeBlock([{ sizeUpdate: 150 }, { indexed: 62 }]))).toEqual({ ok: true, fields: [['n3', 'v'.repeat(40), 0]] });
    expect(tableEntries(decoder['table']).map(([name]) => name)).toEqual(['n3', 'n2']);
    // Two updates in a row (the lowest, then the final one: §4.2) and growth to the cap.
    expect(decodeFields(decoder, encodeBlock([{ sizeUpdate: 80 }, { sizeUpdate: 8192 }])).ok).toBe(true);
    expect(tableEntries(decoder['table']).map(([name]) => name)).toEqual(['n3']);
    expect(decoder['table'].maxSize).toBe(8192);
    expect(decodeFields(decoder, encodeBlock([{ sizeUpdate: 8193 }])).ok).toBe(false);
  });

  it('calls malformed: a size update after a field, index 0, an index past the table, a string past the block', () => {
    const malformed = [
      encodeBlock([{ indexed: 2 }, { sizeUpdate: 100 }]),
      encodeBlock([{ indexed: 0 }]),
      encodeBlock([{ indexed: 62 }]),
      encodeBlock([{ literal: 'without', name: 62, value: 'v' }]),
      Buffer.from([0x04, 0x05, 0x61]),
      Buffer.from([0x40, 0x85, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x61]),
      Buffer.from([0xff]),
    ];
    for (const block of malformed) expect(decodeFields(fresh(), block).ok).toBe(false);
    expect(fresh().decode(Buffer.from([0x82]), 0, 2, () => undefined)).toBe(false);
    expect(fresh().decode(Buffer.from([0x82]), 1, 0, () => undefined)).toBe(false);
  });

  it('after a malformed block trusts no entry: later references are unknown, never stale', () => {
    const decoder = fresh();
    decodeFields(decoder, encodeBlock([{ literal: 'incremental', name: 'x-a', value: '1' }]));
    expect(decoder.synchronised).toBe(true);
    // A block cut short: the encoder may have added entries in the part that is missing.
    const cut = encodeBlock([{ literal: 'incremental', name: 'x-b', value: '2' }, { literal: 'incremental', name: 'x-c', value: '3' }]);
    expect(decodeFields(decoder, cut.subarray(0, cut.length - 2)).ok).toBe(false);
    expect(decoder.synchronised).toBe(false);
    expect(decodeFields(decoder, encodeBlock([{ indexed: 62 }, { indexed: 63 }, { literal: 'without', name: 64, value: 'z' }]))).toEqual({
      ok: true, fields: [[null, null, 0], [null, null, 0], [null, 'z', 0]],
    });
    expect(decoder.unknownReferences).toBe(3);
  });

  it('forgets its table when told a block went by unseen', () => {
    const decoder = fresh();
    decodeFields(decoder, encodeBlock([{ literal: 'incremental', name: 'x-a', value: '1' }]));
    decoder.forget();
    expect(decoder.synchronised).toBe(false);
    expect(decodeFields(decoder, encodeBlock([{ indexed: 62 }])).fields).toEqual([[null, null, 0]]);
  });
});

describe('values nobody reads', () => {
  it('passes over a literal not indexed whose table-named field is not wanted, and still decodes one bound for the table', () => {
    const decoder = new HpackDecoder({ maxValueLength: 4096, midStream: false, wanted: (name) => name !== 'date' && name !== 'etag' });
    const block = encodeBlock([
      { literal: 'without', name: 33, value: 'Sun, 06 Dec 2026 19:00:00 GMT', huffman: true }, // date, static name
      { literal: 'never', name: 'etag', value: '"abc"' }, // a literal name: decoded, then its value too
      { literal: 'incremental', name: 33, value: 'Mon, 07 Dec 2026 00:00:00 GMT' }, // into the table: decoded
      { literal: 'without', name: 8, value: '204' }, // :status, wanted
      { indexed: 62 },
    ]);
    const fields: Array<[string | null, string | null, number]> = [];
    expect(decoder.decode(block, 0, block.length, (name, value, flags) => fields.push([name, value, flags]))).toBe(true);
    expect(fields).toEqual([
      ['date', '', FIELD_VALUE_SKIPPED],
      ['etag', '"abc"', FIELD_NEVER_INDEXED],
      ['date', 'Mon, 07 Dec 2026 00:00:00 GMT', 0],
      [':status', '204', 0],
      ['date', 'Mon, 07 Dec 2026 00:00:00 GMT', 0],
    ]);
    // A skipped string that runs past the block is still malformed.
    const cut = encodeBlock([{ literal: 'without', name: 33, value: 'x'.repeat(50) }]).subarray(0, 20);
    expect(decoder.decode(cut, 0, cut.length, () => undefined)).toBe(false);
  });
});

describe('the test encoder', () => {
  it('round-trips header lists through the decoder, with and without Huffman, size updates and sensitive fields', () => {
    const next = seededRandom(21);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
    const names = [':method', ':path', ':authority', 'user-agent', 'cookie', 'authorization', 'x-request-id', 'accept', 'x-\u00ff\u0001bin'];
    const text = (length: number) => Array.from({ length }, () => String.fromCharCode(pick([32 + Math.floor(next() * 95), Math.floor(next() * 256)]))).join('');
    for (const huffman of [false, true]) {
      const encoder = new HpackEncoder({ huffman, sensitive: ['authorization'] });
      const decoder = new HpackDecoder({ maxValueLength: 1 << 16, midStream: false });
      for (let block = 0; block < 200; block++) {
        const headers: Array<[string, string]> = Array.from({ length: 1 + Math.floor(next() * 12) }, () => [pick(names), next() < 0.5 ? pick(['GET', '/', 'a', '']) : text(Math.floor(next() * 300))]);
        const sizeUpdate = next() < 0.05 ? pick([0, 100, 1000, 4096]) : undefined;
        const wire = encoder.encode(headers, sizeUpdate);
        const { ok, fields } = decodeFields(decoder, wire);
        expect(ok).toBe(true);
        expect(fields.map(([name, value]) => [name, value])).toEqual(headers);
        expect(fields.map(([name, , flags]) => (flags & FIELD_NEVER_INDEXED) !== 0)).toEqual(headers.map(([name]) => name === 'authorization'));
      }
      expect(tableEntries(decoder['table'])).toEqual(tableEntries(encoder['table']));
    }
  });
});
