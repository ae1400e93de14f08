/**
 * The per-connection dispatcher with scripted protocols: the first that says yes takes the
 * connection, a probe that wants more is shown more, a stream joined mid-way is probed until a
 * protocol knows its bytes, and nested streams are chosen by their ALPN name.
 */
import { FlowDispatcher, MAX_NESTING_DEPTH, MAX_PROBE_BYTES, type ProtocolSet } from '../src/protocol/dispatcher';
import { NestedKind, type FlowContext } from '../src/protocol/flowContext';
import { Probe, type Protocol, type ProtocolSession } from '../src/protocol/protocol';
import { emptyCaptureStats, type HttpEvent } from '../src/types';

/** What a scripted session was given, as text. */
interface Recorded {
  protocol: string;
  a: string[];
  b: string[];
  finished: string[];
  closed: boolean;
}

/** A protocol whose probe is a function of the bytes; its sessions record what they get. */
function scripted(name: string, probe: (text: string, midStream: boolean) => Probe, alpn: string[] = []): Protocol & { sessions: Recorded[]; contexts: FlowContext[] } {
  const sessions: Recorded[] = [];
  const contexts: FlowContext[] = [];
  return {
    name, alpn, sessions, contexts,
    probe: (buf, start, end, midStream) => probe(buf.toString('latin1', start, end), midStream),
    open(context): ProtocolSession {
      const record: Recorded = { protocol: name, a: [], b: [], finished: [], closed: false };
      sessions.push(record);
      contexts.push(context);
      const side = (list: string[]) => ({
        push: (buf: Buffer, start: number, end: number) => { list.push(buf.toString('latin1', start, end)); },
        gap: (_ts: number, missing: number) => { list.push(`<gap ${missing}>`); },
      });
      return {
        a: side(record.a), b: side(record.b), oldestPendingTs: Infinity,
        finish: (fromA) => { record.finished.push(fromA ? 'a' : 'b'); },
        close: () => { record.closed = true; },
      };
    },
    recycle: () => undefined,
  };
}

const bytes = (text: string) => Buffer.from(text, 'latin1');

function dispatcherOf(outer: Protocol[], nested: Protocol[] = outer): { dispatcher: FlowDispatcher; events: HttpEvent[]; stats: ReturnType<typeof emptyCaptureStats> } {
  const events: HttpEvent[] = [];
  const stats = emptyCaptureStats();
  const protocols: ProtocolSet = { outer, nested };
  const dispatcher = new FlowDispatcher({ addrA: '10.0.0.1', portA: 40000, addrB: '10.0.0.2', portB: 443 }, stats, protocols, (e) => events.push(e), () => undefined);
  return { dispatcher, events, stats };
}

describe('the flow dispatcher', () => {
  it('gives the connection to the first protocol that says yes, and every later byte of both directions to its session', () => {
    const tls = scripted('tls', (t) => (t.startsWith('\x16') ? Probe.Yes : Probe.No));
    const http = scripted('http', () => Probe.Yes);
    const { dispatcher } = dispatcherOf([tls, http]);
    dispatcher.a.push(bytes('GET / HTTP/1.1\r\n'), 0, 16, 1);
    dispatcher.b.push(bytes('HTTP/1.1 200 OK\r\n'), 0, 17, 2);
    dispatcher.a.push(bytes('\x16\x03\x01'), 0, 3, 3);
    expect(tls.sessions).toHaveLength(0);
    expect(http.sessions[0]).toMatchObject({ a: ['GET / HTTP/1.1\r\n', '\x16\x03\x01'], b: ['HTTP/1.1 200 OK\r\n'] });
    expect(dispatcher.protocolName).toBe('http');
  });

  it('holds the first bytes while a probe wants more, then gives the chosen session all of them', () => {
    const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
    const h2 = scripted('h2', (t) => (t.startsWith(preface) ? Probe.Yes : preface.startsWith(t) ? Probe.NeedMore : Probe.No));
    const http = scripted('http', () => Probe.Yes);
    const { dispatcher } = dispatcherOf([h2, http]);
    const source = bytes(`${preface}frames`);
    // The capture reuses its buffer: the held bytes must be a copy.
    const reused = Buffer.from(source.subarray(0, 10));
    dispatcher.a.push(reused, 0, 10, 1);
    reused.fill(0x58);
    expect(h2.sessions).toHaveLength(0);
    dispatcher.a.push(source, 10, source.length, 2);
    expect(h2.sessions[0].a).toEqual([`${preface}frames`]);
    expect(http.sessions).toHaveLength(0);
  });

  it('counts a probe that wants more than it may hold as a no', () => {
    const greedy = scripted('greedy', () => Probe.NeedMore);
    const http = scripted('http', () => Probe.Yes);
    const { dispatcher } = dispatcherOf([greedy, http]);
    const text = 'x'.repeat(MAX_PROBE_BYTES + 1);
    dispatcher.a.push(bytes(text.slice(0, 10)), 0, 10, 1);
    dispatcher.a.push(bytes(text.slice(10)), 0, text.length - 10, 2);
    expect(greedy.sessions).toHaveLength(0);
    expect(http.sessions[0].a).toEqual([text]);
  });

  it('decides on what it holds when the connection ends before the probe is sure', () => {
    const h2 = scripted('h2', (t) => (t.length < 24 ? Probe.NeedMore : Probe.No));
    const http = scripted('http', () => Probe.Yes);
    const { dispatcher } = dispatcherOf([h2, http]);
    dispatcher.a.push(bytes('PRI'), 0, 3, 1);
    dispatcher.finish(true, 2);
    dispatcher.close(3);
    expect(http.sessions[0]).toMatchObject({ a: ['PRI'], finished: ['a'], closed: true });
  });

  it('probes a stream joined mid-way segment by segment, dropping what no protocol knows, and tells the session bytes were lost', () => {
    const tls = scripted('tls', (t, mid) => (mid && t.startsWith('\x17\x03\x03') ? Probe.Yes : Probe.No));
    const http = scripted('http', (_t, mid) => (mid ? Probe.No : Probe.Yes));
    const { dispatcher, stats } = dispatcherOf([tls, http]);
    dispatcher.a.gap(1, -1);
    dispatcher.a.push(bytes('middle of a record'), 0, 18, 1);
    expect(tls.sessions.length + http.sessions.length).toBe(0);
    dispatcher.a.push(bytes('\x17\x03\x03\x00\x10'), 0, 5, 2);
    expect(tls.sessions[0].a).toEqual(['<gap -1>', '\x17\x03\x03\x00\x10']);
    expect(stats.nonHttpFlows).toBe(0);
  });

  it('gives up a connection from its start when no protocol knows it, counted, and drops its bytes', () => {
    const tls = scripted('tls', () => Probe.No);
    const { dispatcher, stats } = dispatcherOf([tls]);
    dispatcher.a.push(bytes('SSH-2.0-OpenSSH'), 0, 15, 1);
    dispatcher.b.push(bytes('SSH-2.0-OpenSSH'), 0, 15, 1);
    expect(stats.nonHttpFlows).toBe(1);
    expect(tls.sessions).toHaveLength(0);
  });

  it('opens a nested stream with the protocol its ALPN names, without a probe, and marks its transactions https', () => {
    const h2 = scripted('h2', () => Probe.No, ['h2']);
    const http = scripted('http', () => Probe.Yes, ['http/1.1']);
    const { dispatcher, events } = dispatcherOf([http], [http, h2]);
    expect(dispatcher.acceptsNested('h2')).toBe(true);
    expect(dispatcher.acceptsNested('')).toBe(true);
    expect(dispatcher.acceptsNested('imap')).toBe(false);
    const nested = dispatcher.openNested('h2');
    nested.b.push(bytes('\x00\x00\x00\x04'), 0, 4, 1);
    expect(h2.sessions[0].b).toEqual(['\x00\x00\x00\x04']);
    h2.contexts[0].emit({ uri: '/' } as HttpEvent);
    expect(events[0].https).toBe(true);
    expect([nested.transactions, dispatcher.transactions]).toEqual([1, 1]);
  });

  it('opens an Upgrade\'s stream only with the protocol its name names, at once, never by a probe, and its transactions are not https', () => {
    const h2 = scripted('h2', () => Probe.No, ['h2', 'h2c']);
    const http = scripted('http', () => Probe.Yes, ['http/1.1']);
    const { dispatcher, events, stats } = dispatcherOf([http], [http, h2]);
    const nested = dispatcher.openNested('h2c', { kind: NestedKind.Upgrade });
    // Opened before any byte: a session to offer the upgrade request to.
    expect(h2.sessions).toHaveLength(1);
    nested.a.push(bytes('PRI * HTTP/2.0'), 0, 14, 1);
    expect(h2.sessions[0].a).toEqual(['PRI * HTTP/2.0']);
    h2.contexts[0].emit({ uri: '/' } as HttpEvent);
    expect(events[0].https).toBeUndefined();
    expect(nested.adoptedUpgradedRequest).toBe(false);
    expect(stats.upgradedFlows).toBe(0);
  });

  it('drops an Upgrade\'s stream no protocol names (WebSocket) quietly: counted as upgraded, not as non-HTTP, even though a probe would say yes', () => {
    const http = scripted('http', () => Probe.Yes, ['http/1.1']);
    const { dispatcher, stats } = dispatcherOf([http], [http]);
    const nested = dispatcher.openNested('websocket', { kind: NestedKind.Upgrade });
    nested.a.push(bytes('GET / HTTP/1.1\r\n\r\n'), 0, 18, 1);
    nested.b.push(bytes('\x81\x05hello'), 0, 7, 2);
    nested.finish(true, 3);
    nested.close(4);
    expect(http.sessions).toHaveLength(0);
    expect(stats).toMatchObject({ upgradedFlows: 1, nonHttpFlows: 0 });
  });

  it('offers the upgrade request to the session it opens, which may adopt it', () => {
    const adopted: HttpEvent[] = [];
    const base = scripted('h2', () => Probe.No, ['h2c']);
    const h2: Protocol = { ...base, open: (context) => ({ ...base.open(context)!, adoptUpgradedRequest: (event) => adopted.push(event) > 0 }) };
    const { dispatcher } = dispatcherOf([base], [h2]);
    const request = { uri: '/up', status: 101 } as HttpEvent;
    expect(dispatcher.openNested('h2c', { kind: NestedKind.Upgrade, upgradedRequest: request }).adoptedUpgradedRequest).toBe(true);
    expect(adopted).toEqual([request]);
  });

  it('dispatches a CONNECT tunnel as a connection of its own: probed among the outer protocols, whatever its name', () => {
    const tls = scripted('tls', (t) => (t.startsWith('\x16') ? Probe.Yes : Probe.No));
    const http = scripted('http', () => Probe.Yes, ['http/1.1']);
    const { dispatcher } = dispatcherOf([tls, http], [http]);
    const nested = dispatcher.openNested('', { kind: NestedKind.Tunnel });
    expect(tls.sessions.length + http.sessions.length).toBe(0);
    nested.a.push(bytes('\x16\x03\x01'), 0, 3, 1);
    expect(tls.sessions[0].a).toEqual(['\x16\x03\x01']);
  });

  it('marks https what is nested in TLS plaintext, however deep, and gives up a stream nested too deep, counted', () => {
    const http = scripted('http', () => Probe.Yes, ['http/1.1']);
    const { dispatcher, events, stats } = dispatcherOf([http], [http]);
    dispatcher.openNested('http/1.1', { kind: NestedKind.TlsPlaintext });
    // Each level a tunnel opened by the session of the one before.
    for (let depth = 2; depth <= MAX_NESTING_DEPTH; depth++) {
      http.contexts[depth - 2].openNested('', { kind: NestedKind.Tunnel }).a.push(bytes('GET'), 0, 3, depth);
    }
    expect(http.sessions).toHaveLength(MAX_NESTING_DEPTH);
    http.contexts[MAX_NESTING_DEPTH - 1].emit({ uri: '/deep' } as HttpEvent);
    expect(events[0].https).toBe(true);
    expect(dispatcher.transactions).toBe(1);
    const tooDeep = http.contexts[MAX_NESTING_DEPTH - 1].openNested('', { kind: NestedKind.Tunnel });
    tooDeep.a.push(bytes('GET'), 0, 3, 9);
    expect(http.sessions).toHaveLength(MAX_NESTING_DEPTH);
    expect(stats.nonHttpFlows).toBe(1);
  });

  it('is a new connection after reset: the next bytes are probed again', () => {
    const tls = scripted('tls', (t) => (t.startsWith('\x16') ? Probe.Yes : Probe.No));
    const http = scripted('http', () => Probe.Yes);
    const { dispatcher } = dispatcherOf([tls, http]);
    dispatcher.a.push(bytes('GET /'), 0, 5, 1);
    dispatcher.close(2);
    dispatcher.reset();
    dispatcher.a.push(bytes('\x16\x03\x01'), 0, 3, 3);
    expect(tls.sessions[0].a).toEqual(['\x16\x03\x01']);
    expect(http.sessions[0].closed).toBe(true);
  });
});
