/**
 * The bytes that the statistics' keys may hold beyond their first characters. A summary's
 * entries are bounded in number, but a key is a string off the wire (a URI, a User-Agent): a
 * flood of distinct 1 KB keys would make every summary hold megabytes. Each entry holds its
 * first FREE_KEY_CHARS characters free of charge (the entry's fixed cost covers them); the rest
 * is charged here, at two bytes a character. Once the budget is spent, a new long key is kept
 * shortened (its first characters and `…`): a flood of distinct long keys folds into few rows
 * instead of taking the memory, and the shortenings are counted (capture health).
 */
import { ownCopy, ownText } from '../protocol/sanitize';

/** Characters of a key held free of charge, and what a shortened key keeps. */
export const FREE_KEY_CHARS = 64;

export class KeyBudget {
  /** Bytes charged now. */
  used = 0;
  /** Additions of long keys counted under a shortened key because the budget was spent. */
  shortened = 0;

  constructor(readonly limit: number) {}

  /** A budget that never runs out (views merged for a moment, tests). */
  static unbounded(): KeyBudget {
    return new KeyBudget(Infinity);
  }

  /** Would `key` be kept whole (its charge, if any, fits)? */
  fits(key: string): boolean {
    return key.length <= FREE_KEY_CHARS || this.used + chargeOf(key) <= this.limit;
  }

  /**
   * The key to keep for `key`, charged: `key` when its charge fits (a copy of it when it may be
   * a slice, 13 characters or more), else a shortened copy (which costs nothing). A copy: a key
   * cut from a longer string (a section from its URI, a client from its X-Forwarded-For) would
   * otherwise keep the whole of it alive, uncharged.
   * Transactions decoded from a capture thread's batch own their strings; those of a capture on
   * the main thread (inlineCapture) come straight from the parser.
   */
  admit(key: string): string {
    const charged = this.charge(key);
    // A key too short to be a slice is kept as it is: the next lookup with the same string finds
    // it by identity, where a copy is compared character by character.
    return charged === key ? ownText(key) : charged;
  }

  /**
   * `admit` for a key held for a moment, the second it is counted in (see WindowedTopK): `key`
   * itself when its charge fits, not a copy, so that the second's later lookups with the same
   * string find it by identity. Until that second closes, a string it was cut from stays alive.
   */
  charge(key: string): string {
    const cost = chargeOf(key);
    if (cost === 0) return key;
    if (this.used + cost <= this.limit) {
      this.used += cost;
      return key;
    }
    this.shortened++;
    // Not half a surrogate pair; a copy: a slice would keep the whole long key alive.
    const cut = isHighSurrogate(key.charCodeAt(FREE_KEY_CHARS - 2)) ? FREE_KEY_CHARS - 2 : FREE_KEY_CHARS - 1;
    return ownCopy(`${key.slice(0, cut)}…`);
  }

  /** Gives back what a kept key (as admit returned it) was charged. */
  release(key: string): void {
    this.used -= chargeOf(key);
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function chargeOf(key: string): number {
  return key.length > FREE_KEY_CHARS ? 2 * (key.length - FREE_KEY_CHARS) : 0;
}
