/**
 * The public HPACK test stories (test/corpus/hpack, from http2jp/hpack-test-case): every block
 * of every story, decoded in order by one decoder per story, gives exactly the expected header
 * list, with Huffman and without, through size updates and evictions.
 */
import { HpackDecoder } from '../src/http/h2/hpack/hpackDecoder';
import { decodeFields, loadStories } from './helpers/hpackStories';

const stories = loadStories();

describe('the hpack-test-case stories', () => {
  it('carries stories of at least four encoders, with and without Huffman, one changing the table size', () => {
    const encoders = new Set(stories.map((s) => s.encoder));
    expect(encoders.size).toBeGreaterThanOrEqual(4);
    for (const name of ['nghttp2', 'nghttp2-change-table-size', 'haskell-http2-linear', 'go-hpack']) expect(encoders).toContain(name);
  });

  it.each(stories.map((s) => [s.name, s] as const))('%s decodes to the expected headers, case by case', (_, story) => {
    const decoder = new HpackDecoder({ maxValueLength: 1 << 16, midStream: false });
    for (const c of story.cases) {
      const { ok, fields } = decodeFields(decoder, c.wire);
      expect({ seqno: c.seqno, ok, fields: fields.map(([name, value]) => [name, value]) }).toEqual({ seqno: c.seqno, ok: true, fields: c.headers });
    }
    expect(decoder.synchronised).toBe(true);
    expect(decoder.unknownReferences).toBe(0);
  });
});
