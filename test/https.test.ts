/**
 * HTTPS end to end through bin/wiretop: a recorded TLS capture read with and without its key
 * log (--ndjson, --report json, the key log's errors), and live on lo as root: curl with
 * SSLKEYLOGFILE against a Node HTTPS server, TLS 1.2 and 1.3, the key log followed as curl
 * writes it, every request decrypted.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import type { AddressInfo } from 'net';
import type { HttpEvent, TlsConnection } from '../src/types';
import { repoRoot } from './helpers/corpus';
import { tempDir, writePcap } from './helpers/conversation';
import { runProcess, runWiretop, startWiretop, WIRETOP } from './helpers/runCli';
import { TmuxSession, tmuxAvailable } from './helpers/tmux';
import { recordingFrames } from './helpers/relay';
import { recordTls, selfSignedCertificate } from './helpers/tlsTranscript';

const ROOT = repoRoot();
const credentials = selfSignedCertificate();
const canCapture = process.getuid?.() === 0 && fs.existsSync(path.join(ROOT, 'node_modules/pcap/build/Release/pcap_binding.node'));
const hasCurl = spawnSync('curl', ['--version']).status === 0;

type Line = (HttpEvent & { kind?: undefined }) | (TlsConnection & { kind: 'tls' });

function lines(text: string): Line[] {
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Line);
}

describe('HTTPS from a capture file', () => {
  const dir = tempDir();
  const pcap = path.join(dir, 'tls.pcap');
  const keys = path.join(dir, 'keys.log');
  beforeAll(async () => {
    const recording = await recordTls(credentials, {
      maxVersion: 'TLSv1.3', serverName: 'shop.example.test', connections: 2,
      requests: [{ method: 'GET', path: '/a' }, { method: 'GET', path: '/missing' }],
    });
    writePcap(pcap, recordingFrames(recording));
    fs.writeFileSync(keys, recording.keyLog, { mode: 0o600 });
  });

  it('--ndjson: a kind:tls line per connection; with --keylog, the requests too, marked https', async () => {
    const plain = await runWiretop(['-r', pcap, '--ndjson']);
    expect(plain.code).toBe(0);
    const tlsOnly = lines(plain.stdout);
    expect(tlsOnly.map((l) => [l.kind, (l as TlsConnection).serverName, (l as TlsConnection).decrypted])).toEqual([['tls', 'shop.example.test', false], ['tls', 'shop.example.test', false]]);

    const decrypted = await runWiretop(['-r', pcap, '--ndjson', '--keylog', keys]);
    expect(decrypted.code).toBe(0);
    expect(decrypted.stderr).toBe('');
    const all = lines(decrypted.stdout);
    const events = all.filter((l): l is HttpEvent & { kind?: undefined } => l.kind === undefined);
    expect(events.map((e) => [e.method, e.uri, e.status, e.https])).toEqual([['GET', '/a', 200, true], ['GET', '/missing', 404, true], ['GET', '/a', 200, true], ['GET', '/missing', 404, true]]);
    expect(all.filter((l) => l.kind === 'tls').map((l) => (l as TlsConnection).requests)).toEqual([2, 2]);
  });

  it('--report json: TLS counted apart from the requests', async () => {
    const result = await runWiretop(['-r', pcap, '--report', 'json', '--keylog', keys]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.requests).toBe(4);
    expect(report.tls).toMatchObject({ connections: 2, decrypted: 2, decryptedRequests: 4, http2: 0, versions: [{ version: 'TLS 1.3', connections: 2 }] });
    expect(report.tls.serverNames[0]).toMatchObject({ serverName: 'shop.example.test', connections: 2, version: 'TLS 1.3', alpn: 'http/1.1' });
    expect(report.capture).toMatchObject({ tlsFlows: 2, tlsDecrypted: 2, nonHttpFlows: 0 });
    const text = await runWiretop(['-r', pcap, '--report']);
    expect(text.stdout).toMatch(/TLS connections: 2, HTTP\/2 0/);
    expect(text.stdout).toMatch(/shop\.example\.test +2 .* TLS 1\.3/);
  });

  (tmuxAvailable() ? it : it.skip)('the dashboard in tmux: the TLS panel in the domains\' place, Enter on a name, t on it lists https:// requests', async () => {
    const tui = new TmuxSession(`${WIRETOP} -r ${pcap} --keylog ${keys} --speed 0`, 100, 30);
    try {
      await tui.waitFor(/\(ended\)/);
      tui.keys('w', 'w', 'w'); // the whole capture: window "all"
      tui.keys('Tab', 'Tab', 'Tab');
      let screen = await tui.waitFor(/▶ TLS server names \(all\), 2 decrypted/);
      expect(screen).toMatch(/shop\.example\.te\S*\s+2\s+\S+\s+TLS 1\.3\s+http\/1\.1/);
      tui.keys('Enter');
      screen = await tui.waitFor(/▶ TLS clients of shop\.example\.test/);
      expect(screen).toMatch(/10\.0\.0\.1\s+2/);
      tui.keys('Escape');
      await tui.waitFor(/▶ TLS server names/);
      tui.keys('t');
      screen = await tui.waitFor(/Transactions of shop\.example\.test: 4/);
      expect(screen).toMatch(/https:\/\/shop\.example\.test\/missing\s+404/);
    } finally {
      tui.kill();
    }
  });

  it('a key log that cannot be read is one line and exit 1; one others can read is a warning', async () => {
    const missing = await runWiretop(['-r', pcap, '--report', 'json', '--keylog', path.join(dir, 'nope.log')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/--keylog .*nope\.log: cannot be read \(ENOENT\); create it first/);
    const open = path.join(dir, 'open.log');
    fs.copyFileSync(keys, open);
    fs.chmodSync(open, 0o644);
    const warned = await runWiretop(['-r', pcap, '--report', 'json', '--keylog', open]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(/other users can read these TLS secrets; chmod 600 it/);
    // Secrets are never echoed.
    expect(warned.stderr + warned.stdout).not.toMatch(/[0-9a-f]{64}/);
  });
});

(canCapture && hasCurl ? describe : describe.skip)('HTTPS live on lo', () => {
  let server: https.Server;
  beforeAll(async () => {
    server = https.createServer({ ...credentials }, (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(req.url === '/missing' ? 404 : 200, { 'Content-Type': 'text/plain' });
        res.end(`secret page ${req.url}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('curl with SSLKEYLOGFILE, TLS 1.2 and 1.3, keep-alive: every request decrypted, the key log followed as it grows', async () => {
    const port = (server.address() as AddressInfo).port;
    const dir = tempDir();
    const keyLog = path.join(dir, 'sslkeys.log');
    fs.writeFileSync(keyLog, '', { mode: 0o600 });
    const wiretop = startWiretop(['-i', 'lo', '-p', String(port), '--ndjson', '--keylog', keyLog]);
    await wiretop.waitFor({ stderr: /listening on lo/ });
    const urls = ['/one', '/two', '/missing', '/four'].map((p) => `https://shop.example.test:${port}${p}`);
    const sent: string[] = [];
    for (const version of [['--tlsv1.2', '--tls-max', '1.2'], ['--tlsv1.3']]) {
      // curl runs beside this process (the server answers from its event loop): spawn, not spawnSync.
      const curl = await runProcess('curl', ['-sk', '--http1.1', ...version, '--resolve', `shop.example.test:${port}:127.0.0.1`, ...urls.flatMap((u) => [u, '-o', '/dev/null'])],
        { env: { SSLKEYLOGFILE: keyLog }, timeoutMs: 20000 });
      expect(curl.code).toBe(0);
      sent.push('/one', '/two', '/missing', '/four');
    }
    for (let tries = 0; tries < 100 && lines(wiretop.output().stdout).filter((l) => l.kind === 'tls').length < 2; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
    wiretop.child.kill('SIGINT');
    const { code, stdout } = await wiretop.exited;
    expect(code).toBe(0);
    const all = lines(stdout);
    const events = all.filter((l): l is HttpEvent & { kind?: undefined } => l.kind === undefined);
    expect(events.map((e) => e.uri)).toEqual(sent);
    expect(events.every((e) => e.https === true && e.host === 'shop.example.test' && e.latencyMs !== null)).toBe(true);
    expect(events.filter((e) => e.status === 404)).toHaveLength(2);
    const connections = all.filter((l) => l.kind === 'tls') as TlsConnection[];
    expect(connections.map((c) => [c.serverName, c.version, c.decrypted, c.requests])).toEqual([
      ['shop.example.test', 'TLS 1.2', true, 4], ['shop.example.test', 'TLS 1.3', true, 4],
    ]);
  });
});
