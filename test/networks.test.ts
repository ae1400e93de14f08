/** Countries and networks from MaxMind-format databases (written here by test/fixtures/mmdbWriter.ts), in every output. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { defaultConfig, type Config } from '../src/config';
import { compileFilter } from '../src/filter/filter';
import { RunState } from '../src/run/runState';
import { loadConfig } from '../src/settings';
import { MetricsSink } from '../src/sinks/metrics';
import { eventLine, lineFields } from '../src/sinks/ndjson';
import { buildReport } from '../src/sinks/report';
import { networkOf, networksEnabled, specialRange, useNetworkDatabases } from '../src/stats/networks';
import { dashboardPanels } from '../widgets/panels';
import { Dashboard } from '../widgets/dashboard';
import { writeMmdb } from './fixtures/mmdbWriter';
import { httpEvent } from './helpers/events';
import { fakeScreen } from './helpers/fakeScreen';
import { manualClock } from './helpers/manualClock';

let dir: string;
let countryDb: string;
let asnDb: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretop-geo-'));
  countryDb = path.join(dir, 'country.mmdb');
  asnDb = path.join(dir, 'asn.mmdb');
  // GeoLite2-Country's shape, and GeoLite2-ASN's.
  fs.writeFileSync(countryDb, writeMmdb('GeoLite2-Country', [
    ['81.2.69.0/24', { country: { iso_code: 'GB', names: { en: 'United Kingdom' } } }],
    ['81.2.69.160/27', { country: { iso_code: 'IE' } }],
    ['2a02:cf40::/29', { country: { iso_code: 'NO' } }],
    ['141.142.0.0/16', { registered_country: { iso_code: 'US' } }],
  ]));
  fs.writeFileSync(asnDb, writeMmdb('GeoLite2-ASN', [
    ['81.2.69.0/24', { autonomous_system_number: 20712, autonomous_system_organization: 'Andrews & Arnold Ltd' }],
    ['141.142.0.0/16', { autonomous_system_number: 1224, autonomous_system_organization: 'NCSA-AS' }],
  ]));
});

afterAll(() => {
  useNetworkDatabases([]);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('where the clients are', () => {
  it('names special ranges without any database', () => {
    useNetworkDatabases([]);
    expect(networksEnabled()).toBe(false);
    expect(['127.0.0.1', '::1', '10.1.2.3', '172.20.0.1', '192.168.1.1', 'fd00::1', '169.254.1.1', 'fe80::1', '100.64.0.1', '::ffff:10.0.0.1', '8.8.8.8', 'not an ip'].map(specialRange))
      .toEqual(['loopback', 'loopback', 'private', 'private', 'private', 'private', 'link-local', 'link-local', 'shared', 'private', '', '']);
    expect(networkOf('10.0.0.1')).toMatchObject({ country: 'private', asn: 'private' });
    expect(networkOf('81.2.69.1')).toMatchObject({ country: '', asn: '' });
  });

  it('looks addresses up in a country and an ASN database together, the most specific network first', () => {
    useNetworkDatabases([countryDb, asnDb]);
    expect(networksEnabled()).toBe(true);
    expect(networkOf('81.2.69.1')).toMatchObject({ country: 'GB', asn: 'AS20712', org: 'Andrews & Arnold Ltd' });
    expect(networkOf('81.2.69.170')).toMatchObject({ country: 'IE', asn: 'AS20712' });
    expect(networkOf('2a02:cf40::1')).toMatchObject({ country: 'NO', asn: '' });
    expect(networkOf('141.142.220.118')).toMatchObject({ country: 'US', asn: 'AS1224', org: 'NCSA-AS' });
    expect(networkOf('8.8.8.8')).toMatchObject({ country: '', asn: '' });
    expect(networkOf('127.0.0.1')).toMatchObject({ country: 'loopback' });
    // An IPv4 address written as IPv6 is the IPv4 one.
    expect(networkOf('::ffff:81.2.69.1')).toMatchObject({ country: 'GB', asn: 'AS20712' });
  });

  it('a config file\'s database paths are found beside it, from wherever wiretop starts', () => {
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ geoip_files: ['country.mmdb'] }));
    expect(loadConfig(config, {}).geoip_files).toEqual([countryDb]);
    useNetworkDatabases([countryDb, asnDb]);
  });

  it('a database that cannot be read is one line at start, naming the file', () => {
    const junk = path.join(dir, 'junk.mmdb');
    fs.writeFileSync(junk, 'not a database');
    expect(() => loadConfig(undefined, { geoip_files: [junk] } as Partial<Config>)).toThrow(/"geoip_files": .*junk\.mmdb: not a MaxMind DB file/);
    expect(() => loadConfig(undefined, { geoip_files: [path.join(dir, 'missing.mmdb')] } as Partial<Config>)).toThrow(/missing\.mmdb: ENOENT/);
    useNetworkDatabases([countryDb, asnDb]);
  });
});

describe('countries and networks in every output', () => {
  const T0 = 1_700_000_000;
  const clients = ['81.2.69.1', '81.2.69.2', '81.2.69.170', '141.142.220.118', '10.0.0.5', '8.8.8.8'];
  const events = () => clients.map((client, i) => httpEvent(T0 + i / 10, { client, src: client, respBytes: 10 }));

  it('filter fields country, asn, asn_org; report; ndjson; metrics', async () => {
    useNetworkDatabases([countryDb, asnDb]);
    const all = events();
    const picked = (where: string) => all.filter(compileFilter(where).matches).map((e) => e.client);
    expect(picked('country = gb')).toEqual(['81.2.69.1', '81.2.69.2']);
    expect(picked('country in (GB, IE)')).toEqual(['81.2.69.1', '81.2.69.2', '81.2.69.170']);
    expect(picked('asn = AS1224')).toEqual(['141.142.220.118']);
    expect(picked('asn_org ~ (?i)arnold')).toEqual(['81.2.69.1', '81.2.69.2', '81.2.69.170']);
    expect(picked('country = private')).toEqual(['10.0.0.5']);
    expect(picked('country = ""')).toEqual(['8.8.8.8']);

    const run = new RunState(defaultConfig(), 'test');
    run.ingest(all);
    run.advanceTo(T0 + 5);
    const report = buildReport(run);
    expect(report.networks!.countries.map((r) => [r.key, r.hits])).toEqual([['GB', 2], ['IE', 1], ['private', 1], ['unknown', 1], ['US', 1]]);
    expect(report.networks!.networks.map((r) => [r.key, r.hits])).toEqual([['AS20712 Andrews & Arnold Ltd', 3], ['AS1224 NCSA-AS', 1], ['private', 1], ['unknown', 1]]);

    expect(JSON.parse(eventLine(all[0]))).toMatchObject({ country: 'GB', asn: 'AS20712' });
    expect(eventLine(all[0])).toBe(`${JSON.stringify(lineFields(all[0]))}\n`);

    const metrics = new MetricsSink(run, 20);
    metrics.onEvents(all);
    const values = (await metrics.registry.getSingleMetric('wiretop_http_requests_by_country_total')!.get()).values;
    expect(Object.fromEntries(values.map((v) => [v.labels.country, v.value]))).toEqual({ GB: 2, IE: 1, US: 1, private: 1, unknown: 1 });
    metrics.stop();
  });

  it('the dashboard has a countries and networks panel only with a database; t lists a country\'s transactions', () => {
    useNetworkDatabases([]);
    expect(dashboardPanels([]).map((p) => p.id)).not.toContain('networks');
    useNetworkDatabases([countryDb, asnDb]);
    expect(dashboardPanels([]).map((p) => p.id)).toContain('networks');
    const run = new RunState(defaultConfig(), 'test');
    const dashboard = new Dashboard({ run, screen: fakeScreen(120, 40), onQuit: () => undefined, color: false, clock: manualClock() });
    const all = events();
    run.ingest(all);
    dashboard.observe(all);
    run.advanceTo(T0 + 5);
    for (let i = 0; i < 20 && dashboard.focused.id !== 'networks'; i++) dashboard.handle('focusNext');
    dashboard.render();
    const screen = dashboard.drawnText().join('\n');
    // GB, IE, US; the private and unknown rows are no countries, nor networks.
    expect(screen).toMatch(/3 countries, 2 networks/);
    expect(screen).toMatch(/GB +2 +33\.3%/);
    expect(screen).toMatch(/AS20712 Andre/);
    dashboard.handle('transactions');
    dashboard.render();
    expect(dashboard.drawnText().join('\n')).toMatch(/Transactions of GB: 2/);
    dashboard.destroy();
  });
});
