/**
 * The filter in every headless mode, and HAR out of wiretop as users run it: bin/wiretop's
 * `--where` gives the same transactions in --ndjson, --report, --text and --metrics as the
 * filter does in-process; `--har` files and the dashboard's `x` exports (in tmux) pass the HAR
 * 1.2 schema and load in Chrome DevTools' own HAR importer (headless Chromium); `c` copies a
 * transaction as curl through the terminal's clipboard.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { harEntry, harLog, urlOf } from '../src/export/har';
import { compileFilter } from '../src/filter/filter';
import type { HttpEvent } from '../src/types';
import { CORPUS, runPipelineOnFile, zeekCases } from './helpers/corpus';
import { chromiumAvailable, importHarsInDevTools } from './helpers/devtoolsHar';
import { harValidator } from './helpers/harSchema';
import { runWiretop, WIRETOP } from './helpers/runCli';
import { TmuxSession, tmuxAvailable } from './helpers/tmux';
import { freePort } from './helpers/ports';

const WIKIPEDIA = path.join(CORPUS, 'zeek/traces/wikipedia.pcap');
const WHERE = 'host = *.wikimedia.org and status = 3xx and path ~ "\\.png$"';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretop-har-'));
  // A root run gives its privileges up to `nobody`, who must be able to write here.
  fs.chmodSync(dir, 0o777);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function expected(file: string, where: string): HttpEvent[] {
  const { matches } = compileFilter(where);
  return runPipelineOnFile(file).events.filter(matches);
}

/** A pcap record (of the file's byte order) of a bare ARP frame, `seconds` after the file's last packet. */
function laterFrame(file: string, seconds: number): Buffer {
  const data = fs.readFileSync(file);
  const little = data.readUInt32LE(0) === 0xa1b2c3d4;
  let last = 0;
  for (let at = 24; at + 16 <= data.length;) {
    last = little ? data.readUInt32LE(at) : data.readUInt32BE(at);
    at += 16 + (little ? data.readUInt32LE(at + 8) : data.readUInt32BE(at + 8));
  }
  const frame = Buffer.alloc(14 + 28);
  frame.writeUInt16BE(0x0806, 12);
  const record = Buffer.alloc(16);
  const put = (value: number, offset: number) => (little ? record.writeUInt32LE(value, offset) : record.writeUInt32BE(value, offset));
  put(last + seconds, 0);
  put(0, 4);
  put(frame.length, 8);
  put(frame.length, 12);
  return Buffer.concat([record, frame]);
}

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('--where in every headless mode', () => {
  const want = expected(WIKIPEDIA, WHERE);

  it('selects some transactions and leaves others', () => {
    expect(want.length).toBeGreaterThan(2);
    expect(want.length).toBeLessThan(runPipelineOnFile(WIKIPEDIA).events.length);
  });

  it('--ndjson: the same transactions, in order', async () => {
    const result = await runWiretop(['-r', WIKIPEDIA, '--ndjson', '--where', WHERE]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as HttpEvent);
    expect(lines.map((e) => [e.ts, e.uri, e.status])).toEqual(want.map((e) => [e.ts, e.uri, e.status]));
  });

  it('--report json and text: counts of what it matches, and the filter said', async () => {
    const json = await runWiretop(['-r', WIKIPEDIA, '--report', 'json', '--where', WHERE]);
    const report = JSON.parse(json.stdout) as { requests: number; where: string; statusClasses: Record<string, number> };
    expect(report).toMatchObject({ requests: want.length, where: WHERE });
    expect(report.statusClasses['3xx']).toBe(want.length);
    const text = await runWiretop(['-r', WIKIPEDIA, '--report', '--where', WHERE]);
    expect(text.stdout).toContain(`  where       ${WHERE} (only the transactions it matches are counted)`);
    expect(text.stdout).toMatch(new RegExp(`requests +${want.length} `));
  });

  it('--text: the summary counts what it matches, and says the filter', async () => {
    const result = await runWiretop(['-r', WIKIPEDIA, '--text', '--where', WHERE]);
    const counted = [...result.stdout.matchAll(/ {2}(\d+) req/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(counted).toBe(want.length);
    expect(result.stdout).toContain(`  where:    ${WHERE}`);
  });

  it('--metrics: the exporter counts what it matches', async () => {
    const port = await freePort();
    // Played at its own pace, with one frame a minute after its last (ARP, not counted): the exporter serves the counts meanwhile.
    const file = path.join(dir, 'longer.pcap');
    fs.writeFileSync(file, Buffer.concat([fs.readFileSync(WIKIPEDIA), laterFrame(WIKIPEDIA, 60)]));
    const wiretop = spawn(WIRETOP, ['-r', file, '--speed', '1', '--metrics', String(port), '--where', WHERE], { stdio: 'ignore' });
    try {
      let total = -1;
      for (let i = 0; i < 200 && total !== want.length; i++) {
        const text = await scrape(port).catch(() => '');
        total = [...text.matchAll(/^wiretop_http_requests_total(?:\{[^}]*\})? (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
        if (total !== want.length) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(total).toBe(want.length);
    } finally {
      wiretop.kill('SIGTERM');
      await new Promise((resolve) => wiretop.once('exit', resolve));
    }
  });

  it('a bad expression is one line naming the token, exit 1, and no HAR left behind', async () => {
    const har = path.join(dir, 'never.har');
    const result = await runWiretop(['-r', WIKIPEDIA, '--report', '--har', har, '--where', 'status >= 5xx and latncy > 1s']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^wiretop: --where: unknown field "latncy" at column 19 \(fields: method, host, /)]);
    expect(fs.readdirSync(dir).filter((f) => f.includes('never'))).toEqual([]);
  });
});

describe('who and where through bin/wiretop', () => {
  it('--geoip names the countries and networks, --where filters by them and by the visitor category', async () => {
    const { writeMmdb } = require('./fixtures/mmdbWriter') as typeof import('./fixtures/mmdbWriter');
    const db = path.join(dir, 'geo.mmdb');
    fs.writeFileSync(db, writeMmdb('GeoLite2-Country', [['141.142.0.0/16', { country: { iso_code: 'US' }, autonomous_system_number: 1224, autonomous_system_organization: 'NCSA-AS' }]]));
    const all = runPipelineOnFile(WIKIPEDIA).events.length;
    const result = await runWiretop(['-r', WIKIPEDIA, '--report', 'json', '--geoip', db, '--where', 'country = US and asn = AS1224 and category = human']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { requests: number; networks: { countries: Array<{ key: string; hits: number }> }; visitors: { browsers: Array<{ key: string }> } };
    expect(report.requests).toBe(all);
    expect(report.networks.countries).toEqual([expect.objectContaining({ key: 'US', hits: all })]);
    expect(report.visitors.browsers[0].key).toBe('Firefox 3');
    const ndjson = await runWiretop(['-r', WIKIPEDIA, '--ndjson', '--geoip', db]);
    expect(JSON.parse(ndjson.stdout.split('\n')[0])).toMatchObject({ country: 'US', asn: 'AS1224', category: 'human', agent: 'Firefox' });
    const bad = await runWiretop(['-r', WIKIPEDIA, '--report', '--geoip', path.join(dir, 'nope.mmdb')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/"geoip_files": .*nope\.mmdb: ENOENT/)]);
  });
});

const browser = chromiumAvailable() ? describe : describe.skip;

describe('HAR files', () => {
  const validate = harValidator();

  it('--har writes the transactions --where selects, with every header captured, valid HAR 1.2', async () => {
    const file = path.join(dir, 'file-run.har');
    const result = await runWiretop(['-r', WIKIPEDIA, '--report', 'json', '--har', file, '--where', WHERE]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`wrote ${expected(WIKIPEDIA, WHERE).length} transactions to ${file} (HAR 1.2)`);
    const har = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(validate(har) ? [] : validate.errors).toEqual([]);
    const want = expected(WIKIPEDIA, WHERE);
    expect(har.log.entries.map((e: { request: { url: string } }) => e.request.url)).toEqual(want.map(urlOf));
    // Every header of the request is there, not only the detail's few: Firefox's Accept-Language, Keep-Alive...
    const names = har.log.entries[0].request.headers.map((h: { name: string }) => h.name);
    expect(names).toEqual(expect.arrayContaining(['Host', 'Accept', 'Accept-Language', 'Accept-Encoding', 'Keep-Alive', 'Referer', 'User-Agent']));
  });

  it('every held-out capture exports as valid HAR 1.2', () => {
    for (const c of zeekCases()) {
      const har = harLog(runPipelineOnFile(c.trace).events.map(harEntry), '0.1.0');
      if (!validate(har)) throw new Error(`${path.basename(c.trace)}: ${JSON.stringify(validate.errors)}`);
    }
  });

  browser('in Chrome DevTools\' HAR import (headless Chromium)', () => {
    it('loads the --har file and every held-out capture\'s HAR, request by request', async () => {
      const cases = zeekCases();
      const hars = cases.map((c) => harLog(runPipelineOnFile(c.trace).events.map(harEntry), '0.1.0'));
      const file = fs.readFileSync(path.join(dir, 'file-run.har'));
      const imported = await importHarsInDevTools([file, ...hars.map((har) => JSON.stringify(har))], { timeoutMs: 120_000 });
      const all = [JSON.parse(file.toString('utf8')), ...hars];
      imported.forEach((result, i) => {
        expect(result.error).toBeNull();
        const entries = all[i].log.entries as Array<{ request: { url: string; method: string; headers: unknown[] }; response: { status: number } }>;
        expect(result.requests.map((r) => [r.url, r.method, r.status])).toEqual(entries.map((e) => [e.request.url, e.request.method, e.response.status]));
        expect(result.requests.map((r) => r.requestHeaders)).toEqual(entries.map((e) => e.request.headers.length));
      });
    }, 180_000);
  });

  (tmuxAvailable() ? it : it.skip)('the dashboard writes a list (x), one transaction (x on it) and copies it as curl (c)', async () => {
    const exportDir = path.join(dir, 'dashboard');
    fs.mkdirSync(exportDir, { mode: 0o777 });
    fs.chmodSync(exportDir, 0o777);
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ export_dir: exportDir, views: [{ name: 'images', where: 'path ~ "\\.(png|jpg)$"' }] }));
    const tmux = new TmuxSession(`${WIRETOP} -r ${WIKIPEDIA} --config ${config} --where 'status = 304'`, 120, 40);
    tmux.acceptClipboard();
    try {
      await tmux.waitFor(/filter: status = 304/);
      tmux.keys('v');
      // The file plays at its own pace in the dashboard: its images are listed once they have come.
      await tmux.waitFor(/\/wikipedia +12 [^]*view images: path ~/);
      tmux.keys('t');
      await tmux.waitFor(/Transactions of/);
      tmux.keys('x');
      const listLine = await tmux.waitFor(/wrote \d+ transactions to \S+\.har/);
      const listFile = /wrote (\d+) transactions to (\S+\.har)/.exec(listLine)!;
      tmux.keys('Enter');
      await tmux.waitFor(/Esc back to the list/);
      tmux.keys('x');
      const oneLine = await tmux.waitFor(/wrote 1 transaction to \S+\.har/);
      const oneFile = /wrote 1 transaction to (\S+\.har)/.exec(oneLine)![1];
      tmux.keys('c');
      await tmux.waitFor(/copied as curl/);
      const list = JSON.parse(fs.readFileSync(listFile[2], 'utf8'));
      const one = JSON.parse(fs.readFileSync(oneFile, 'utf8'));
      expect(list.log.entries).toHaveLength(Number(listFile[1]));
      expect(list.log.comment).toContain('filter: path ~');
      expect(one.log.entries).toHaveLength(1);
      for (const har of [list, one]) expect(validate(har) ? [] : validate.errors).toEqual([]);
      expect(tmux.pasteBuffer()).toBe(`curl ${tmux.pasteBuffer().slice(5)}`);
      expect(tmux.pasteBuffer()).toContain(`'${one.log.entries[0].request.url}'`);
      const curlFile = fs.readdirSync(exportDir).find((f) => f.endsWith('.sh'))!;
      expect(fs.readFileSync(path.join(exportDir, curlFile), 'utf8').endsWith(`\n${tmux.pasteBuffer()}\n`)).toBe(true);
      if (chromiumAvailable()) {
        const imported = await importHarsInDevTools([JSON.stringify(list), JSON.stringify(one)], { timeoutMs: 60_000 });
        expect(imported.map((r) => r.error)).toEqual([null, null]);
        expect(imported[0].requests.map((r) => r.url)).toEqual(list.log.entries.map((e: { request: { url: string } }) => e.request.url));
      }
    } finally {
      tmux.kill();
    }
  }, 120_000);
});
