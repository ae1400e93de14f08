/**
 * Live capture on the loopback interface, as root: a local HTTP server, a known number of
 * requests (keep-alive and pipelined), exactly that many transactions, then a clean stop.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import type { AddressInfo } from 'net';
import type { HttpEvent } from '../src/types';
import { repoRoot } from './helpers/corpus';

const ROOT = repoRoot();
const canCapture = process.getuid?.() === 0 && fs.existsSync(path.join(ROOT, 'node_modules/pcap/build/Release/pcap_binding.node'));
const describeLive = canCapture ? describe : describe.skip;

function startServer(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let body = 0;
    req.on('data', (chunk: Buffer) => { body += chunk.length; });
    req.on('end', () => {
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'Content-Type': 'text/plain' });
      res.end(`you sent ${body} bytes to ${req.url}`);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function waitForLine(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no "${pattern}" on stderr: ${text}`)), 15000);
    child.stderr.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) { clearTimeout(timer); resolve(); }
    });
  });
}

function get(port: number, agent: http.Agent, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: url, agent, headers: { 'User-Agent': 'live-test' } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    }).on('error', reject);
  });
}

function pipelined(port: number, urls: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(urls.map((u) => `GET ${u} HTTP/1.1\r\nHost: pipelined.test\r\n\r\n`).join(''));
    });
    let seen = '';
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if ((seen.match(/HTTP\/1\.1 /g) ?? []).length === urls.length) socket.end();
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

describeLive('live capture on lo', () => {
  let server: http.Server;
  beforeAll(async () => { server = await startServer(); });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sees every request sent, keep-alive and pipelined, then stops cleanly', async () => {
    const port = (server.address() as AddressInfo).port;
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/wiretop'), '-i', 'lo', '-p', String(port), '--ndjson']);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitForLine(child, /listening on lo/);

    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      const url = i % 5 === 4 ? '/missing' : `/items/${i}`;
      sent.push(url);
      await get(port, agent, url);
    }
    agent.destroy();
    const piped = ['/p/1', '/p/2', '/p/3'];
    await pipelined(port, piped);
    sent.push(...piped);

    // Wait until every transaction has come through (bounded), then stop with SIGINT.
    for (let tries = 0; tries < 100 && out.split('\n').filter(Boolean).length < sent.length; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(0);

    const events = out.split('\n').filter(Boolean).map((line) => JSON.parse(line) as HttpEvent);
    expect(events).toHaveLength(sent.length);
    expect(events.map((e) => e.uri).sort()).toEqual([...sent].sort());
    expect(events.filter((e) => e.status === 404)).toHaveLength(4);
    expect(events.filter((e) => e.host === 'pipelined.test').map((e) => e.uri)).toEqual(piped);
    expect(new Set(events.filter((e) => e.ua === 'live-test').map((e) => e.sport)).size).toBeLessThanOrEqual(2);
  });
});
