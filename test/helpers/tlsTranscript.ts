/**
 * Real TLS conversations for tests: a Node HTTPS server and client on 127.0.0.1 talk through a
 * relay that records each side's bytes in order (./relay); the client's key log lines are kept.
 * The recording becomes frames with `recordingFrames`, so a test has a capture of real TLS whose
 * requests are known from the client side.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as net from 'net';
import * as path from 'path';
import * as tls from 'tls';
import { tempDir } from './conversation';
import { Relay, type RecordedConnection } from './relay';

/** A self-signed certificate for `localhost` made with openssl (a test-time fixture, not a file in the repository). */
export function selfSignedCertificate(): { key: Buffer; cert: Buffer; dir: string } {
  const dir = tempDir();
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,DNS:shop.example.test,IP:127.0.0.1', '-days', '2', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert), dir };
}

/** What a recording session produced. */
export interface Recording {
  connections: RecordedConnection[];
  /** The client's key log (NSS format). */
  keyLog: string;
  /** What the client saw: status of each request, per connection, in order. */
  statuses: number[];
  /** What each connection negotiated, as the client saw it. */
  negotiated: Array<{ version: string; cipher: string; alpn: string; resumed: boolean }>;
}

export interface RecordOptions {
  maxVersion?: tls.SecureVersion;
  ciphers?: string;
  serverName?: string;
  alpn?: string[];
  /** Requests per connection (keep-alive); each is GET path with a body of bodyBytes in the answer. */
  requests: Array<{ method: string; path: string }>;
  /** Connections in a row; from the second one on, the first one's session is resumed. */
  connections?: number;
  bodyBytes?: number;
  /** What the server offers by ALPN (default http/1.1). With `h2`, no HTTP is sent: a few raw bytes each way. */
  serverAlpn?: string[];
  /** The server's key-exchange groups: `P-256` alone makes a TLS 1.3 server ask again (HelloRetryRequest) for the client's X25519 share. */
  serverEcdhCurve?: string;
}

/** Runs the conversations and returns what the relay recorded. */
export async function recordTls(credentials: { key: Buffer; cert: Buffer }, options: RecordOptions): Promise<Recording> {
  const body = 'x'.repeat(options.bodyBytes ?? 100);
  const server = https.createServer({ ...credentials, maxVersion: options.maxVersion, ALPNProtocols: options.serverAlpn ?? ['http/1.1'], ...(options.serverEcdhCurve !== undefined ? { ecdhCurve: options.serverEcdhCurve } : {}) }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'Content-Type': 'text/plain' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relay = await Relay.start((server.address() as net.AddressInfo).port);
  const relayPort = relay.port;
  const keyLines: string[] = [];
  const statuses: number[] = [];
  const negotiated: Recording['negotiated'] = [];
  let session: Buffer | undefined;
  const count = options.connections ?? 1;
  try {
    for (let c = 0; c < count; c++) {
      const socket = tls.connect({
        host: '127.0.0.1', port: relayPort, servername: options.serverName ?? 'localhost', rejectUnauthorized: false,
        maxVersion: options.maxVersion, ciphers: options.ciphers, ALPNProtocols: options.alpn ?? ['http/1.1'], session,
      });
      socket.on('keylog', (line) => keyLines.push(line.toString('latin1')));
      socket.on('session', (s: Buffer) => { session ??= s; });
      await new Promise<void>((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject); });
      const protocol = socket.getProtocol() ?? '';
      negotiated.push({ version: protocol.replace('TLSv', 'TLS '), cipher: socket.getCipher().standardName, alpn: socket.alpnProtocol || '', resumed: socket.isSessionReused() });
      if (socket.alpnProtocol === 'h2') {
        // Not HTTP/1: the connection is only to be named h2, so a few bytes each way do.
        socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
        await new Promise((resolve) => setTimeout(resolve, 30));
        socket.destroy();
        await new Promise((resolve) => setTimeout(resolve, 30));
        continue;
      }
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      // One socket, requests one after another on it.
      (agent as unknown as { createConnection: () => tls.TLSSocket }).createConnection = () => socket;
      for (const request of options.requests) {
        statuses.push(await new Promise<number>((resolve, reject) => {
          const req = https.request({ agent, method: request.method, path: request.path, headers: { Host: options.serverName ?? 'localhost' } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end();
        }));
      }
      socket.end();
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
      agent.destroy();
      // Let the relay pass the last bytes (and the session ticket) before the next connection.
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  } finally {
    await relay.close();
    server.close();
  }
  return { connections: relay.connections, keyLog: keyLines.join(''), statuses, negotiated };
}
