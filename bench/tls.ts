/**
 * The HTTPS part of `npm run bench`:
 * 1. tier 1 on a capture that is mostly TLS: 50,000 TLS connections (ClientHello with one of
 *    500 server names, ServerHello, 4 application-data records of 1 KB each way, FIN) and
 *    5,000 plain HTTP requests; times `wiretop -r FILE --report json`;
 * 2. decryption: a real TLS 1.3 and a TLS 1.2 connection (Node's HTTPS server and client on
 *    127.0.0.1, 16 responses of 1 MB on keep-alive) recorded once, replayed as 16 connections,
 *    read with and without `--keylog`; prints MB/s of TLS payload decrypted.
 * Captures are cached in bench-out/ (the recorded ones are remade each run: their keys are new).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PcapWriter } from '../test/fixtures/pcapWriter';
import { Conversation, request, response } from '../test/helpers/conversation';
import { clientHello, record, serverHello } from '../src/capture/sources/demo/tlsBuilders';
import { recordingFrames } from '../test/helpers/relay';
import { recordTls, selfSignedCertificate } from '../test/helpers/tlsTranscript';

const ROOT = path.resolve(__dirname, __filename.endsWith('.ts') ? '..' : '../..');
const OUT = path.join(ROOT, 'bench-out');
const TLS_CONNECTIONS = 50_000;
const HTTP_REQUESTS = 5_000;

/** The mostly-TLS capture: its file and how many TLS connections and HTTP requests it holds. */
function mostlyTlsCapture(): { file: string; bytes: number } {
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `tls-${TLS_CONNECTIONS}.pcap`);
  if (fs.existsSync(file)) return { file, bytes: fs.statSync(file).size };
  process.stdout.write(`generating ${file} ...\n`);
  const writer = new PcapWriter(file);
  const sh = record(22, serverHello({ version: 0x0304, cipherSuite: 0x1301, random: Buffer.alloc(32, 9) }));
  const data = record(23, Buffer.alloc(1024, 0x5a));
  let ts = 1_700_000_000;
  for (let i = 0; i < TLS_CONNECTIONS; i++) {
    const client = { addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 10000 + (i % 50000) };
    const conv = new Conversation(client, { addr: '10.255.0.1', port: 443 }, ts);
    conv.handshake();
    conv.send('client', record(22, clientHello({
      serverName: `host${i % 500}.example.com`, alpn: ['h2', 'http/1.1'], versions: [0x0304, 0x0303], cipherSuites: [0x1301, 0xc02f], random: Buffer.alloc(32, 7),
    })));
    conv.send('server', sh);
    for (let k = 0; k < 4; k++) {
      conv.send('client', data);
      conv.send('server', data);
    }
    if (i % (TLS_CONNECTIONS / HTTP_REQUESTS) === 0) {
      const plain = new Conversation({ ...client, port: client.port + 1 }, { addr: '10.255.0.2', port: 80 }, conv.clock);
      plain.handshake();
      plain.send('client', request('GET', `/plain/${i}`));
      plain.send('server', response(200, 'ok'));
      plain.close();
      for (const frame of plain.frames) writer.write(frame.ts, frame.frame);
    }
    conv.close();
    for (const frame of conv.frames) writer.write(frame.ts, frame.frame);
    ts = conv.clock;
  }
  writer.close();
  return { file, bytes: fs.statSync(file).size };
}

interface Timed { seconds: number; maxRssMb: number; report: { requests: number; tls: { connections: number; decrypted: number; decryptedRequests: number } } }

function timeWiretop(args: string[]): Timed {
  const started = process.hrtime.bigint();
  // Through a shell that forks: a process started straight from this one would report this
  // one's peak memory as its own (Linux keeps the peak across fork and exec).
  const child = spawnSync('sh', ['-c', '"$@"; exit $?', 'sh', path.join(ROOT, 'bin/wiretop'), ...args, '--report', 'json'], {
    env: { ...process.env, WIRETOP_PRINT_RUSAGE: '1' }, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (child.status !== 0) throw new Error(`wiretop failed (${child.status}): ${child.stderr}`);
  const usage = JSON.parse(/rusage (\{.*\})/.exec(child.stderr)![1]) as { maxRSS: number };
  return { seconds, maxRssMb: usage.maxRSS / 1024, report: JSON.parse(child.stdout) };
}

function best(runs: number, args: string[]): Timed {
  const results = Array.from({ length: runs }, () => timeWiretop(args));
  return results.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
}

/** A recorded connection with large responses, replayed `copies` times; its capture and key log. */
async function decryptionCapture(maxVersion: 'TLSv1.3' | 'TLSv1.2', copies: number): Promise<{ file: string; keys: string; payloadBytes: number }> {
  const credentials = selfSignedCertificate();
  const recording = await recordTls(credentials, {
    maxVersion, serverName: 'bench.example', bodyBytes: 1024 * 1024,
    requests: Array.from({ length: 16 }, (_, i) => ({ method: 'GET', path: `/blob/${i}` })),
  });
  fs.rmSync(credentials.dir, { recursive: true, force: true });
  const one = recording.connections[0];
  const file = path.join(OUT, `tls-decrypt-${maxVersion}.pcap`);
  const keys = path.join(OUT, `tls-decrypt-${maxVersion}.keys`);
  const writer = new PcapWriter(file);
  for (let copy = 0; copy < copies; copy++) {
    // One copy at a time, each a connection of its own (another client port), a second apart.
    const frames = recordingFrames({ ...recording, connections: [one] }, 1_700_000_000 + copy, 0.00001, 443, 1448, 50000 + copy);
    for (const frame of frames) writer.write(frame.ts, frame.frame);
  }
  writer.close();
  fs.writeFileSync(keys, recording.keyLog, { mode: 0o600 });
  const payloadBytes = copies * one.chunks.reduce((n, c) => n + c.data.length, 0);
  return { file, keys, payloadBytes };
}

/** The lines the HTTPS benchmark prints. */
export async function tlsBench(runs: number): Promise<string[]> {
  const lines: string[] = [];
  const { file, bytes } = mostlyTlsCapture();
  const tier1 = best(runs, ['-r', file]);
  lines.push(
    `tls tier 1: ${file} (${(bytes / 1024 / 1024).toFixed(0)} MB, ${TLS_CONNECTIONS.toLocaleString('en-US')} TLS connections, ${HTTP_REQUESTS.toLocaleString('en-US')} HTTP requests)`,
    `  wiretop -r FILE --report json, best of ${runs}: ${tier1.seconds.toFixed(2)} s: ${Math.round(tier1.report.tls.connections / tier1.seconds).toLocaleString('en-US')} TLS connections/s, `
      + `${(bytes / 1024 / 1024 / tier1.seconds).toFixed(0)} MB/s of capture; reported ${tier1.report.tls.connections} TLS connections and ${tier1.report.requests} requests`
      + `${tier1.report.tls.connections === TLS_CONNECTIONS && tier1.report.requests === HTTP_REQUESTS ? '' : ' (MISMATCH)'}; peak RSS ${tier1.maxRssMb.toFixed(0)} MB`,
  );
  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    const copies = 16;
    const capture = await decryptionCapture(version, copies);
    const without = best(runs, ['-r', capture.file]);
    const decrypted = best(runs, ['-r', capture.file, '--keylog', capture.keys]);
    const mb = capture.payloadBytes / 1024 / 1024;
    const extra = decrypted.seconds - without.seconds;
    lines.push(
      `tls decryption, ${version.replace('TLSv', 'TLS ')}: ${copies} connections × 16 responses of 1 MB, ${mb.toFixed(0)} MB of TLS payload`,
      `  without --keylog ${without.seconds.toFixed(2)} s, with ${decrypted.seconds.toFixed(2)} s (${decrypted.report.tls.decryptedRequests} of ${copies * 16} requests decrypted): `
        + `${(mb / decrypted.seconds).toFixed(0)} MB/s overall, ${extra > 0 ? (mb / extra).toFixed(0) : '∞'} MB/s for the decryption itself; peak RSS ${decrypted.maxRssMb.toFixed(0)} MB`,
    );
  }
  return lines;
}
