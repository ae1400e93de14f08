/**
 * HTTPS through the pipeline: real TLS conversations (a Node HTTPS server and client on
 * 127.0.0.1, recorded through a relay, written as frames) read for their metadata (tier 1) and
 * decrypted with the client's key log (tier 2): TLS 1.3 and 1.2, AES-GCM and ChaCha20,
 * keep-alive, resumed sessions, records cut into tiny segments, secrets that arrive late, a
 * capture joined mid-way, lost packets, HTTP/2.
 */
import * as fs from 'fs';
import * as path from 'path';
import { captureLimits } from '../src/capture/limits';
import { parseCommandLine } from '../src/cli';
import { defaultConfig } from '../src/config';
import { KEYLOG_SNAP_LENGTH, sourceSpec } from '../src/main';
import { CapturePipeline } from '../src/capture/pipeline';
import { FileKeyLog, KeyLog } from '../src/tls/keyLog';
import { canDecrypt, cipherSuiteName } from '../src/tls/decrypt';
import type { HttpEvent } from '../src/types';
import { runFrames, tempDir } from './helpers/conversation';
import { recordingFrames } from './helpers/relay';
import { recordTls, selfSignedCertificate, type RecordOptions, type Recording } from './helpers/tlsTranscript';

const credentials = selfSignedCertificate();
const REQUESTS = [{ method: 'GET', path: '/a' }, { method: 'GET', path: '/missing' }, { method: 'POST', path: '/orders' }];

function keysOf(recording: Recording): KeyLog {
  const keys = new KeyLog();
  keys.addText(recording.keyLog);
  return keys;
}

/** What the client sent, connection by connection: [method, path, status]. */
function expected(recording: Recording, connections: number): Array<[string, string, number]> {
  const rows: Array<[string, string, number]> = [];
  for (let c = 0; c < connections; c++) REQUESTS.forEach((r, i) => rows.push([r.method, r.path, recording.statuses[c * REQUESTS.length + i]]));
  return rows;
}

const cases: Array<{ name: string; options: Omit<RecordOptions, 'requests'> }> = [
  { name: 'TLS 1.3, AES-256-GCM', options: { maxVersion: 'TLSv1.3' } },
  { name: 'TLS 1.3, ChaCha20-Poly1305', options: { maxVersion: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256' } },
  { name: 'TLS 1.2, ECDHE AES-128-GCM', options: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' } },
  { name: 'TLS 1.2, ECDHE AES-256-GCM', options: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' } },
  { name: 'TLS 1.2, ECDHE ChaCha20-Poly1305', options: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' } },
];

describe.each(cases)('$name, keep-alive, the second connection resumed', ({ options }) => {
  let recording: Recording;
  beforeAll(async () => {
    recording = await recordTls(credentials, { ...options, serverName: 'shop.example.test', requests: REQUESTS, connections: 2, bodyBytes: 3000 });
  });

  it('tier 1: the metadata is what the client negotiated; no transactions, nothing counted as non-HTTP', () => {
    expect(recording.negotiated[1].resumed).toBe(true);
    const { events, stats, tls } = runFrames(recordingFrames(recording));
    expect(events).toEqual([]);
    expect(stats).toMatchObject({ tlsFlows: 2, nonHttpFlows: 0, tlsHelloErrors: 0, parseErrors: 0 });
    expect(tls).toHaveLength(2);
    tls.forEach((connection, i) => {
      const negotiated = recording.negotiated[i];
      expect(connection).toMatchObject({
        src: '10.0.0.1', dst: '10.0.0.2', dport: 443, serverName: 'shop.example.test', version: negotiated.version,
        cipher: negotiated.cipher, alpnOffered: ['http/1.1'], decrypted: false, requests: 0,
      });
      // TLS 1.3 servers say their ALPN choice only inside the encrypted handshake.
      expect(connection.alpn).toBe(negotiated.version === 'TLS 1.3' ? '' : negotiated.alpn);
      expect(connection.versionsOffered[0]).toBe(negotiated.version);
      // The frames are 2 ms apart: the ServerHello answers the ClientHello 2 ms later.
      expect(connection.handshakeMs).toBeCloseTo(2, 1);
      const sent = recording.connections[i].chunks;
      expect(connection.bytesToServer).toBe(sent.filter((c) => c.side === 'client').reduce((n, c) => n + c.data.length, 0));
      expect(connection.bytesToClient).toBe(sent.filter((c) => c.side === 'server').reduce((n, c) => n + c.data.length, 0));
    });
  });

  it('tier 2: with the key log, exactly the requests sent, with status, bytes and latency, marked https', () => {
    const { events, stats, tls } = runFrames(recordingFrames(recording), undefined, 1024, Infinity, keysOf(recording));
    expect(events.map((e) => [e.method, e.uri, e.status])).toEqual(expected(recording, 2));
    for (const e of events) {
      expect(e).toMatchObject({ https: true, host: 'shop.example.test', respBytes: 3000, src: '10.0.0.1', dport: 443 });
      expect(e.latencyMs).toBeGreaterThan(0);
    }
    expect(stats).toMatchObject({ tlsDecrypted: 2, tlsDecryptErrors: 0, tlsNoKey: 0, parseErrors: 0, unanswered: 0, orphanResponses: 0 });
    expect(tls.map((c) => [c.decrypted, c.requests, c.alpn])).toEqual([[true, 3, 'http/1.1'], [true, 3, 'http/1.1']]);
  });

  it('tier 2 over records cut into 7-byte segments: the same transactions', () => {
    const { events, stats } = runFrames(recordingFrames(recording, 1_700_000_000, 0.0001, 443, 7), undefined, 1024, Infinity, keysOf(recording));
    expect(events.map((e) => [e.method, e.uri, e.status])).toEqual(expected(recording, 2));
    expect(stats.tlsDecryptErrors).toBe(0);
  });
});

describe('decryption, when things are not as they should be', () => {
  let recording: Recording;
  beforeAll(async () => {
    recording = await recordTls(credentials, { maxVersion: 'TLSv1.3', serverName: 'shop.example.test', requests: REQUESTS, connections: 2 });
  });

  it('keeps a connection the key log has no secrets for at tier 1, and counts it', () => {
    // The key log of the first connection only.
    const first = recording.keyLog.split('\n').filter((line) => line !== '');
    const random = first[0].split(' ')[1];
    const keys = new KeyLog();
    keys.addText(first.filter((line) => line.includes(random)).join('\n') + '\n');
    const { events, stats, tls } = runFrames(recordingFrames(recording), undefined, 1024, Infinity, keys);
    expect(events).toHaveLength(3);
    expect(stats).toMatchObject({ tlsDecrypted: 1, tlsNoKey: 1 });
    expect(tls.map((c) => c.decrypted)).toEqual([true, false]);
  });

  it('waits for secrets written after the handshake, line by line (a key log that grows), then decrypts; every budget given back', () => {
    const dir = tempDir();
    const file = path.join(dir, 'keys.log');
    fs.writeFileSync(file, '# SSL/TLS secrets log file\n');
    const fd = fs.openSync(file, 'r');
    const limits = captureLimits(1024);
    const pipeline = new CapturePipeline(limits, 2, { keyLog: new FileKeyLog(fd, 0) });
    const frames = recordingFrames(recording);
    const lines = recording.keyLog.split('\n').filter((line) => line !== '');
    // The handshake secrets first, the traffic secrets later, as a client writes them.
    const handshakeLines = lines.filter((line) => line.includes('HANDSHAKE'));
    const trafficLines = lines.filter((line) => !line.includes('HANDSHAKE'));
    const events: HttpEvent[] = [];
    frames.forEach(({ ts, frame }, i) => {
      if (i === Math.floor(frames.length / 4)) fs.appendFileSync(file, handshakeLines.join('\n') + '\n');
      if (i === Math.floor(frames.length / 3)) fs.appendFileSync(file, trafficLines.join('\n') + '\n');
      pipeline.onFrame(frame, 0, frame.length, frame.length, ts, 1);
      events.push(...pipeline.release());
    });
    events.push(...pipeline.finish());
    fs.closeSync(fd);
    expect(events.map((e) => [e.method, e.uri, e.status])).toEqual(expected(recording, 2));
    expect([limits.headBuffers.used, limits.sessionCosts.used, limits.pendingRequests.used]).toEqual([0, 0, 0]);
  });

  it('follows a HelloRetryRequest: the real ServerHello is read, and with the key log every request decrypted', async () => {
    const retried = await recordTls(credentials, { maxVersion: 'TLSv1.3', serverEcdhCurve: 'P-256', serverName: 'retry.example.test', requests: REQUESTS });
    // The server's first hello is a HelloRetryRequest (its fixed random, RFC 8446 §4.1.3).
    const firstServerBytes = retried.connections[0].chunks.find((c) => c.side === 'server')!.data;
    expect(firstServerBytes.subarray(11, 43).toString('hex')).toBe('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c');
    const tier1 = runFrames(recordingFrames(retried));
    expect(tier1.tls[0]).toMatchObject({ serverName: 'retry.example.test', version: 'TLS 1.3', cipher: retried.negotiated[0].cipher });
    expect(tier1.stats.tlsHelloErrors).toBe(0);
    const tier2 = runFrames(recordingFrames(retried), undefined, 1024, Infinity, keysOf(retried));
    expect(tier2.events.map((e) => [e.method, e.uri, e.status])).toEqual(expected(retried, 1));
    expect(tier2.stats).toMatchObject({ tlsDecryptErrors: 0, orphanResponses: 0 });
  });

  it('recognises TLS joined mid-way (no handshake seen) and keeps it out of the non-HTTP count', () => {
    // The capture starts after both handshakes, in application data, with no SYN seen.
    const chunks = recording.connections[0].chunks;
    const firstRequest = chunks.findIndex((c, i) => c.side === 'client' && i > 2);
    const frames = recordingFrames({ ...recording, connections: [{ chunks: chunks.slice(firstRequest + 1) }] }).slice(3);
    const { events, stats, tls } = runFrames(frames, undefined, 1024, Infinity, keysOf(recording));
    expect(events).toEqual([]);
    expect(stats).toMatchObject({ tlsFlows: 1, nonHttpFlows: 0 });
    expect(tls[0]).toMatchObject({ serverName: '', version: '', handshakeMs: null, decrypted: false });
  });

  it('stops decrypting a direction after a lost packet, without failing or throwing', () => {
    const frames = recordingFrames({ ...recording, connections: [recording.connections[0]] });
    // Lose the client's packet with its last request (the one before its close_notify alert).
    const clientData = frames.map((f, i) => ({ f, i })).filter(({ f }) => f.frame.length > 66 && f.frame.readUInt16BE(34) === 50000);
    const lost = clientData[clientData.length - 2].i;
    const { events, stats } = runFrames(frames.filter((_, i) => i !== lost), undefined, 1024, Infinity, keysOf(recording));
    expect(events.map((e) => e.uri)).toEqual(['/a', '/missing']);
    // The answer to the lost request has no request to pair with.
    expect(stats).toMatchObject({ orphanResponses: 1, gaps: 1 });
  });

  it('names HTTP/2 (ALPN h2) and leaves it unparsed', async () => {
    const h2 = await recordTls(credentials, { maxVersion: 'TLSv1.3', alpn: ['h2', 'http/1.1'], serverAlpn: ['h2'], requests: [] });
    const { events, stats, tls } = runFrames(recordingFrames(h2), undefined, 1024, Infinity, keysOf(h2));
    expect(events).toEqual([]);
    expect(stats).toMatchObject({ parseErrors: 0, nonHttpFlows: 0, tlsFlows: 1 });
    expect(tls[0]).toMatchObject({ alpn: 'h2', alpnOffered: ['h2', 'http/1.1'], requests: 0 });
  });
});

describe('the key log', () => {
  const random = 'ab'.repeat(32);
  it('reads NSS lines, skips comments and other labels, counts lines that are not key log lines', () => {
    const keys = new KeyLog();
    keys.addText(`# comment\nCLIENT_RANDOM ${random} ${'11'.repeat(48)}\nEXPORTER_SECRET ${random} ${'22'.repeat(32)}\ngarbage here\n`);
    keys.addText(`CLIENT_TRAFFIC_SECRET_0 ${random.toUpperCase()} ${'33'.repeat(32)}`);
    expect(keys.lookup(Buffer.from(random, 'hex'))?.master?.length).toBe(48);
    // The last line has no end yet: it waits for it.
    expect(keys.lookup(Buffer.from(random, 'hex'))?.clientTraffic).toBeUndefined();
    keys.addText('\n');
    expect(keys.lookup(Buffer.from(random, 'hex'))?.clientTraffic?.length).toBe(32);
    expect(keys.badLines).toBe(1);
    expect(keys.size).toBe(1);
  });

  it('a live capture watches 80 and 443 by default, and takes whole packets when it decrypts', () => {
    const options = parseCommandLine(['-i', 'lo']);
    expect(sourceSpec(options, true, defaultConfig())).toMatchObject({ filter: 'tcp port 80 or tcp port 443', snapLength: 262144 });
    expect(sourceSpec(options, true, { ...defaultConfig(), keylog_file: '/run/keys/k.log' })).toMatchObject({ snapLength: KEYLOG_SNAP_LENGTH });
  });

  it('names cipher suites and says which it decrypts', () => {
    expect(cipherSuiteName(0x1301)).toBe('TLS_AES_128_GCM_SHA256');
    expect(cipherSuiteName(0xc030)).toBe('TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384');
    expect(cipherSuiteName(0xabcd)).toBe('0xabcd');
    expect(canDecrypt(0x0304, 0x1303)).toBe(true);
    expect(canDecrypt(0x0303, 0xcca8)).toBe(true);
    expect(canDecrypt(0x0303, 0xc013)).toBe(false); // CBC: metadata only
    expect(canDecrypt(0x0302, 0xc02f)).toBe(false);
  });
});

