/**
 * Which label values the metrics keep. Cardinality is bounded: only `metrics_top_k` hosts and
 * sections keep their own values — the busiest, admitted from the statistics' top-N once they
 * have had `ADMIT_MIN_REQUESTS` requests — and the rest count as `other`. A value once
 * admitted keeps its series for the run, so series do not churn from scrape to scrape, and a
 * flood of distinct Host headers adds nothing but `other`. Methods, TLS versions and ALPN
 * protocols keep the known values only; status classes are the statistics' (stats/classify).
 */

/** Requests a host or section needs before it may have its own label value. */
const ADMIT_MIN_REQUESTS = 10;

/** The label value of everything not admitted. */
export const OTHER = 'other';

/** Label values one dimension may have, at most; admitted ones stay. */
export class LabelLimiter {
  private readonly admitted = new Set<string>();

  constructor(readonly limit: number) {}

  /** The label value for `value`: itself once admitted, else `other`. */
  label(value: string): string {
    return this.admitted.has(value) ? value : OTHER;
  }

  /** Admits the busiest candidates (largest first) while there is room. */
  admit(candidates: ReadonlyArray<{ key: string; count: number }>): void {
    for (const { key, count } of candidates) {
      if (this.admitted.size >= this.limit) return;
      if (count >= ADMIT_MIN_REQUESTS && key !== OTHER) this.admitted.add(key);
    }
  }

  /** Is there no room for another value? */
  get full(): boolean {
    return this.admitted.size >= this.limit;
  }
}

/** Methods as labels: the common ones as they are, anything else `other` (a method is any token on the wire). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : OTHER;
}

/** HTTP versions as the protocol label says them; any other version is `other`. */
const PROTOCOLS: Record<string, string> = { '1.0': 'HTTP/1.0', '1.1': 'HTTP/1.1', '2': 'HTTP/2', '0.9': 'HTTP/0.9' };

export function protocolLabel(version: string): string {
  return PROTOCOLS[version] ?? OTHER;
}

const TLS_VERSIONS = new Set(['TLS 1.3', 'TLS 1.2', 'TLS 1.1', 'TLS 1.0', 'SSL 3.0']);
const ALPN = new Set(['h2', 'http/1.1', 'http/1.0', 'h3']);

/** A TLS version as a label: a known one, `unknown` when none was seen, else `other`. */
export function tlsVersionLabel(version: string): string {
  return TLS_VERSIONS.has(version) ? version : version === '' ? 'unknown' : OTHER;
}

/** An ALPN protocol as a label: a known one, `none` when none was chosen, else `other`. */
export function alpnLabel(alpn: string): string {
  return ALPN.has(alpn) ? alpn : alpn === '' ? 'none' : OTHER;
}
