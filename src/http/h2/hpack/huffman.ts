/**
 * The static Huffman code of HPACK (RFC 7541 Appendix B) and a decoder that takes a byte at a
 * time: a table of 256 states (the inner nodes of the code tree) by 256 input bytes, built once
 * at the first Huffman string, gives for each pair the next state and the zero, one or two
 * symbols completed on the way. Per byte: one lookup, no branch per bit, no allocation.
 */

/**
 * Code lengths in bits for symbols 0–255 and EOS (256), as listed in Appendix B. The code is
 * canonical (codes of one length are consecutive, in symbol order, after those of the shorter
 * lengths), so the lengths alone give every code: no 257 hand-copied bit strings to get wrong.
 */
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

/** The end-of-string symbol: never valid inside a string, its prefix pads the last byte. */
export const EOS = 256;

/** The codes of a canonical Huffman code with these lengths, by symbol. */
function canonicalCodes(lengths: readonly number[]): number[] {
  const symbols = lengths.map((_, symbol) => symbol).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const codes: number[] = new Array<number>(lengths.length);
  let code = 0;
  let length = lengths[symbols[0]];
  for (const symbol of symbols) {
    code *= 2 ** (lengths[symbol] - length);
    length = lengths[symbol];
    codes[symbol] = code++;
  }
  return codes;
}

/** The code of each symbol (0–256), its bits right-aligned; HUFFMAN_LENGTHS gives how many. */
export const HUFFMAN_CODES: readonly number[] = canonicalCodes(CODE_LENGTHS);

/** The length in bits of each symbol's code (0–256). */
export const HUFFMAN_LENGTHS: readonly number[] = CODE_LENGTHS;

/** A table entry that decoded EOS: the string is malformed (§5.2). */
const FAIL = 1 << 26;

/**
 * The code tree: `children[node * 2 + bit]` is an inner node's number (> 0; the root is 0) or
 * -(symbol + 1) for a leaf. A complete code of 257 leaves has exactly 256 inner nodes, so a
 * state fits in a byte.
 */
function codeTree(): Int16Array {
  const children = new Int16Array(256 * 2);
  let nodes = 1;
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const code = HUFFMAN_CODES[symbol];
    let node = 0;
    for (let bit = HUFFMAN_LENGTHS[symbol] - 1; bit > 0; bit--) {
      const slot = node * 2 + (Math.floor(code / 2 ** bit) & 1);
      if (children[slot] === 0) children[slot] = nodes++;
      node = children[slot];
    }
    children[node * 2 + (code & 1)] = -(symbol + 1);
  }
  return children;
}

/**
 * The decoding table, `table[state << 8 | byte]`: bits 0–7 the next state, 8–15 and 16–23 the symbols
 * completed, 24–25 how many (0–2: the shortest code has 5 bits, so 8 bits end at most two), or
 * FAIL when the byte completes EOS.
 */
function transitions(children: Int16Array): Uint32Array {
  const table = new Uint32Array(256 * 256);
  for (let state = 0; state < 256; state++) {
    for (let byte = 0; byte < 256; byte++) {
      let node = state;
      let entry = 0;
      let count = 0;
      for (let bit = 7; bit >= 0; bit--) {
        const child = children[node * 2 + ((byte >> bit) & 1)];
        if (child > 0) {
          node = child;
          continue;
        }
        const symbol = -child - 1;
        if (symbol === EOS) {
          entry = FAIL;
          break;
        }
        entry |= symbol << (8 + 8 * count++);
        node = 0;
      }
      table[(state << 8) | byte] = entry === FAIL ? FAIL : entry | node | (count << 24);
    }
  }
  return table;
}

/**
 * The states a string may end in: the root, or 1 to 7 bits into the all-ones path (the prefix
 * of EOS). Anything else is padding longer than 7 bits or not all ones (§5.2).
 */
function endStates(children: Int16Array): Uint8Array {
  const accepting = new Uint8Array(256);
  let node = 0;
  for (let depth = 0; depth <= 7; depth++) {
    accepting[node] = 1;
    node = children[node * 2 + 1];
  }
  return accepting;
}

/** The decoder's tables (see transitions and endStates). */
interface DecodeTables {
  transitions: Uint32Array;
  endStates: Uint8Array;
}

/**
 * Built at the first Huffman string, not when the module loads: 65,536 entries take ~13 ms and
 * 256 KB, in every capture worker, and a capture without HTTP/2 never needs them.
 */
let tables: DecodeTables | null = null;

function decodeTables(): DecodeTables {
  if (tables === null) {
    const tree = codeTree();
    tables = { transitions: transitions(tree), endStates: endStates(tree) };
  }
  return tables;
}

/**
 * Decodes the Huffman string `buf[start, end)` into `out` from `outStart`, writing at most
 * `limit` bytes (a value cut short is still read to its end, to check it). Returns the whole
 * decoded length, or -1 when the string is malformed: EOS inside it, or padding longer than
 * 7 bits or not all ones.
 */
export function decodeHuffman(buf: Buffer, start: number, end: number, out: Buffer, outStart: number, limit: number): number {
  const { transitions: next, endStates: accepting } = decodeTables();
  let state = 0;
  let at = outStart;
  const stop = outStart + limit;
  for (let i = start; i < end; i++) {
    const entry = next[(state << 8) | buf[i]];
    if (entry === FAIL) return -1;
    const count = entry >>> 24;
    if (count !== 0) {
      if (at < stop) out[at] = entry >>> 8;
      at++;
      if (count === 2) {
        if (at < stop) out[at] = entry >>> 16;
        at++;
      }
    }
    state = entry & 0xff;
  }
  return accepting[state] === 1 ? at - outStart : -1;
}

/** The most bytes `length` Huffman-coded bytes can decode to (the shortest code has 5 bits). */
export function maxHuffmanDecodedLength(length: number): number {
  return Math.floor((length * 8) / 5);
}
