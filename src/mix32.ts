/**
 * murmur3's finaliser: every input bit moves every output bit. In and out as signed 32-bit
 * integers: its users read only the bits. Made unsigned (`>>> 0`), half the hashes were numbers
 * past the small-integer range, and the optimised code that took them was sent back to the
 * interpreter again and again (--trace-deopt on the bench's hostile pipelined capture: 21–22
 * "lost precision" bailouts of the unique visitors' hash in one run).
 */
export function mix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
