import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Ajv from 'ajv';
import { curlCommand, curlScript, shellQuote } from '../src/export/curl';
import { writeExport } from '../src/export/exportFile';
import { harEntry, harLog, queryOf, urlOf } from '../src/export/har';
import { HarFileWriter } from '../src/export/harFile';
import type { HttpEvent } from '../src/types';
import { harValidator } from './helpers/harSchema';

function event(overrides: Partial<HttpEvent> = {}): HttpEvent {
  return {
    ts: 1_700_000_000.25, src: '10.1.2.3', sport: 40000, dst: '192.168.0.10', dport: 80, method: 'GET', host: 'api.example.com',
    uri: '/a/b?x=1&y=two%20words&flag', section: '/a', status: 200, reqBytes: 0, respBytes: 1500, ua: 'curl/8.0', latencyMs: 12.5,
    version: '1.1', route: '/a/b', client: '10.1.2.3', uriTruncated: false,
    requestHeaders: 'Accept: */*\nAuthorization: present, not shown', responseHeaders: 'Content-Type: text/html; charset=utf-8\nLocation: /next',
    ...overrides,
  };
}

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretop-export-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

describe('HAR entries', () => {
  it('write the URL from scheme, host and a port that is not the default', () => {
    expect(urlOf(event())).toBe('http://api.example.com/a/b?x=1&y=two%20words&flag');
    expect(urlOf(event({ dport: 8080 }))).toBe('http://api.example.com:8080/a/b?x=1&y=two%20words&flag');
    expect(urlOf(event({ https: true, dport: 443 }))).toBe('https://api.example.com/a/b?x=1&y=two%20words&flag');
    expect(urlOf(event({ host: '::1', dport: 8443, https: true, uri: '/' }))).toBe('https://[::1]:8443/');
    expect(urlOf(event({ uri: 'http://proxied.example/x' }))).toBe('http://proxied.example/x');
  });

  it('decode the query where it decodes', () => {
    expect(queryOf('/a?x=1&y=two%20words&flag&bad=%E0%A4%A')).toEqual([
      { name: 'x', value: '1' }, { name: 'y', value: 'two words' }, { name: 'flag', value: '' }, { name: 'bad', value: '%E0%A4%A' },
    ]);
    expect(queryOf('/a')).toEqual([]);
  });

  it('carry headers, timings, sizes and addresses; secrets only as present', () => {
    const entry = harEntry(event());
    expect(entry.startedDateTime).toBe('2023-11-14T22:13:20.250Z');
    expect(entry.request.headers).toEqual([
      { name: 'Host', value: 'api.example.com' }, { name: 'Accept', value: '*/*' }, { name: 'Authorization', value: 'present, not shown' },
      { name: 'User-Agent', value: 'curl/8.0' },
    ]);
    expect(entry.response).toMatchObject({ status: 200, statusText: 'OK', redirectURL: '/next', content: { size: 1500, mimeType: 'text/html; charset=utf-8' } });
    expect(entry.timings).toMatchObject({ send: 0, wait: 12.5, receive: 0 });
    expect(entry.time).toBe(12.5);
    expect(entry).toMatchObject({ serverIPAddress: '192.168.0.10', connection: '10.1.2.3:40000', _client: '10.1.2.3' });
  });

  it('say an unanswered request as HAR says unknowns', () => {
    const entry = harEntry(event({ status: null, latencyMs: null, responseHeaders: '' }));
    expect(entry.response).toMatchObject({ status: 0, statusText: '', bodySize: -1, _error: expect.stringContaining('no response') });
    expect(entry.time).toBe(0);
  });

  it('pass the HAR 1.2 schema', () => {
    const validate = harValidator();
    const log = harLog([event(), event({ status: null, latencyMs: null }), event({ version: '2', https: true, sni: 'api.example.com', grpcMethod: 'p.S/M', grpcStatus: 5 })].map(harEntry), '0.1.0');
    expect(validate(log) ? [] : validate.errors).toEqual([]);
    // The check can fail: a HAR without its entries' timings is refused.
    const broken = JSON.parse(JSON.stringify(log));
    delete broken.log.entries[0].timings;
    expect(validate(broken)).toBe(false);
  });
});

describe('curl command lines', () => {
  /** The words a shell makes of the line (after `curl`), printed back one per line. */
  function wordsIn(shell: string, line: string): string[] {
    const { execFileSync } = require('child_process') as typeof import('child_process');
    return execFileSync(shell, ['-c', `printf '%s\n' ${line.replace(/^curl /, '')}`], { encoding: 'utf8' }).trimEnd().split('\n');
  }

  it('quote every word so that the shell gives back exactly what was captured', () => {
    expect(shellQuote("it's")).toBe(`'it'"'"'s'`);
    expect(shellQuote('a\\b')).toBe(`'a'"\\\\"'b'`);
    const hostile = event({
      uri: "/a?b='c'&d=$(id)`id`&e=[1-100000]{x,y}",
      requestHeaders: "Referer: x\\\nAccept: ;id;\\\nX-Note: it's $HOME\nAuthorization: present, not shown",
      ua: "ua'\\'; touch /tmp/pwned; '",
    });
    const { line, notes } = curlCommand(hostile);
    for (const shell of ['sh', 'bash']) {
      expect(wordsIn(shell, line)).toEqual([
        '-g', '--path-as-is', '--proto', '=http,https', '--connect-to', 'api.example.com:80:192.168.0.10:80',
        '-H', 'Referer: x\\', '-H', 'Accept: ;id;\\', '-H', "X-Note: it's $HOME",
        '-A', "ua'\\'; touch /tmp/pwned; '",
        "http://api.example.com/a?b='c'&d=$(id)`id`&e=[1-100000]{x,y}",
      ]);
    }
    expect(notes).toEqual(['the request had Authorization: not captured, add -H yourself']);
    expect(line).not.toContain('#');
  });

  it('send the same request to the captured server: method, HEAD, h2, bodies, odd hosts and schemes', () => {
    expect(curlCommand(event({ method: 'POST', reqBytes: 10 })).line).toMatch(/^curl -g --path-as-is --proto =http,https -X 'POST' .* --data-binary @body 'http:\/\/api\.example\.com\/a\/b/);
    expect(curlCommand(event({ method: 'POST', reqBytes: 10 })).notes).toContain('its 10-byte body was not captured: put one in ./body');
    expect(curlCommand(event({ method: 'HEAD' })).line).toContain(' -I ');
    expect(curlCommand(event({ version: '2', https: true, dport: 443 })).line).toContain(' --http2 ');
    expect(curlCommand(event({ version: '2' })).line).toContain(' --http2-prior-knowledge ');
    // A Host that is no plain host name: the captured server's address instead.
    expect(wordsIn('sh', curlCommand(event({ host: 'user@evil.example' })).line).pop()).toBe('http://192.168.0.10/a/b?x=1&y=two%20words&flag');
    // Only HTTP(S): an absolute-form gopher:// target is sent as a path to the captured server.
    expect(wordsIn('sh', curlCommand(event({ uri: 'gopher://127.0.0.1:6379/_FLUSHALL' })).line).pop()).toBe('http://api.example.com/');
    // A header that is not a token is left out; an empty value is sent as empty.
    const odd = curlCommand(event({ requestHeaders: '@/etc/passwd: x\nX-Empty: ' }));
    expect(wordsIn('sh', odd.line)).toContain('X-Empty;');
    expect(odd.line).not.toContain('passwd');
  });

  it('write a script with the notes as comments above the command', () => {
    const command = curlCommand(event({ reqBytes: 3 }));
    expect(curlScript(command)).toBe(`#!/bin/sh\n# the request had Authorization: not captured, add -H yourself\n# its 3-byte body was not captured: put one in ./body\n${command.line}\n`);
  });
});

describe('export files', () => {
  it('never overwrite: each export gets a new name', () => {
    const a = writeExport(dir, 1_700_000_000, 'har', 'one');
    const b = writeExport(dir, 1_700_000_000, 'har', 'two');
    expect(path.basename(a)).toBe('wiretop-20231114-221320.har');
    expect(path.basename(b)).toBe('wiretop-20231114-221320-1.har');
    expect(fs.readFileSync(a, 'utf8')).toBe('one');
    expect(fs.readdirSync(dir).sort()).toEqual(['wiretop-20231114-221320-1.har', 'wiretop-20231114-221320.har']);
  });

  it('fail with the reason when the directory is missing', () => {
    expect(() => writeExport(path.join(dir, 'none'), 0, 'har', 'x')).toThrow(/ENOENT/);
  });

  it('--har: streams entries, then puts the whole document in place; a failed run leaves nothing', () => {
    const file = path.join(dir, 'out.har');
    const writer = new HarFileWriter(file, '0.1.0', 'status = 5xx');
    for (let i = 0; i < 2000; i++) writer.add([event({ ts: 1_700_000_000 + i })]);
    expect(fs.existsSync(file)).toBe(false);
    expect(writer.finish()).toBe(`wiretop: wrote 2000 transactions to ${file} (HAR 1.2)`);
    const har = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(har.log.entries).toHaveLength(2000);
    expect(har.log.comment).toBe('transactions matching: status = 5xx');
    expect(harValidator()(har)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['out.har']);

    const failed = new HarFileWriter(path.join(dir, 'failed.har'), '0.1.0', null);
    failed.add([event()]);
    failed.abort();
    expect(fs.readdirSync(dir)).toEqual(['out.har']);
    expect(() => new HarFileWriter(path.join(dir, 'no/such/dir.har'), '0.1.0', null)).toThrow(/--har .*cannot write there \(ENOENT\)/);
    expect(Ajv).toBeDefined();
  });
});
