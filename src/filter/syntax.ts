/**
 * The filter language's syntax: text → a tree, by recursive descent over the characters (no
 * token list: what a value may contain depends on the operator before it, so values are read
 * where the grammar expects one). Every error names the token and its column.
 *
 *   expr       := or
 *   or         := and (('or' | '||') and)*
 *   and        := unary (('and' | '&&')? unary)*          juxtaposed terms are and-ed
 *   unary      := ('not' | '!') unary | primary
 *   primary    := '(' expr ')' | comparison | word | "quoted" | /regex/flags
 *   comparison := FIELD op value | FIELD ['not'] 'in' '(' value (',' value)* ')'
 *   op         := '=' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '~' | '=~' | '!~'
 */

/** A value as written: where it starts, and whether it was quoted or a /regex/ (flags after it). */
export interface ValueNode {
  text: string;
  position: number;
  quoted: boolean;
  /** Written as `/pattern/flags`: `text` is the pattern. */
  regexFlags: string | null;
}

export type Operator = '=' | '!=' | '<' | '<=' | '>' | '>=' | '~' | '!~';

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'compare'; field: string; fieldPosition: number; op: Operator; opPosition: number; value: ValueNode }
  | { kind: 'in'; field: string; fieldPosition: number; values: ValueNode[]; negated: boolean }
  /** A field named alone: a yes/no field's test (`unanswered`). */
  | { kind: 'flag'; field: string; fieldPosition: number }
  /** A word, quoted text or /regex/ alone: text in the host or URI, as `/` has always matched. */
  | { kind: 'text'; value: ValueNode };

/** A filter that cannot be read: what is wrong, at which column (1-based) of the text. */
export class FilterError extends Error {
  /** `hint`: what would be right, said after the column (`fields: method, host, …`). */
  constructor(readonly problem: string, readonly column: number, readonly hint = '') {
    super(`${problem} at column ${column}${hint === '' ? '' : ` (${hint})`}`);
    this.name = 'FilterError';
  }
}

/** Longest filter text read (a filter is typed by hand or kept in a config). */
export const MAX_FILTER_LENGTH = 4096;

/** Nesting of parentheses and `not`s, at most (the descent recurses on them). */
const MAX_DEPTH = 64;

const OPERATORS: ReadonlyArray<[string, Operator]> = [
  ['==', '='], ['!=', '!='], ['<=', '<='], ['>=', '>='], ['=~', '~'], ['!~', '!~'], ['=', '='], ['<', '<'], ['>', '>'], ['~', '~'],
];

/** Characters that end an unquoted word where no value is expected. */
const WORD_END = /[\s()=!<>~,"']/;

/** Parses a filter; throws FilterError. `isField` tells the field names from bare words; `fieldList` names them in an error. */
export function parseFilterText(text: string, isField: (name: string) => boolean, fieldList = ''): FilterNode {
  if (text.length > MAX_FILTER_LENGTH) throw new FilterError(`the filter is longer than ${MAX_FILTER_LENGTH} characters`, MAX_FILTER_LENGTH + 1);
  const parser = new Parser(text, isField, fieldList);
  const node = parser.expression(0);
  parser.skipSpace();
  if (!parser.atEnd()) throw parser.error(`unexpected ${parser.describeNext()}`);
  return node;
}

class Parser {
  private at = 0;

  constructor(private readonly text: string, private readonly isField: (name: string) => boolean, private readonly fieldList: string) {}

  atEnd(): boolean {
    return this.at >= this.text.length;
  }

  skipSpace(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at])) this.at++;
  }

  error(problem: string, position = this.at): FilterError {
    return new FilterError(problem, position + 1);
  }

  /** The next token, in a few words, for an error. */
  describeNext(): string {
    if (this.atEnd()) return 'end of the filter';
    const word = /^[^\s()]+/.exec(this.text.slice(this.at));
    return `"${word === null ? this.text[this.at] : shorten(word[0])}"`;
  }

  expression(depth: number): FilterNode {
    if (depth > MAX_DEPTH) throw this.error(`more than ${MAX_DEPTH} levels of parentheses or not`);
    let left = this.conjunction(depth);
    while (this.keyword('or') || this.symbol('||')) left = { kind: 'or', left, right: this.conjunction(depth) };
    return left;
  }

  private conjunction(depth: number): FilterNode {
    let left = this.unary(depth);
    for (;;) {
      if (this.keyword('and') || this.symbol('&&')) {
        left = { kind: 'and', left, right: this.unary(depth) };
        continue;
      }
      this.skipSpace();
      // Another term right after this one (not `or`, not a closing parenthesis): and-ed.
      if (this.atEnd() || this.text[this.at] === ')' || this.peekKeyword('or') || this.text.startsWith('||', this.at)) return left;
      left = { kind: 'and', left, right: this.unary(depth) };
    }
  }

  private unary(depth: number): FilterNode {
    if (depth > MAX_DEPTH) throw this.error(`more than ${MAX_DEPTH} levels of parentheses or not`);
    this.skipSpace();
    if (this.keyword('not')) return { kind: 'not', operand: this.unary(depth + 1) };
    // `!` alone negates; `!=` and `!~` are operators and cannot start a term.
    if (this.text[this.at] === '!' && this.text[this.at + 1] !== '=' && this.text[this.at + 1] !== '~') {
      this.at++;
      return { kind: 'not', operand: this.unary(depth + 1) };
    }
    return this.primary(depth);
  }

  private primary(depth: number): FilterNode {
    this.skipSpace();
    if (this.atEnd()) throw this.error('a term is missing (a field comparison or a word to look for)');
    const start = this.at;
    const c = this.text[start];
    if (c === '(') {
      this.at++;
      const inner = this.expression(depth + 1);
      this.skipSpace();
      if (this.text[this.at] !== ')') throw this.error(`missing ")" for the "(" at column ${start + 1}`);
      this.at++;
      return inner;
    }
    if (c === '"' || c === "'") return { kind: 'text', value: this.quoted() };
    if (c === '/' && this.regexAhead()) return { kind: 'text', value: this.regex() };
    if (c === ')' || c === ',' || this.operatorAhead() !== null) throw this.error(`unexpected ${this.describeNext()}`);
    const word = this.word();
    const lower = word.toLowerCase();
    if (lower === 'and' || lower === 'or') throw this.error(`"${word}" needs a term on each side (to look for the word itself, quote it: "${word}")`, start);
    this.skipSpace();
    const op = this.operatorAhead();
    const field = this.isField(lower) ? lower : null;
    if (op !== null) {
      if (field === null) throw new FilterError(`unknown field "${shorten(word)}"`, start + 1, this.fieldList === '' ? '' : `fields: ${this.fieldList}`);
      const opPosition = this.at;
      this.at += op[0].length;
      return { kind: 'compare', field, fieldPosition: start, op: op[1], opPosition, value: this.value(false, op[1] === '~' || op[1] === '!~') };
    }
    // `in` after a field is a list; after any other word it is a word too (`sign in`).
    if (field !== null) {
      const negatedIn = this.peekKeyword('not') && /^not\s+in(?=[\s(]|$)/i.test(this.text.slice(this.at));
      if (negatedIn || this.peekKeyword('in')) {
        if (negatedIn) this.keyword('not');
        this.keyword('in');
        return { kind: 'in', field, fieldPosition: start, values: this.list(), negated: negatedIn };
      }
      return { kind: 'flag', field, fieldPosition: start };
    }
    return { kind: 'text', value: { text: word, position: start, quoted: false, regexFlags: null } };
  }

  /** `( value, value, … )` after `in`. */
  private list(): ValueNode[] {
    this.skipSpace();
    if (this.text[this.at] !== '(') throw this.error(`"in" takes a list in parentheses, e.g. in (GET, HEAD), not ${this.describeNext()}`);
    const open = this.at;
    this.at++;
    const values: ValueNode[] = [];
    for (;;) {
      values.push(this.value(true, false));
      this.skipSpace();
      if (this.text[this.at] === ',') { this.at++; continue; }
      if (this.text[this.at] === ')') { this.at++; return values; }
      throw this.error(this.atEnd() ? `missing ")" for the list at column ${open + 1}` : `expected "," or ")" in the list, not ${this.describeNext()}`);
    }
  }

  /**
   * A value after an operator, or in a list: quoted, a /regex/, or unquoted up to white space
   * (a list's up to `,`); an unquoted value keeps balanced parentheses (`^/(a|b)`), so a `)` it
   * did not open ends it.
   */
  private value(inList: boolean, pattern: boolean): ValueNode {
    this.skipSpace();
    const start = this.at;
    if (this.atEnd()) throw this.error('a value is missing after the operator');
    const c = this.text[start];
    if (c === '"' || c === "'") return this.quoted();
    if (c === '/' && pattern && this.regexAhead()) return this.regex();
    let depth = 0;
    while (this.at < this.text.length) {
      const ch = this.text[this.at];
      if (/\s/.test(ch) || (inList && ch === ',' && depth === 0)) break;
      // `status=500||status=404`: the C-style operators end a value written against them.
      if (depth === 0 && (this.text.startsWith('||', this.at) || this.text.startsWith('&&', this.at))) break;
      if (ch === '(') depth++;
      else if (ch === ')') {
        if (depth === 0) break;
        depth--;
      }
      this.at++;
    }
    if (this.at === start) throw this.error(`a value is missing before ${this.describeNext()}`);
    return { text: this.text.slice(start, this.at), position: start, quoted: false, regexFlags: null };
  }

  /**
   * Is the `/` here a /regex/flags: closed by a later unescaped `/` that only known flags
   * (i, m, s) and then white space, `)` or the end follow? A path such as `/api/users` is not.
   */
  private regexAhead(): boolean {
    const end = this.regexEnd(this.at);
    return end !== -1 && /^[ims]*(?=$|[\s)])/.test(this.text.slice(end + 1));
  }

  /** The index of the `/` that closes the regex opening at `start`, or -1. */
  private regexEnd(start: number): number {
    for (let i = start + 1; i < this.text.length; i++) {
      if (this.text[i] === '\\') i++;
      else if (this.text[i] === '/') return i > start + 1 ? i : -1;
    }
    return -1;
  }

  /** A /regex/flags (regexAhead said there is one). */
  private regex(): ValueNode {
    const start = this.at;
    const end = this.regexEnd(start);
    const flags = /^[ims]*/.exec(this.text.slice(end + 1))![0];
    this.at = end + 1 + flags.length;
    return { text: this.text.slice(start + 1, end), position: start, quoted: false, regexFlags: flags };
  }

  private quoted(): ValueNode {
    const start = this.at;
    const quote = this.text[start];
    let out = '';
    for (let i = start + 1; i < this.text.length; i++) {
      const ch = this.text[i];
      if (ch === '\\' && (this.text[i + 1] === quote || this.text[i + 1] === '\\')) {
        // Only the quote and the backslash are escaped: `"\.png$"` stays a regex's `\.`.
        out += this.text[++i];
      } else if (ch === quote) {
        this.at = i + 1;
        return { text: out, position: start, quoted: true, regexFlags: null };
      } else out += ch;
    }
    throw this.error(`missing closing ${quote} for the text at column ${start + 1}`, this.text.length);
  }

  private word(): string {
    const start = this.at;
    while (this.at < this.text.length && !WORD_END.test(this.text[this.at])) this.at++;
    return this.text.slice(start, this.at);
  }

  /** The operator at the cursor (after white space), or null. */
  private operatorAhead(): [string, Operator] | null {
    this.skipSpace();
    for (const entry of OPERATORS) if (this.text.startsWith(entry[0], this.at)) return entry;
    return null;
  }

  /** Is the keyword (any case) next, as a whole word? */
  private peekKeyword(keyword: string): boolean {
    this.skipSpace();
    const after = this.text[this.at + keyword.length];
    return this.text.slice(this.at, this.at + keyword.length).toLowerCase() === keyword && (after === undefined || /[\s(]/.test(after));
  }

  /** Takes the keyword when it is next. */
  private keyword(keyword: string): boolean {
    if (!this.peekKeyword(keyword)) return false;
    // `in(` and `not(` are keywords too; `and.html` is a word.
    this.at += keyword.length;
    return true;
  }

  private symbol(symbol: string): boolean {
    this.skipSpace();
    if (!this.text.startsWith(symbol, this.at)) return false;
    this.at += symbol.length;
    return true;
  }
}

function shorten(text: string): string {
  return text.length > 30 ? `${text.slice(0, 29)}…` : text;
}
