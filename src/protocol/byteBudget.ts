/**
 * A budget of bytes shared by many holders of one kind (message-head buffers of every
 * connection): each cap per holder is small, but 200,000 connections times a small cap is not.
 * Holders take before they allocate and give back when they let go; what is refused is
 * counted, and the holder drops the data instead of the process running out of memory.
 */
export class ByteBudget {
  used = 0;
  /** Requests refused because the budget was spent. */
  refused = 0;

  constructor(readonly limit: number) {}

  /** Takes `bytes` if they fit; false (counted) when they do not. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) {
      this.refused++;
      return false;
    }
    this.used += bytes;
    return true;
  }

  /** Counts a refusal its holder decided (its own cap was reached): dropped and counted alike. */
  refuse(): false {
    this.refused++;
    return false;
  }

  give(bytes: number): void {
    this.used -= bytes;
  }
}
