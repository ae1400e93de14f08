// Node's Buffer has fast, undocumented-in-typings slice decoders; toString() wraps them with
// argument checks that show up in profiles of the parser's hot path.
declare module 'buffer' {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    utf8Slice(start: number, end: number): string;
    /** Writes `text` as UTF-8 at `offset`; returns the bytes written. */
    utf8Write(text: string, offset: number): number;
  }
}
export {};
