/**
 * Where a client is: its country and its network (autonomous system), from MaxMind-format
 * databases (GeoLite2, DB-IP Lite, IPtoASN... read with mmdb-lib, MIT), given with `--geoip
 * FILE` (a country or city database, an ASN database, or both). Without one, only the address
 * ranges that are no place are named: loopback, private, link-local, shared (CGNAT). Each
 * distinct address is looked up once and remembered (bounded).
 */
import * as fs from 'fs';
import { BlockList, isIP } from 'net';
import { Reader } from 'mmdb-lib';
import { memoized } from '../memo';
import { escapeControls } from '../protocol/sanitize';

/** What the databases say of an address. */
export interface Network {
  /** ISO 3166 code (`US`), a range's name (`private`, `loopback`…), or '' when unknown. */
  country: string;
  /** `AS15169`, a range's name, or ''. */
  asn: string;
  /** The autonomous system's organisation (`GOOGLE`), or ''. */
  org: string;
  /** The key the statistics count: country, asn, org joined by NETWORK_KEY_SEPARATOR. */
  key: string;
}

export const NETWORK_KEY_SEPARATOR = '\u0000';

/** Address ranges that are no country and no public network, named as such. */
const SPECIAL: Array<[string, string, number, 'ipv4' | 'ipv6']> = [
  ['loopback', '127.0.0.0', 8, 'ipv4'], ['loopback', '::1', 128, 'ipv6'],
  ['private', '10.0.0.0', 8, 'ipv4'], ['private', '172.16.0.0', 12, 'ipv4'], ['private', '192.168.0.0', 16, 'ipv4'], ['private', 'fc00::', 7, 'ipv6'],
  ['link-local', '169.254.0.0', 16, 'ipv4'], ['link-local', 'fe80::', 10, 'ipv6'],
  ['shared', '100.64.0.0', 10, 'ipv4'],
  ['documentation', '192.0.2.0', 24, 'ipv4'], ['documentation', '198.51.100.0', 24, 'ipv4'], ['documentation', '203.0.113.0', 24, 'ipv4'], ['documentation', '2001:db8::', 32, 'ipv6'],
];
const SPECIAL_LISTS: Array<[string, BlockList]> = [...new Set(SPECIAL.map(([name]) => name))].map((name) => {
  const list = new BlockList();
  for (const [n, ip, bits, type] of SPECIAL) if (n === name) list.addSubnet(ip, bits, type);
  return [name, list];
});

/** The names special ranges go by. */
export const SPECIAL_RANGE_NAMES: ReadonlySet<string> = new Set(SPECIAL.map(([name]) => name));

/** The name of a special range an address is in, or ''. */
export function specialRange(ip: string): string {
  const family = isIP(ip);
  if (family === 0) return '';
  // An IPv4 address written as IPv6 (::ffff:a.b.c.d) is the IPv4 address.
  const mapped = family === 6 && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip;
  const type = isIP(mapped) === 4 ? 'ipv4' : 'ipv6';
  for (const [name, list] of SPECIAL_LISTS) if (list.check(mapped, type)) return name;
  return '';
}

const MAPPED_V4 = /^::ffff:\d+\.\d+\.\d+\.\d+$/i;

/** Distinct addresses remembered, at most. */
const MAX_REMEMBERED = 16_384;

type Record_ = Record<string, unknown>;

/** A string of a database as wiretop shows it: escaped like any string from outside, bounded, a fresh copy. */
function text(value: unknown): string {
  return typeof value === 'string' ? escapeControls(value.length > 256 ? value.slice(0, 256) : value, 64) : '';
}

/** The country of a database record, whichever database's shape it has. */
function countryOf(record: Record_): string {
  const country = (record.country ?? record.registered_country) as Record_ | undefined;
  if (country !== undefined && typeof country === 'object') return text(country.iso_code);
  return text(record.country_code);
}

function asnOf(record: Record_): { asn: string; org: string } {
  const number = record.autonomous_system_number ?? record.asn;
  if (typeof number !== 'number' && typeof number !== 'string') return { asn: '', org: '' };
  const digits = String(number).replace(/^AS/i, '');
  return { asn: /^\d{1,10}$/.test(digits) ? `AS${digits}` : '', org: text(record.autonomous_system_organization ?? record.as_organization ?? record.organization) };
}

function network(country: string, asn: string, org: string): Network {
  return { country, asn, org, key: [country, asn, org].join(NETWORK_KEY_SEPARATOR) };
}

/** Looks addresses up in the databases (in the order given: the first to say a field says it). */
export class NetworkLookup {
  /** Each distinct address looked up once (an address longer than any IP is not remembered). */
  private readonly lookupMemo: (ip: string) => Network = memoized((ip) => this.lookupNew(ip), MAX_REMEMBERED, (ip) => ip.length <= 64);

  /** The network of an address; an IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is the IPv4 one. */
  lookup(ip: string): Network {
    return this.lookupMemo(MAPPED_V4.test(ip) ? ip.slice(ip.lastIndexOf(':') + 1) : ip);
  }

  constructor(private readonly readers: ReadonlyArray<Reader<Record_>>) {}

  /** Has it a database (else only special ranges are named)? */
  get enabled(): boolean {
    return this.readers.length > 0;
  }

  private lookupNew(ip: string): Network {
    const special = specialRange(ip);
    if (special !== '') return network(special, special, '');
    if (isIP(ip) === 0) return network('', '', '');
    let country = '';
    let asn = '';
    let org = '';
    for (const reader of this.readers) {
      let record: Record_ | null;
      try {
        record = reader.get(ip);
      } catch {
        record = null;
      }
      if (record === null || typeof record !== 'object') continue;
      if (country === '') country = countryOf(record);
      if (asn === '') ({ asn, org } = asnOf(record));
    }
    return network(country, asn, org);
  }
}

/** Opens the databases; throws an Error naming a file that is missing or not a MaxMind DB. */
export function openNetworkDatabases(files: readonly string[]): NetworkLookup {
  return new NetworkLookup(files.map((file) => {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (error) {
      throw new Error(`${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    try {
      return new Reader<Record_>(bytes);
    } catch {
      throw new Error(`${file}: not a MaxMind DB file (a .mmdb such as GeoLite2-Country.mmdb or dbip-country-lite.mmdb)`);
    }
  }));
}

let shared = new NetworkLookup([]);

/** Looks up with these databases from now on (the config's `geoip_files`). */
export function useNetworkDatabases(files: readonly string[]): void {
  shared = openNetworkDatabases(files);
}

/** The network of an address, by the run's databases. */
export function networkOf(ip: string): Network {
  return shared.lookup(ip);
}

/** Are databases loaded (the countries and networks panels show only then)? */
export function networksEnabled(): boolean {
  return shared.enabled;
}
