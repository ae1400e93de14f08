/**
 * The hostile part of `npm run bench`: captures made to exhaust memory, at full size, each read
 * by `wiretop -r FILE --report json` as users run it. For each: the exit status, the peak RSS
 * (whole process, worker included) against the memory budget, and what the capture health
 * counted as dropped. Captures are generated once into bench-out/.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { TCP_ACK } from '../src/capture/decode';
import type { Endpoint } from '../src/capture/sources/demo/frames';
import { TcpConversation } from '../src/capture/sources/demo/tcpConversation';
import { PcapWriter } from '../test/fixtures/pcapWriter';
import { clientHello, handshakeRecords } from '../src/capture/sources/demo/tlsBuilders';
import { FrameType, H2Side, PREFACE, frame, settings } from '../test/helpers/h2Frames';

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'bench-out');
const T0 = 1_700_000_000;
const SERVER: Endpoint = { addr: '10.0.0.2', port: 80 };
const HELLO_RANDOM = Buffer.alloc(32, 7);

/**
 * Writes one flood: `write(emit)` produces its frames in time order, each at the time given
 * (seconds after the capture's start) or, without one, 10 µs after the frame before.
 */
type Emit = (frame: Buffer, ts?: number) => void;
type Flood = { name: string; what: string; write(emit: Emit): void };

function client(i: number): Endpoint {
  return { addr: `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, port: 1024 + (i % 60000) };
}

/**
 * A connection from `src` to the server, handshake done. Its frames go to `emit` without their
 * times: the writer stamps each 10 µs after the one before, so the times given here are zero.
 */
function connect(emit: Emit, src: Endpoint): TcpConversation {
  const tcp = new TcpConversation(src, SERVER, { client: 1000, server: 5000 }, ({ frame }) => emit(frame));
  tcp.open(0, 0, 0, 0);
  return tcp;
}

/** Sends `data` from the client in segments of `size` bytes. */
function send(tcp: TcpConversation, data: Buffer, size = 1400): void {
  tcp.send('client', data, 0, { step: 0, segmentSize: size });
}

/** How a distinct string is made: what characters fill it after its tag. */
type Filling = 'wide' | 'controls' | 'ascii';

/**
 * A string of `bytes` bytes (UTF-8) that no other request repeats: a leading character (a
 * snowman, outside Latin-1, for `wide`), a hex tag of `n` and `part`, then filler (0x01 bytes,
 * or letters for `ascii`). Each defeats a different saving: interning, one-byte strings, escaping.
 */
function distinct(n: number, part: string, bytes: number, filling: Filling): string {
  const head = `${filling === 'wide' ? '\u2603' : 'x'}${n.toString(16)}${part}`;
  const headBytes = Buffer.byteLength(head);
  return head + (filling === 'ascii' ? 'a' : '\x01').repeat(Math.max(0, bytes - headBytes));
}

/** A request whose URI, Host and User-Agent are distinct strings of `bytes` bytes. */
function distinctRequest(n: number, bytes: number, filling: Filling): Buffer {
  return Buffer.from(`GET /${distinct(n, 'u', bytes, filling)} HTTP/1.1\r\nHost: ${distinct(n, 'h', bytes, filling)}\r\nUser-Agent: ${distinct(n, 'a', bytes, filling)}\r\n\r\n`);
}

const OK = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');

/**
 * `requests` requests at `rate` a second, round robin over `connections` keep-alive
 * connections, each answered `200` half-way to the next request (frames stay in time order);
 * `request(n)` makes the n-th.
 */
function answeredFlood(emit: Emit, requests: number, connections: number, rate: number, request: (n: number) => Buffer): void {
  const conversations: TcpConversation[] = [];
  for (let c = 0; c < connections; c++) {
    const ts = c * 1e-4;
    const tcp = new TcpConversation(client(c), SERVER, { client: 1000, server: 5000 }, ({ frame, ts: at }) => emit(frame, at));
    tcp.open(ts, ts + 1e-5, ts + 2e-5);
    conversations.push(tcp);
  }
  const start = connections * 1e-4 + 0.01;
  for (let n = 0; n < requests; n++) {
    const tcp = conversations[n % connections];
    const ts = start + n / rate;
    tcp.send('client', request(n), ts, { step: 1e-6, segmentSize: 1448 });
    tcp.send('server', OK, ts + 0.5 / rate, { step: 1e-6 });
  }
}

const FLOODS: Flood[] = [
  {
    name: 'hostile-distinct',
    what: '60,000 requests at 1,000 a second on 500 keep-alive connections, each answered; every URI, Host and User-Agent a distinct 1 KB string (a non-Latin-1 character, a tag, 0x01 bytes)',
    write: (emit) => answeredFlood(emit, 60_000, 500, 1000, (n) => distinctRequest(n, 1024, 'wide')),
  },
  {
    name: 'hostile-distinct-pipelined',
    what: '1,000 connections × 64 pipelined requests never answered, every URI, Host and User-Agent a distinct 1 KB string (a non-Latin-1 character, a tag, 0x01 bytes)',
    write(emit) {
      for (let c = 0; c < 1000; c++) {
        const tcp = connect(emit, client(c));
        for (let r = 0; r < 64; r++) send(tcp, distinctRequest(c * 64 + r, 1024, 'wide'));
      }
    },
  },
  {
    name: 'hostile-distinct-ascii',
    what: 'as hostile-distinct, the distinct strings printable ASCII (nothing to escape)',
    write: (emit) => answeredFlood(emit, 60_000, 500, 1000, (n) => distinctRequest(n, 1024, 'ascii')),
  },
  {
    name: 'hostile-distinct-controls',
    what: 'as hostile-distinct, the distinct strings ASCII with 0x01 bytes (every one escaped, one byte a character)',
    write: (emit) => answeredFlood(emit, 60_000, 500, 1000, (n) => distinctRequest(n, 1024, 'controls')),
  },
  {
    name: 'hostile-distinct-8k',
    what: '8,000 requests at 1,000 a second on 500 connections, each answered; every URI, Host and User-Agent a distinct 8 KB string (a non-Latin-1 character, a tag, 0x01 bytes)',
    write: (emit) => answeredFlood(emit, 8000, 500, 1000, (n) => distinctRequest(n, 8192, 'wide')),
  },
  {
    name: 'hostile-queries',
    what: '40,000 requests at 1,000 a second on 500 connections, each answered, each a distinct path with an 8 KB query string',
    write: (emit) => answeredFlood(emit, 40_000, 500, 1000, (n) => Buffer.from(`GET /p${n % 1000}/w${n.toString(36)}?q=${'a'.repeat(8000)} HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: flood/${n & 63}\r\n\r\n`)),
  },
  {
    name: 'hostile-hosts',
    what: '300,000 requests at 5,000 a second on 500 connections, each answered, each to a distinct Host (60 bytes)',
    write: (emit) => answeredFlood(emit, 300_000, 500, 5000, (n) => Buffer.from(`GET /p/${n & 1023} HTTP/1.1\r\nHost: ${distinct(n, 'h', 60, 'ascii')}.example\r\nUser-Agent: flood/${n & 63}\r\n\r\n`)),
  },
  {
    name: 'hostile-strings',
    what: '60,000 requests whose Host, URI and User-Agent are 1 KB of control characters and a non-Latin-1 character',
    write(emit) {
      const junk = '\x1b'.repeat(1000) + '☃';
      for (let c = 0; c < 600; c++) {
        const tcp = connect(emit, client(c));
        for (let r = 0; r < 100; r++) {
          send(tcp, Buffer.from(`GET /${junk}${r} HTTP/1.1\r\nHost: ${junk}\r\nUser-Agent: ${junk}\r\n\r\n`));
        }
      }
    },
  },
  {
    name: 'hostile-heads',
    what: '5,000 connections, each with an unterminated request head of ~64 KB',
    write(emit) {
      const head = Buffer.from(`GET /${'a'.repeat(63 * 1024)}`);
      for (let c = 0; c < 5000; c++) send(connect(emit, client(c)), head);
    },
  },
  {
    name: 'hostile-segments',
    what: '10,000 connections × 512 one-byte out-of-order segments',
    write(emit) {
      const one = Buffer.from('x');
      for (let c = 0; c < 10_000; c++) {
        const tcp = connect(emit, client(c));
        // A hole at the start: every segment after it waits.
        for (let k = 0; k < 512; k++) tcp.segment('client', TCP_ACK, 0, { seq: tcp.nextSeq('client') + 100 + k, payload: one });
      }
    },
  },
  {
    name: 'hostile-pipelined',
    what: '1,000 connections × 64 pipelined requests with 1 KB strings, never answered',
    write(emit) {
      const long = 'u'.repeat(1000);
      for (let c = 0; c < 1000; c++) {
        const tcp = connect(emit, client(c));
        for (let r = 0; r < 64; r++) send(tcp, Buffer.from(`GET /${long}/${r} HTTP/1.1\r\nHost: h${long}\r\nUser-Agent: ${long}\r\n\r\n`));
      }
    },
  },
  {
    name: 'hostile-connections',
    what: '400,000 connections, each with one request never answered and never closed',
    write(emit) {
      for (let c = 0; c < 400_000; c++) {
        send(connect(emit, client(c)), Buffer.from(`GET /c/${c} HTTP/1.1\r\nHost: h${c & 1023}.example\r\nUser-Agent: flood/${c & 63}\r\n\r\n`));
      }
    },
  },
  {
    name: 'hostile-tls',
    what: '200,000 TLS connections never closed, each a 3 KB ClientHello in one record over 3 segments, every other one cut after its first segment',
    write(emit) {
      for (let c = 0; c < 200_000; c++) {
        const hello = handshakeRecords(clientHello({
          serverName: `${'n'.repeat(2800)}${c}.example`, alpn: ['h2', 'http/1.1'], versions: [0x0304, 0x0303], cipherSuites: [0x1301, 0xc02f], random: HELLO_RANDOM,
        }), 16384);
        send(connect(emit, client(c)), c % 2 === 0 ? hello : hello.subarray(0, 1400));
      }
    },
  },
  {
    name: 'hostile-h2-streams',
    what: '1,000 h2c connections never closed, each opening 300 streams never answered, every request with a distinct 1 KB path, authority and user agent',
    write(emit) {
      const junk = 'j'.repeat(1000);
      for (let c = 0; c < 1000; c++) {
        const tcp = connect(emit, client(c));
        const h2 = new H2Side();
        const requests: Buffer[] = [Buffer.concat([PREFACE, settings()])];
        for (let r = 0; r < 300; r++) {
          const tag = `${c}.${r}`;
          requests.push(h2.headers(1 + 2 * r, [[':method', 'GET'], [':scheme', 'http'], [':path', `/${junk}${tag}`], [':authority', `${junk}${tag}`], ['user-agent', `${junk}${tag}`]], { end: true }));
        }
        send(tcp, Buffer.concat(requests));
      }
    },
  },
  {
    name: 'hostile-h2-blocks',
    what: '20,000 h2c connections never closed, each a header block that never ends: a HEADERS frame and 60 KB of CONTINUATION frames without END_HEADERS',
    write(emit) {
      const fragment = Buffer.alloc(4000, 0x41);
      for (let c = 0; c < 20_000; c++) {
        const frames: Buffer[] = [PREFACE, settings(), frame(FrameType.Headers, 0, 1, fragment)];
        for (let k = 0; k < 15; k++) frames.push(frame(FrameType.Continuation, 0, 1, fragment));
        send(connect(emit, client(c)), Buffer.concat(frames));
      }
    },
  },
];

function ensureFlood(flood: Flood): string {
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `${flood.name}.pcap`);
  if (fs.existsSync(file)) return file;
  process.stdout.write(`generating ${file} ...\n`);
  const writer = new PcapWriter(`${file}.part`);
  let n = 0;
  flood.write((frame, ts) => writer.write(T0 + (ts ?? n++ * 1e-5), frame));
  writer.close();
  fs.renameSync(`${file}.part`, file);
  return file;
}

/** Runs the floods; returns the lines to print. */
export function hostileFloods(): string[] {
  const lines = ['hostile captures (wiretop -r FILE --report json; memory_budget_mb 160):'];
  // HOSTILE_ONLY=name[,name] runs some of them.
  const only = process.env.HOSTILE_ONLY?.split(',');
  for (const flood of FLOODS.filter((f) => only === undefined || only.includes(f.name))) {
    const file = ensureFlood(flood);
    const child = spawnSync(path.join(ROOT, 'bin/wiretop'), ['-r', file, '--report', 'json'], {
      env: { ...process.env, WIRETOP_PRINT_RUSAGE: '1' }, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8',
    });
    const usage = /rusage (\{.*\})/.exec(child.stderr);
    const rss = usage === null ? NaN : (JSON.parse(usage[1]) as { maxRSS: number }).maxRSS / 1024;
    let counted = '';
    try {
      const report = JSON.parse(child.stdout) as { requests: number; tls: { connections: number }; capture: Record<string, number> };
      const c = report.capture;
      const tls = c.tlsFlows > 0 ? `${report.tls.connections} TLS connections reported (${c.tlsFlows} seen, hellos given up ${c.tlsHelloErrors}); ` : '';
      counted = `${tls}${report.requests} requests; parse errors ${c.parseErrors}, head-budget drops ${c.headBufferDrops}, `
        + `reassembly drops ${c.reassemblyDrops}, gaps ${c.gaps}, given up unanswered ${c.pipelineDrops}, connections ended early (table full) ${c.flowsDropped}`;
    } catch {
      counted = `no report (${child.stderr.trim().split('\n').pop() ?? ''})`;
    }
    lines.push(`  ${flood.name} (${(fs.statSync(file).size / 1024 / 1024).toFixed(0)} MB): ${flood.what}`);
    lines.push(`    exit ${child.status}, peak RSS ${rss.toFixed(0)} MB; ${counted}`);
  }
  return lines;
}

/** The floods replayed live (HOSTILE_LIVE=1): the two of distinct 1 KB strings, as the issue that bounded them measured. */
const LIVE_FLOODS = ['hostile-distinct', 'hostile-distinct-pipelined'];
const TMUX_SOCKET = 'wiretop-hostile';

function tmux(...args: string[]): string {
  return spawnSync('tmux', ['-L', TMUX_SOCKET, ...args], { encoding: 'utf8' }).stdout ?? '';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Each live flood replayed through `lo` at full speed (tcpreplay --topspeed) to the dashboard
 * (`wiretop -i lo` in tmux 120x40, as root): its peak RSS, each thread's heap, and what its
 * status line and capture health said it dropped. Needs root, tmux and tcpreplay.
 */
export async function hostileLive(): Promise<string[]> {
  if (spawnSync('tcpreplay', ['--version']).error !== undefined || spawnSync('tmux', ['-V']).error !== undefined) {
    return ['hostile captures live: skipped (needs tcpreplay and tmux: apt-get install tcpreplay tmux)'];
  }
  const lines = ['hostile captures replayed live (tcpreplay -i lo --topspeed; wiretop -i lo, the dashboard in tmux 120x40):'];
  for (const name of LIVE_FLOODS) {
    const file = ensureFlood(FLOODS.find((f) => f.name === name)!);
    const stderr = path.join(OUT, `${name}.live.stderr`);
    spawnSync('tmux', ['-L', TMUX_SOCKET, 'kill-server'], { stdio: 'ignore' });
    tmux('new-session', '-d', '-s', 'h', '-x', '120', '-y', '40', `export TERM=xterm-256color WIRETOP_PRINT_RUSAGE=1; ${path.join(ROOT, 'bin/wiretop')} -i lo 2>${stderr}; echo EXIT=$?; sleep 600`);
    for (let i = 0; i < 100 && !/Requests\/s/.test(tmux('capture-pane', '-p', '-t', 'h')); i++) await sleep(200);
    const replay = spawnSync('tcpreplay', ['-i', 'lo', '--topspeed', file], { encoding: 'utf8' });
    const sent = /Actual: (\d+) packets .* in ([\d.]+) seconds/.exec(replay.stdout ?? '');
    await sleep(4000);
    const screen = tmux('capture-pane', '-p', '-t', 'h');
    const status = screen.trim().split('\n').pop() ?? '';
    const health = (label: string) => new RegExp(`${label} +(\\d+)`).exec(screen)?.[1] ?? '?';
    tmux('send-keys', '-t', 'h', 'q');
    for (let i = 0; i < 100 && !/EXIT=\d+/.test(tmux('capture-pane', '-p', '-t', 'h')); i++) await sleep(200);
    const exit = /EXIT=(\d+)/.exec(tmux('capture-pane', '-p', '-t', 'h'))?.[1] ?? '?';
    spawnSync('tmux', ['-L', TMUX_SOCKET, 'kill-server'], { stdio: 'ignore' });
    const err = fs.readFileSync(stderr, 'utf8');
    const usage = /rusage (\{.*\})/.exec(err);
    const rss = usage === null ? NaN : (JSON.parse(usage[1]) as { maxRSS: number }).maxRSS / 1024;
    const heaps = [...err.matchAll(/^heap (\w+) (\{.*\})$/gm)].map((m) => `${m[1]} ${(JSON.parse(m[2]) as { committedMB: number }).committedMB} MB`).join(', ');
    lines.push(`  ${name}: ${sent === null ? 'replay failed' : `${sent[1]} packets in ${sent[2]} s`}`);
    lines.push(`    exit ${exit}, peak RSS ${rss.toFixed(0)} MB (heaps ${heaps}); kernel drops ${health('kernel drops')}, events dropped ${health('events dropped')}, keys shortened ${health('keys shortened')}`);
    lines.push(`    status line: ${status.replace(/\s+/g, ' ').trim()}`);
  }
  return lines;
}

if (require.main === module) {
  void (async () => {
    const lines = process.env.HOSTILE_LIVE === '1' ? await hostileLive() : hostileFloods();
    process.stdout.write(lines.join('\n') + '\n');
  })();
}
