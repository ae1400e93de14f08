/** TLS handshake metadata: ClientHello and ServerHello, split anyhow, real and hostile. */
import * as net from 'net';
import * as tls from 'tls';
import { HELLO, HelloCollector, looksLikeTls, parseClientHello, parseServerHello } from '../src/tls/handshake';
import { seededRandom } from '../src/capture/sources/demo/traffic';
import { extension, handshakeRecords, u16, vec16 } from '../src/capture/sources/demo/tlsBuilders';
import { clientHello } from './helpers/tlsHello';


describe('TLS hellos', () => {
  it('read the server name, ALPN and versions of a ClientHello, over many records and segments, GREASE left out', () => {
    const message = clientHello('Shop.Example.COM', ['h2', 'http/1.1'], [0x3a3a, 0x0304, 0x0303]);
    const stream = handshakeRecords(message, 40);
    expect(looksLikeTls(stream)).toBe(true);
    const collector = new HelloCollector();
    let result: ReturnType<HelloCollector['push']> = null;
    for (let at = 0; at < stream.length && result === null; at += 7) result = collector.push(stream.subarray(at, at + 7));
    expect(result).not.toBe(false);
    const hello = result as { type: number; body: Buffer };
    expect(hello.type).toBe(HELLO.CLIENT);
    expect(parseClientHello(hello.body)).toMatchObject({ serverName: 'shop.example.com', alpn: ['h2', 'http/1.1'], versions: ['TLS 1.3', 'TLS 1.2'] });
  });

  it('read the version, cipher suite and ALPN a ServerHello chose', () => {
    const extensions = Buffer.concat([extension(43, u16(0x0304)), extension(16, vec16(Buffer.concat([Buffer.from([2]), Buffer.from('h2')])))]);
    const body = Buffer.concat([u16(0x0303), Buffer.alloc(32, 1), Buffer.from([0]), u16(0x1301), Buffer.from([0]), vec16(extensions)]);
    expect(parseServerHello(body)).toEqual({ random: Buffer.alloc(32, 1), versionNumber: 0x0304, version: 'TLS 1.3', cipherSuite: 0x1301, alpn: 'h2' });
  });

  it('read what a real TLS client (Node\'s) sends', async () => {
    const first = await new Promise<Buffer>((resolve) => {
      let got = Buffer.alloc(0);
      const server = net.createServer((socket) => {
        socket.on('data', (chunk: Buffer) => {
          got = Buffer.concat([got, chunk]);
          const hello = new HelloCollector().push(got);
          if (hello !== null) {
            socket.destroy();
            server.close();
            resolve(got);
          }
        });
      }).listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        const client = tls.connect({ host: '127.0.0.1', port, servername: 'api.example.test', ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false });
        client.on('error', () => undefined);
      });
    });
    const hello = new HelloCollector().push(first) as { type: number; body: Buffer };
    const parsed = parseClientHello(hello.body)!;
    expect(parsed.serverName).toBe('api.example.test');
    expect(parsed.alpn).toEqual(['h2', 'http/1.1']);
    expect(parsed.versions).toContain('TLS 1.3');
  });

  it('never throw on hostile hellos: truncated, huge lengths, random bytes; bounded', () => {
    const message = clientHello('x.example', ['h2'], [0x0304]);
    for (let cut = 0; cut < message.length; cut++) expect(() => parseClientHello(message.subarray(4, 4 + cut))).not.toThrow();
    expect(new HelloCollector().push(Buffer.from([22, 3, 1, 0xff, 0xff]))).toBe(false);
    expect(new HelloCollector().push(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(false);
    // A handshake message that says it is 16 MB long is given up.
    expect(new HelloCollector().push(handshakeRecords(Buffer.from([1, 0xff, 0xff, 0xff, 0, 0]), 100))).toBe(false);
    const random = seededRandom(42);
    for (let i = 0; i < 2000; i++) {
      const noise = Buffer.from(Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256)));
      const mutated = Buffer.from(message);
      for (let k = 0; k < 5; k++) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
      expect(() => {
        parseClientHello(noise);
        parseServerHello(noise);
        parseClientHello(mutated.subarray(4));
        new HelloCollector().push(handshakeRecords(mutated, 50));
      }).not.toThrow();
    }
    // Lists kept for a connection's life are short: 8 ALPN names of 64 characters, 8 distinct versions.
    const many = parseClientHello(clientHello('x.example', Array.from({ length: 40 }, (_, i) => `${'p'.repeat(200)}${i}`), Array.from({ length: 100 }, (_, i) => 0x0300 + (i % 12))).subarray(4))!;
    expect(many.alpn).toHaveLength(8);
    expect(many.alpn.every((name) => name.length <= 64)).toBe(true);
    expect(many.versions.length).toBeLessThanOrEqual(8);
    expect(new Set(many.versions).size).toBe(many.versions.length);
    // A server name of control characters comes out escaped and bounded.
    const evil = parseClientHello(clientHello(`\u001b[2J${'a'.repeat(1000)}`, [], [0x0304]).subarray(4), 64)!;
    expect(evil.serverName.startsWith('\\x1b[2j')).toBe(true);
    expect(evil.serverName.length).toBeLessThanOrEqual(64);
  });
});
