/**
 * TLS connections for `--demo`, so the TLS panel has something to show: handshakes to a few
 * HTTPS sites (TLS 1.3 and 1.2, h2 and http/1.1, one client without SNI), some encrypted
 * records each way, and a close. Their bytes are made up (no real cryptography): what wiretop
 * reads of them without a key log is the hellos and the byte counts.
 */
import type { Endpoint, TimedFrame } from './frames';
import { TcpConversation, type Side } from './tcpConversation';
import { clientHello, record, serverHello } from './tlsBuilders';

/** Seconds from one segment of a connection to its next, when nothing waits between them. */
const STEP = 0.00005;

/** 64 KiB of fixed noise (a seeded sequence), sliced for the records' opaque bytes and the hellos' randoms. */
const NOISE = (() => {
  const block = Buffer.alloc(64 * 1024);
  let x = 0x9e3779b9;
  for (let i = 0; i < block.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    block[i] = x & 255;
  }
  return block;
})();

/** The demo's HTTPS sites: server name, weight, version, cipher suite, ALPN chosen. */
const SITES: Array<{ name: string; weight: number; version: number; suite: number; alpn: string }> = [
  { name: 'login.example.com', weight: 0.35, version: 0x0304, suite: 0x1301, alpn: 'h2' },
  { name: 'cdn.example.net', weight: 0.3, version: 0x0304, suite: 0x1302, alpn: 'h2' },
  { name: 'api.example.com', weight: 0.2, version: 0x0303, suite: 0xc02f, alpn: 'http/1.1' },
  { name: 'legacy.example.org', weight: 0.1, version: 0x0303, suite: 0xc030, alpn: '' },
  { name: '', weight: 0.05, version: 0x0304, suite: 0x1303, alpn: '' },
];

/** The demo's ClientHello: a browser's offer (GREASE first in supported_versions), for `name` (none when ''). */
function demoClientHello(name: string, random: Buffer): Buffer {
  return record(22, clientHello({
    serverName: name === '' ? undefined : name,
    alpn: ['h2', 'http/1.1'],
    versions: [0x4a4a, 0x0304, 0x0303],
    cipherSuites: [0x1301, 0x1302, 0x1303, 0xc02f, 0xc030],
    random,
  }));
}

/** The site's ServerHello. */
function demoServerHello(site: typeof SITES[number], random: Buffer): Buffer {
  return record(22, serverHello({ version: site.version, cipherSuite: site.suite, alpn: site.alpn === '' ? undefined : site.alpn, random }));
}

/**
 * The frames of `perSecond` TLS connections a second from `start` for `seconds`, pushed to
 * `push` (the generator's time-ordered heap). `random` is a stream of its own: the HTTP traffic
 * stays the same with or without it.
 */
export function tlsConnections(start: number, seconds: number, perSecond: number, random: () => number, push: (frame: TimedFrame) => void, firstPort: number): number {
  const count = Math.round(seconds * perSecond);
  let port = firstPort;
  for (let n = 0; n < count; n++) {
    let pick = random();
    const site = SITES.find((s) => (pick -= s.weight) < 0) ?? SITES[0];
    const client: Endpoint = { addr: `10.2.${Math.floor(random() * 20)}.${1 + Math.floor(random() * 200)}`, port };
    port = port >= 60000 ? 20000 : port + 1;
    const server: Endpoint = { addr: '10.0.1.1', port: 443 };
    let ts = start + (seconds * (n + random())) / Math.max(1, count);
    const tcp = new TcpConversation(client, server, { client: Math.floor(random() * 2 ** 32), server: Math.floor(random() * 2 ** 32) }, push);
    /** The time of the next control segment; the one after it goes a step later. */
    const tick = () => {
      const at = ts;
      ts += STEP;
      return at;
    };
    const send = (side: Side, data: Buffer) => {
      ts = tcp.send(side, data, ts, { step: STEP });
    };
    // Opaque bytes: slices of one block of noise (a random draw per byte cost the demo's thread more than the capture).
    const bytes = (length: number) => {
      const at = Math.floor(random() * (NOISE.length - length));
      return NOISE.subarray(at, at + length);
    };
    tcp.open(tick(), tick(), tick());
    send('client', demoClientHello(site.name, bytes(32)));
    ts += 0.002 + random() * random() * 0.03;
    // ServerHello, then the rest of the server's handshake (certificate and all), encrypted or not: opaque here.
    send('server', Buffer.concat([demoServerHello(site, bytes(32)), record(site.version === 0x0304 ? 23 : 22, bytes(1500 + Math.floor(random() * 2500)))]));
    for (let exchange = 0, n2 = 1 + Math.floor(random() * 6); exchange < n2; exchange++) {
      ts += 0.001 + random() * 0.05;
      send('client', record(23, bytes(200 + Math.floor(random() * 600))));
      ts += 0.002 + random() * random() * 0.08;
      send('server', record(23, bytes(300 + Math.floor(random() * 12_000))));
    }
    ts += 0.001;
    tcp.close(tick(), tick(), tick());
  }
  return port;
}
