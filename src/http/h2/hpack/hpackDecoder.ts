/**
 * The HPACK decoder (RFC 7541) of one direction of an HTTP/2 connection: header blocks in,
 * header fields out through a callback, the dynamic table kept in step.
 *
 * Policy for a capture (see dynamicTable.ts for the reasoning):
 * - joined mid-stream, the entries the table held before the capture are unknown: a reference
 *   to one gives null (name, or name and value), counted in `unknownReferences`, never a guess;
 *   the decoder is `synchronised` again once what it has seen proves those entries are gone;
 * - the table's maximum size is 4096 until a size update says otherwise; joined mid-stream, a
 *   reference past what a table of 4096 bytes can hold shows the encoder went higher before the
 *   capture, and the decoder then assumes `maxTableSize` (null for old entries, no false proof);
 * - a malformed block returns false and the table may now be out of step (a lost part of the
 *   block could have added entries), so every entry becomes unknown, as if joined anew;
 * - memory is bounded: the table by `maxTableSize` (a larger size update is malformed), a
 *   literal that does not go into the table by `maxValueLength` bytes of name and of value.
 * Strings are the octets as latin1; entries of the static and dynamic tables are given back as
 * the same string objects every time.
 */
import type { TextCache } from '../../../protocol/sanitize';
import { DynamicTable, ENTRY_OVERHEAD } from './dynamicTable';
import { decodeHuffman, maxHuffmanDecodedLength } from './huffman';
import { readInteger, type Cursor } from './integer';
import { STATIC_NAMES, STATIC_TABLE_LENGTH, STATIC_VALUES } from './staticTable';

/** Flag of a field whose value was cut to `maxValueLength` bytes. */
export const FIELD_VALUE_TRUNCATED = 1;
/** Flag of a field whose literal name was cut to `maxValueLength` bytes. */
export const FIELD_NAME_TRUNCATED = 2;
/** Flag of a field sent as "never indexed" (§6.2.3): the sender marked it sensitive. */
export const FIELD_NEVER_INDEXED = 4;
/** Field flag: the value was passed over undecoded (its name is not `wanted`), given as ''. */
export const FIELD_VALUE_SKIPPED = 8;

/** The maximum table size before any size update: SETTINGS_HEADER_TABLE_SIZE's default. */
export const DEFAULT_TABLE_SIZE = 4096;
/** The default hard cap on the table's size. */
export const DEFAULT_MAX_TABLE_SIZE = 65536;

/** How an HpackDecoder bounds itself and where it starts. */
export interface HpackDecoderOptions {
  /** Bytes kept of a literal name or value that is not added to the table; longer ones are cut and flagged. */
  maxValueLength: number;
  /** The connection was joined after it started: the table's older entries are unknown. */
  midStream: boolean;
  /** Hard cap on the table's size in HPACK bytes (default 65536); a size update above it is malformed. */
  maxTableSize?: number;
  /**
   * Whether the value of a field named `name` is read at all. A literal that does not go into
   * the table, named from a table entry, with a value nobody reads (a `date`, an `etag`) is
   * passed over undecoded and given as '' with FIELD_VALUE_SKIPPED. Default: every value.
   */
  wanted?: (name: string) => boolean;
  /** Repeated short strings given back as the same string, shared by a capture's decoders (none by default). */
  texts?: TextCache;
}

/** Receives one decoded field: null for a part held by an unknown entry; `flags` FIELD_* bits. */
export type FieldCallback = (name: string | null, value: string | null, flags: number) => void;

const EMPTY = Buffer.alloc(0);
/** Strings longer than this are not looked up in the cache (TextCache keeps up to 256). */
const MAX_CACHED_TEXT = 128;
/** The smallest scratch buffer, so that short Huffman strings do not grow it step by step. */
const MIN_SCRATCH = 256;
/** The largest scratch buffer kept from one block to the next; a larger one is let go. */
const KEPT_SCRATCH = 4096;

/** Where the bytes of the last string read are: in the block, or decoded into the scratch buffer. */
class StringRef {
  src: Buffer = EMPTY;
  start = 0;
  /** Bytes available at `start` (the decoded length, or less when cut). */
  kept = 0;
  /** The string's whole decoded length. */
  full = 0;

  /**
   * The first `length` bytes (≤ kept) as a latin1 string. Short printable ones come through the
   * decoder's cache: a server sends the same date, length and type in every response, and a
   * string made for each cost more than the lookup (allocation, then collection).
   */
  text(length: number, cache: TextCache | null): string {
    const end = this.start + length;
    return (cache !== null && length <= MAX_CACHED_TEXT ? cache.ascii(this.src, this.start, end) : null) ?? this.src.latin1Slice(this.start, end);
  }
}

/** Decodes the header blocks of one direction of a connection (RFC 7541). */
export class HpackDecoder {
  private readonly wanted: ((name: string) => boolean) | null;
  private readonly texts: TextCache | null;
  private readonly table: DynamicTable;
  private readonly maxValueLength: number;
  private readonly maxTableSize: number;
  private readonly cursor: Cursor = { pos: 0, end: 0 };
  private readonly nameRef = new StringRef();
  private readonly valueRef = new StringRef();
  /** Huffman output of the current representation; grown on demand, bounded by the limits. */
  private scratch: Buffer = EMPTY;
  private scratchUsed = 0;
  /** The entry found by the last `lookup`. */
  private foundName: string | null = null;
  private foundValue: string | null = null;
  private unknown = 0;

  constructor(options: HpackDecoderOptions) {
    this.maxValueLength = Math.max(0, options.maxValueLength);
    this.wanted = options.wanted ?? null;
    this.texts = options.texts ?? null;
    this.maxTableSize = options.maxTableSize ?? DEFAULT_MAX_TABLE_SIZE;
    const maxSize = Math.min(DEFAULT_TABLE_SIZE, this.maxTableSize);
    this.table = new DynamicTable(maxSize, options.midStream, this.maxTableSize);
  }

  /** Whether every dynamic-table entry is known (see dynamicTable.ts for when that is proved). */
  get synchronised(): boolean {
    return this.table.complete;
  }

  /** References to unknown entries so far (a running total, for capture health). */
  get unknownReferences(): number {
    return this.unknown;
  }

  /**
   * Decodes the complete header block `buf[start, end)`, calling `onField` for each field in
   * order. Returns false when the block is malformed (fields already given are then to be
   * dropped by the caller). Never throws for any bytes.
   */
  decode(buf: Buffer, start: number, end: number, onField: FieldCallback): boolean {
    const ok = start >= 0 && start <= end && end <= buf.length && this.decodeFields(buf, start, end, onField);
    // A malformed block may have added entries in a part that is lost: trust none of them.
    if (!ok) this.table.forget();
    // Let go of the block, and of a scratch buffer grown for a long string: a decoder lives as
    // long as its connection, and there may be 200,000 of them.
    this.nameRef.src = EMPTY;
    this.valueRef.src = EMPTY;
    if (this.scratch.length > KEPT_SCRATCH) this.scratch = EMPTY;
    return ok;
  }

  /** The representations of `buf[start, end)` in order; false at the first malformed one. */
  private decodeFields(buf: Buffer, start: number, end: number, onField: FieldCallback): boolean {
    const cursor = this.cursor;
    cursor.pos = start;
    cursor.end = end;
    let fieldSeen = false;
    while (cursor.pos < end) {
      const first = buf[cursor.pos];
      let ok: boolean;
      if (first >= 0x80) ok = this.indexed(buf, onField);
      else if (first >= 0x40) ok = this.literal(buf, onField, 6, true, 0);
      else if (first >= 0x20) {
        // §4.2: a size update comes at the beginning of a block, before any field.
        ok = !fieldSeen && this.sizeUpdate(buf);
        if (ok) continue;
      } else ok = this.literal(buf, onField, 4, false, first >= 0x10 ? FIELD_NEVER_INDEXED : 0);
      if (!ok) return false;
      fieldSeen = true;
    }
    return true;
  }

  /**
   * A header block went by undecoded (a capture gap, a block given up): the table may be out
   * of step, so every entry becomes unknown, as after a malformed block.
   */
  forget(): void {
    this.table.forget();
  }

  /** An indexed header field (§6.1). */
  private indexed(buf: Buffer, onField: FieldCallback): boolean {
    const index = readInteger(buf, this.cursor, 7);
    if (!this.lookup(index)) return false;
    onField(this.foundName, this.foundValue, 0);
    return true;
  }

  /** A dynamic table size update (§6.3). */
  private sizeUpdate(buf: Buffer): boolean {
    const size = readInteger(buf, this.cursor, 5);
    if (size < 0 || size > this.maxTableSize) return false;
    this.table.resize(size);
    return true;
  }

  /**
   * A literal header field (§6.2) whose index has `prefixBits` bits; `indexing` when it goes into
   * the table (§6.2.1).
   */
  private literal(buf: Buffer, onField: FieldCallback, prefixBits: number, indexing: boolean, flags: number): boolean {
    const index = readInteger(buf, this.cursor, prefixBits);
    if (index < 0) return false;
    const table = this.table;
    // A string bound for the table is kept whole up to the table's size; any other is cut.
    const keep = indexing ? Math.max(table.maxSize, this.maxValueLength) : this.maxValueLength;
    this.scratchUsed = 0;
    let name: string | null = null;
    if (index !== 0) {
      if (!this.lookup(index)) return false;
      name = this.foundName;
      if (!indexing && name !== null && this.wanted !== null && !this.wanted(name)) {
        // Nothing reads it and no table keeps it: its bytes are passed over, not decoded.
        if (!this.skipString(buf)) return false;
        onField(name, '', flags | FIELD_VALUE_SKIPPED);
        return true;
      }
    } else if (!this.readString(buf, this.nameRef, keep)) return false;
    const valueRef = this.valueRef;
    if (!this.readString(buf, valueRef, keep)) return false;

    if (indexing) {
      const nameLength = index !== 0 ? (name === null ? 0 : name.length) : this.nameRef.full;
      if (nameLength + valueRef.full + ENTRY_OVERHEAD <= table.maxSize) {
        // It fits, so each string is shorter than the table and was kept whole.
        if (index === 0) name = this.nameRef.text(this.nameRef.full, this.texts);
        const value = valueRef.text(valueRef.full, this.texts);
        table.insert(name, value);
        onField(name, value, flags);
        return true;
      }
      table.insertTooLarge();
    }
    const limit = this.maxValueLength;
    if (index === 0) {
      const nameRef = this.nameRef;
      if (nameRef.full > limit) flags |= FIELD_NAME_TRUNCATED;
      name = nameRef.text(Math.min(nameRef.full, limit), this.texts);
    }
    if (valueRef.full > limit) flags |= FIELD_VALUE_TRUNCATED;
    onField(name, valueRef.text(Math.min(valueRef.full, limit), this.texts), flags);
    return true;
  }

  /**
   * Finds entry `index` of the static and dynamic tables (§2.3.3) into foundName/foundValue,
   * null for what is unknown. False when no table can hold that index (or it is 0, or -1 from
   * a bad integer): beyond the known entries and every unknown one there could still be.
   */
  private lookup(index: number): boolean {
    if (index <= STATIC_TABLE_LENGTH) {
      if (index <= 0) return false;
      this.foundName = STATIC_NAMES[index];
      this.foundValue = STATIC_VALUES[index];
      return true;
    }
    const table = this.table;
    const i = index - STATIC_TABLE_LENGTH - 1;
    if (i < table.length) {
      const name = table.nameAt(i);
      if (name === null) this.unknown++;
      this.foundName = name;
      this.foundValue = table.valueAt(i);
      return true;
    }
    if (i - table.length >= table.possibleUnknown) {
      // Past every entry there could be: malformed, unless the maximum was only assumed and this
      // shows it larger. Once the table is proved whole, malformed (§2.3.3).
      if (table.complete || !table.widen() || i - table.length >= table.possibleUnknown) return false;
    }
    this.unknown++;
    this.foundName = null;
    this.foundValue = null;
    return true;
  }

  /**
   * Reads a string literal (§5.2) into `ref`, keeping at most `keep` bytes of it (the whole
   * string is still read, and a Huffman one checked). False when it is malformed or runs past
   * the block.
   */
  private readString(buf: Buffer, ref: StringRef, keep: number): boolean {
    const cursor = this.cursor;
    if (cursor.pos >= cursor.end) return false;
    const huffman = buf[cursor.pos] >= 0x80;
    const length = readInteger(buf, cursor, 7);
    if (length < 0 || length > cursor.end - cursor.pos) return false;
    const at = cursor.pos;
    cursor.pos += length;
    if (!huffman) {
      ref.src = buf;
      ref.start = at;
      ref.full = length;
      ref.kept = Math.min(length, keep);
      return true;
    }
    const room = Math.min(keep, maxHuffmanDecodedLength(length));
    const scratch = this.reserve(room);
    const full = decodeHuffman(buf, at, at + length, scratch, this.scratchUsed, room);
    if (full < 0) return false;
    ref.src = scratch;
    ref.start = this.scratchUsed;
    ref.full = full;
    ref.kept = Math.min(full, room);
    this.scratchUsed += ref.kept;
    return true;
  }

  /** Passes over a string literal (§5.2) without decoding it; false when it runs past the block. */
  private skipString(buf: Buffer): boolean {
    const cursor = this.cursor;
    if (cursor.pos >= cursor.end) return false;
    const length = readInteger(buf, cursor, 7);
    if (length < 0 || length > cursor.end - cursor.pos) return false;
    cursor.pos += length;
    return true;
  }

  /**
   * The scratch buffer, with `bytes` free after what is used. A string already read keeps its
   * reference to the old buffer when it grows, so nothing needs copying.
   */
  private reserve(bytes: number): Buffer {
    const needed = this.scratchUsed + bytes;
    if (needed > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(MIN_SCRATCH, needed, this.scratch.length * 2));
    return this.scratch;
  }
}
