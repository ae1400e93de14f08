/** Many servers in one view: wiretop's --ndjson read back, and several streams merged in time order. */
import { EventMerger, MAX_MERGE_HELD, parseEventLine, parseHealthLine, type NodeEvent } from '../src/capture/ndjsonInput';
import { eventLine } from '../src/sinks/ndjson';
import { httpEvent } from './helpers/events';

const T0 = 1_700_000_000;

function nodeEvent(ts: number, node: string): NodeEvent {
  return { ...httpEvent(ts), node };
}

describe('--ndjson lines read back', () => {
  it('give back the transaction wiretop wrote, with its node', () => {
    const event = httpEvent(T0 + 0.25, { status: null, latencyMs: null, route: '/api/{id}', client: '203.0.113.9' });
    const line = eventLine(event).trim().slice(0, -1) + ',"node":"web1"}';
    expect(parseEventLine(line, 1024, 'file.ndjson')).toEqual({ ...event, node: 'web1' });
    // Without a node field, the source's name.
    expect(parseEventLine(eventLine(event), 1024, 'web2.ndjson')?.node).toBe('web2.ndjson');
  });

  it('treat every line as hostile: bad JSON, wrong types, absurd values are refused; strings are bounded and escaped', () => {
    const good = JSON.parse(eventLine(httpEvent(T0))) as Record<string, unknown>;
    const bad = [
      '{nope', '[]', 'null', '42',
      JSON.stringify({ ...good, ts: 'yesterday' }), JSON.stringify({ ...good, ts: 1e13 }), JSON.stringify({ ...good, status: 42 }),
      JSON.stringify({ ...good, latencyMs: -1 }), JSON.stringify({ ...good, host: 7 }), JSON.stringify({ ...good, reqBytes: null }),
    ];
    for (const line of bad) expect([line, parseEventLine(line, 64, 'x')]).toEqual([line, null]);
    const hostile = parseEventLine(JSON.stringify({ ...good, host: `\u001b[2J${'h'.repeat(5000)}`, ua: 'x\u0007y', node: '\u001b]0;pwn\u0007' }), 64, 'x')!;
    expect(hostile.host.length).toBeLessThanOrEqual(64);
    expect(hostile.host.startsWith('\\x1b[2J')).toBe(true);
    expect(hostile.ua).toBe('x\\x07y');
    expect(hostile.node).toBe('\\x1b]0;pwn\\x07');
  });
});

describe('health lines', () => {
  it('say what a node\'s capture dropped; anything else is not one', () => {
    expect(parseHealthLine('{"kind":"health","node":"web1","ts":1,"packets":9,"kernelDrops":2,"ifDrops":1,"eventsDropped":4}')).toEqual({ node: 'web1', packets: 9, drops: 7 });
    expect(parseHealthLine('{"kind":"health","node":"web1","packets":-1,"kernelDrops":2,"ifDrops":1,"eventsDropped":4}')).toBeNull();
    expect(parseHealthLine(eventLine(httpEvent(T0)))).toBeNull();
    expect(parseHealthLine('{"kind":"health"')).toBeNull();
  });
});

describe('merging streams', () => {
  it('releases transactions in time order once every running source has caught up', () => {
    let now = 0;
    const merger = new EventMerger(['a', 'b'], 2000, () => now);
    merger.add(0, [nodeEvent(T0 + 1, 'a'), nodeEvent(T0 + 3, 'a')]);
    // b has sent nothing yet: nothing can go out.
    expect(merger.release()).toEqual([]);
    merger.add(1, [nodeEvent(T0 + 2, 'b')]);
    expect(merger.release().map((e) => [e.ts - T0, e.node])).toEqual([[1, 'a'], [2, 'b']]);
    merger.add(1, [nodeEvent(T0 + 5, 'b')]);
    expect(merger.release().map((e) => e.ts - T0)).toEqual([3]);
    // a ends: b is no longer held back by it.
    merger.end(0);
    expect(merger.release().map((e) => e.ts - T0)).toEqual([5]);
  });

  it('does not wait for a silent source past the bounded delay, and bounds what it holds', () => {
    let now = 0;
    const merger = new EventMerger(['a', 'b'], 2000, () => now);
    merger.add(0, [nodeEvent(T0 + 1, 'a')]);
    merger.add(1, [nodeEvent(T0 + 0.5, 'b')]);
    merger.add(0, [nodeEvent(T0 + 9, 'a')]);
    // b is at 0.5: a's later transactions wait for it.
    expect(merger.release().map((e) => e.ts - T0)).toEqual([0.5]);
    now += 2500; // b says nothing for 2.5 s: it is no longer waited for
    merger.add(0, [nodeEvent(T0 + 10, 'a')]);
    expect(merger.release().map((e) => e.ts - T0)).toEqual([1, 9, 10]);
    const flood = new EventMerger(['a', 'b'], 1e9, () => 0);
    flood.add(1, [nodeEvent(T0, 'b')]);
    flood.add(0, Array.from({ length: MAX_MERGE_HELD + 10 }, (_, i) => nodeEvent(T0 + 1 + i / 1000, 'a')));
    expect(flood.release().length).toBeGreaterThan(MAX_MERGE_HELD / 2);
  });

  it('flags a source whose clock is off by more than the window', () => {
    const merger = new EventMerger(['a', 'b', 'c'], 2000, () => 0);
    merger.add(0, [nodeEvent(T0 + 100, 'a')]);
    merger.add(1, [nodeEvent(T0 + 101, 'b')]);
    merger.add(2, [nodeEvent(T0 + 100 + 3600, 'c')]);
    expect(merger.skewed(120)).toEqual([2]);
  });
});
