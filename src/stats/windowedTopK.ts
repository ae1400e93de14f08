/**
 * Top-N counting over time windows in bounded memory. Events first add into an exact count for
 * their own second (bounded; overflow goes straight to the summaries), so a summary sees one
 * weighted add per distinct key per second, not one per event. Each second is then merged into
 * a Space-Saving slice of `dashboard_bucket_size` seconds; old slices roll up into coarser ones
 * (2 min for the last hour, 1 h up to the retention) and are dropped past the retention.
 * A window's view merges the slices it covers, so its edges fall on slice boundaries. The
 * `all` view comes from one larger cumulative summary until the data is older than the
 * retention (the most precise), from the slices afterwards.
 */
import { KeyBudget } from './keyBudget';
import { LogHistogram, NO_LATENCY, latencyBucket } from './logHistogram';
import { SpaceSaving, type HeavyHitter } from './spaceSaving';
import { windowSpan, type WindowName } from './windows';

/** How time is cut into slices. */
export interface SliceLayout {
  bucketSeconds: number;
  retentionSeconds: number;
}

/** Sizes of the summaries. */
export interface TopKCapacity {
  /** Keys per slice summary. */
  slice: number;
  /** Keys of the cumulative summary behind the `all` view. */
  cumulative: number;
  /** Distinct keys counted exactly per second before overflowing into the summaries. */
  perSecond: number;
}

/** Summary sizes by how many distinct keys a dimension has: a few (methods, codes), many (hosts), very many (URIs, endpoints). */
export const SMALL: TopKCapacity = { slice: 32, cumulative: 256, perSecond: 256 };
export const MEDIUM: TopKCapacity = { slice: 128, cumulative: 2048, perSecond: 1024 };
export const LARGE: TopKCapacity = { slice: 256, cumulative: 4096, perSecond: 2048 };

interface Slice {
  start: number;
  summary: SpaceSaving;
}

interface Tier {
  sliceSeconds: number;
  /** Seconds of history this tier holds before rolling into the next. */
  spanSeconds: number;
  slices: Slice[];
}

/** A merged view: entries largest first, and whether counts may be over-estimated. */
export interface TopView {
  entries: HeavyHitter[];
  total: number;
  approximate: boolean;
}

/** Counts one addition into an exact entry. */
function addTo(entry: HeavyHitter, bytes: number, isError: boolean, bucket: number): void {
  entry.count++;
  entry.bytes += bytes;
  if (isError) entry.errors++;
  if (bucket !== NO_LATENCY && entry.latency !== null) entry.latency.addBucket(bucket, 1);
}

/** Top-N of one dimension (sections, hosts...) over every window. */
export class WindowedTopK {
  /** Exact counts of seconds not closed yet: second → key → entry. */
  private readonly pending = new Map<number, Map<string, HeavyHitter>>();
  private lastSecond = -Infinity;
  private readonly tiers: Tier[];
  private readonly cumulative: SpaceSaving;
  /** The first second with data: once the retention has passed it, `all` comes from the slices. */
  private firstSecond = Infinity;
  private readonly cache = new Map<string, TopView>();
  /** The second most additions go to, and its exact counts (a map lookup per addition spared: epoch seconds are not small integers). */
  private openSecond = NaN;
  private openCounts: Map<string, HeavyHitter> | undefined = undefined;
  /**
   * The last key counted in the open second under its own name, and its entry there: most
   * breakdowns see few keys (methods, statuses, protocols), so the next event's key is often the
   * very same string (a batch's events share their strings), and comparing it spares the lookup.
   */
  private lastKey: string | null = null;
  private lastEntry: HeavyHitter | null = null;
  /** Entries of the exact stage whose keys were not charged (the summaries tracked them already). */
  private readonly uncharged = new Set<HeavyHitter>();

  /** `keys`: what the kept keys' lengths are charged to (the statistics' share of the memory budget). */
  constructor(
    private readonly layout: SliceLayout,
    private readonly capacity: TopKCapacity,
    private readonly keepsLatency = false,
    private readonly keys: KeyBudget = KeyBudget.unbounded(),
  ) {
    const b = layout.bucketSeconds;
    const medium = Math.max(b, Math.ceil(120 / b) * b);
    // Coarse slices of up to an hour, and at most ~1/24 of the retention, so that the
    // retention cuts history at that granularity.
    const coarse = Math.max(medium, Math.min(Math.ceil(3600 / medium), Math.floor(layout.retentionSeconds / 24 / medium)) * medium);
    this.tiers = [
      { sliceSeconds: b, spanSeconds: Math.max(300, b), slices: [] },
      { sliceSeconds: medium, spanSeconds: Math.max(3600, medium), slices: [] },
      { sliceSeconds: coarse, spanSeconds: Math.max(layout.retentionSeconds, coarse), slices: [] },
    ];
    this.cumulative = new SpaceSaving(capacity.cumulative, keepsLatency, keys);
  }

  /** Counts one occurrence of `key` at time `ts`. */
  add(key: string, ts: number, bytes: number, isError: boolean, latencyMs: number | null): void {
    this.count(key, Math.floor(ts), bytes, isError, latencyMs == null ? NO_LATENCY : latencyBucket(latencyMs));
  }

  /**
   * `add` with the time as its whole second and the latency as its histogram bucket
   * (NO_LATENCY: none): small integers, which a call passes as they are, where fractional
   * numbers would each be boxed into a new heap object (the statistics make 16 such calls per
   * transaction).
   */
  count(key: string, second: number, bytes: number, isError: boolean, bucket: number): void {
    if (second < this.firstSecond) this.firstSecond = second;
    if (second <= this.lastSecond) {
      // Late: its second is closed already; count it in its slice directly.
      this.cumulative.addBucketed(key, 1, bytes, isError ? 1 : 0, bucket);
      this.sliceFor(second)?.summary.addBucketed(key, 1, bytes, isError ? 1 : 0, bucket);
      return;
    }
    if (second === this.openSecond && key === this.lastKey) {
      addTo(this.lastEntry!, bytes, isError, bucket);
      return;
    }
    let counts = second === this.openSecond ? this.openCounts : this.pending.get(second);
    if (counts === undefined) {
      counts = new Map();
      this.pending.set(second, counts);
    }
    this.openSecond = second;
    this.openCounts = counts;
    this.lastKey = null;
    let entry = counts.get(key);
    // Counted under its own name, not a shortened one. Known from the lengths: a shortened key
    // is shorter, and comparing strings may compare every character.
    let own = true;
    if (entry === undefined) {
      if (counts.size >= this.capacity.perSecond) {
        // A flood of distinct keys: skip the exact stage.
        this.cumulative.addBucketed(key, 1, bytes, isError ? 1 : 0, bucket);
        this.sliceFor(second, true)!.summary.addBucketed(key, 1, bytes, isError ? 1 : 0, bucket);
        return;
      }
      // A key the summaries already track keeps counting under its own row, uncharged here:
      // shortened, its counts would go to another row once the budget is spent.
      const tracked = !this.keys.fits(key) && this.cumulative.has(key);
      // Charged, not copied: the second's entries go to the summaries, which keep copies, when it closes.
      const kept = tracked ? key : this.keys.charge(key);
      // A shortened key (free of charge) may be counted already this second.
      own = kept.length === key.length;
      entry = own ? undefined : counts.get(kept);
      if (entry === undefined) {
        entry = { key: kept, count: 0, overcount: 0, bytes: 0, errors: 0, latency: this.keepsLatency ? new LogHistogram() : null };
        counts.set(kept, entry);
        if (tracked) this.uncharged.add(entry);
      }
    }
    if (own) {
      this.lastKey = key;
      this.lastEntry = entry;
    }
    addTo(entry, bytes, isError, bucket);
  }

  /** Closes every second up to `second`: their exact counts join their slices; rolls up old slices. */
  closeSecond(second: number): void {
    this.lastSecond = second;
    // The shortcut (lastKey) needs no reset here: closing the open second leaves no open second.
    for (const [pendingSecond, counts] of this.pending) {
      if (pendingSecond > second) continue;
      const slice = this.sliceFor(pendingSecond, true)!;
      for (const entry of counts.values()) {
        // Given back first, so that the summaries may take the key whole in its place.
        if (!this.uncharged.delete(entry)) this.keys.release(entry.key);
        slice.summary.addEntry(entry);
        this.cumulative.addEntry(entry);
      }
      this.pending.delete(pendingSecond);
      if (pendingSecond === this.openSecond) {
        this.openSecond = NaN;
        this.openCounts = undefined;
      }
    }
    this.rollUp(second);
    this.cache.clear();
  }

  /** Gives back every charge its kept keys hold: it is being forgotten (a filtered view's, replaced). */
  release(): void {
    for (const counts of this.pending.values()) {
      for (const entry of counts.values()) if (!this.uncharged.has(entry)) this.keys.release(entry.key);
    }
    this.pending.clear();
    this.uncharged.clear();
    this.openSecond = NaN;
    this.openCounts = undefined;
    this.lastKey = null;
    for (const tier of this.tiers) {
      for (const slice of tier.slices) slice.summary.release();
      tier.slices.length = 0;
    }
    this.cumulative.release();
    this.cache.clear();
  }

  /** The finest slice holding `second` (made when `create`), or null when it has rolled up. */
  private sliceFor(second: number, create = false): Slice | null {
    const tier = this.tiers[0];
    const start = Math.floor(second / tier.sliceSeconds) * tier.sliceSeconds;
    for (let i = tier.slices.length - 1; i >= 0; i--) {
      const slice = tier.slices[i];
      if (slice.start === start) return slice;
      if (slice.start < start) {
        if (!create) return null;
        const made = { start, summary: new SpaceSaving(this.capacity.slice, this.keepsLatency, this.keys) };
        tier.slices.splice(i + 1, 0, made);
        return made;
      }
    }
    if (!create) return null;
    const made = { start, summary: new SpaceSaving(this.capacity.slice, this.keepsLatency, this.keys) };
    tier.slices.unshift(made);
    return made;
  }

  /** Moves slices past each tier's span into the next tier; drops those past the retention. */
  private rollUp(now: number): void {
    for (let t = 0; t < this.tiers.length; t++) {
      const tier = this.tiers[t];
      const next = this.tiers[t + 1];
      while (tier.slices.length > 0 && tier.slices[0].start + tier.sliceSeconds <= now - tier.spanSeconds) {
        const old = tier.slices.shift()!;
        if (next === undefined) {
          old.summary.release(); // past the retention: forgotten
          continue;
        }
        const start = Math.floor(old.start / next.sliceSeconds) * next.sliceSeconds;
        let target = next.slices.find((s) => s.start === start);
        if (target === undefined) {
          target = { start, summary: new SpaceSaving(this.capacity.slice, this.keepsLatency, this.keys) };
          next.slices.push(target);
          next.slices.sort((a, b) => a.start - b.start);
        }
        target.summary.merge(old.summary);
        old.summary.release();
      }
    }
  }

  /** The merged summary of a window ending at second `now` (cached until the next second). */
  view(window: WindowName, now: number): TopView {
    // Keyed by `now` too: a view may be asked of another second than the last closed (the
    // bucket an input ended in), and must not answer with the window of the last second.
    const key = `${window}@${now}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const view = this.compute(window, now);
    this.cache.set(key, view);
    return view;
  }

  private compute(window: WindowName, now: number): TopView {
    const retention = this.layout.retentionSeconds;
    if (window === 'all' && now - this.firstSecond < retention) return summaryView(this.cumulative);
    const { start: from, end: to } = windowSpan(window, now, this.layout.bucketSeconds, retention);
    const merged = new SpaceSaving(Math.max(this.capacity.slice * 4, 256), this.keepsLatency);
    // Each tier holds its span exactly: a window reads only the tiers it needs.
    const tiers = window === 'all' ? this.tiers : window === '1h' ? this.tiers.slice(0, 2) : this.tiers.slice(0, 1);
    for (const tier of tiers) {
      for (const slice of tier.slices) {
        if (slice.start + tier.sliceSeconds > from && slice.start < to) merged.merge(slice.summary);
      }
    }
    return summaryView(merged);
  }
}

function summaryView(summary: SpaceSaving): TopView {
  const entries = summary.top(summary.size);
  return { entries, total: summary.total, approximate: entries.some((e) => e.overcount > 0) };
}
