/**
 * A small HPACK encoder (RFC 7541) for the demo's HTTP/2 traffic and the tests: `encodeBlock`
 * writes the representations it is given, as they are (good or bad); `HpackEncoder` picks them
 * for header lists the way a plain encoder does, keeping its own dynamic table. It shares the
 * decoder's tables (src/http/h2/hpack), so the two cannot disagree on an index or a code.
 */
import { DynamicTable } from '../../../http/h2/hpack/dynamicTable';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from '../../../http/h2/hpack/huffman';
import { STATIC_NAMES, STATIC_TABLE_LENGTH, STATIC_VALUES } from '../../../http/h2/hpack/staticTable';

/** The bytes of `value` as a prefix integer (§5.1); `pattern` holds the bits above the prefix. */
export function encodeInteger(value: number, prefixBits: number, pattern = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [pattern | value];
  const bytes = [pattern | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

/** The Huffman code of the latin1 string `text`, padded with ones (§5.2). */
export function huffmanEncode(text: string): number[] {
  const bytes: number[] = [];
  // At most 7 pending bits plus a 30-bit code: exact in a double.
  let pending = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const symbol = text.charCodeAt(i) & 0xff;
    pending = pending * 2 ** HUFFMAN_LENGTHS[symbol] + HUFFMAN_CODES[symbol];
    bits += HUFFMAN_LENGTHS[symbol];
    while (bits >= 8) {
      bits -= 8;
      const byte = Math.floor(pending / 2 ** bits);
      bytes.push(byte);
      pending -= byte * 2 ** bits;
    }
  }
  if (bits > 0) bytes.push(pending * 2 ** (8 - bits) + 2 ** (8 - bits) - 1);
  return bytes;
}

/** A string literal (§5.2), Huffman-coded or raw. */
export function encodeString(text: string, huffman: boolean): number[] {
  const octets = huffman ? huffmanEncode(text) : [...Buffer.from(text, 'latin1')];
  return [...encodeInteger(octets.length, 7, huffman ? 0x80 : 0), ...octets];
}

/** How a literal field is to be kept by the decoder (§6.2). */
export type LiteralKind = 'incremental' | 'without' | 'never';

/** One representation of a header block (§6), as `encodeBlock` writes it. */
export type Representation =
  | { indexed: number }
  | { literal: LiteralKind; name: string | number; value: string; huffman?: boolean }
  | { sizeUpdate: number };

const LITERAL_FORMS: Record<LiteralKind, { prefixBits: number; pattern: number }> = {
  incremental: { prefixBits: 6, pattern: 0x40 },
  without: { prefixBits: 4, pattern: 0x00 },
  never: { prefixBits: 4, pattern: 0x10 },
};

/** The bytes of one representation. */
function representationBytes(rep: Representation): number[] {
  if ('indexed' in rep) return encodeInteger(rep.indexed, 7, 0x80);
  if ('sizeUpdate' in rep) return encodeInteger(rep.sizeUpdate, 5, 0x20);
  const { prefixBits, pattern } = LITERAL_FORMS[rep.literal];
  const huffman = rep.huffman ?? false;
  const name = typeof rep.name === 'number' ? encodeInteger(rep.name, prefixBits, pattern) : [pattern, ...encodeString(rep.name, huffman)];
  return [...name, ...encodeString(rep.value, huffman)];
}

/** A header block of these representations, in order. */
export function encodeBlock(representations: readonly Representation[]): Buffer {
  return Buffer.from(representations.flatMap(representationBytes));
}

/** How an HpackEncoder writes literals. */
export interface HpackEncoderOptions {
  /** Huffman-code every literal string (default false). */
  huffman?: boolean;
  /** Names sent as "never indexed" (§6.2.3), e.g. authorization. */
  sensitive?: readonly string[];
  /** The maximum table size in force at the start (default 4096). */
  maxSize?: number;
}

/**
 * Encodes header lists on one connection: an exact match in the static or dynamic table goes
 * as an index, anything else as a literal with incremental indexing (its name indexed when a
 * table has it), sensitive names never indexed.
 */
export class HpackEncoder {
  private readonly table: DynamicTable;
  private readonly huffman: boolean;
  private readonly sensitive: ReadonlySet<string>;

  constructor(options: HpackEncoderOptions = {}) {
    this.table = new DynamicTable(options.maxSize ?? 4096, false);
    this.huffman = options.huffman ?? false;
    this.sensitive = new Set(options.sensitive ?? []);
  }

  /** The block for `headers`, starting with a size update to `sizeUpdate` when given. */
  encode(headers: ReadonlyArray<readonly [string, string]>, sizeUpdate?: number): Buffer {
    const reps: Representation[] = [];
    if (sizeUpdate !== undefined) {
      reps.push({ sizeUpdate });
      this.table.resize(sizeUpdate);
    }
    for (const [name, value] of headers) {
      const exact = this.find(name, value);
      if (exact > 0 && !this.sensitive.has(name)) {
        reps.push({ indexed: exact });
        continue;
      }
      const nameIndex = this.find(name, null);
      const literal: LiteralKind = this.sensitive.has(name) ? 'never' : 'incremental';
      reps.push({ literal, name: nameIndex > 0 ? nameIndex : name, value, huffman: this.huffman });
      if (literal === 'incremental') this.table.insert(name, value);
    }
    return encodeBlock(reps);
  }

  /** The lowest index holding `name` with `value` (any value when null), or 0. */
  private find(name: string, value: string | null): number {
    for (let i = 1; i <= STATIC_TABLE_LENGTH; i++) {
      if (STATIC_NAMES[i] === name && (value === null || STATIC_VALUES[i] === value)) return i;
    }
    for (let i = 0; i < this.table.length; i++) {
      if (this.table.nameAt(i) === name && (value === null || this.table.valueAt(i) === value)) return STATIC_TABLE_LENGTH + 1 + i;
    }
    return 0;
  }
}
