/** What any HTTP version keeps of a message's headers (src/http/headers.ts), and HTTP/1 start lines (src/http/h1/startLine.ts). */
import { HeaderCollector, MAX_KEPT_HEADERS, MAX_URI_LENGTH, type HeaderFields } from '../src/http/headers';
import { parseStartLine, type StartLine } from '../src/http/h1/startLine';
import { TextCache } from '../src/protocol/sanitize';

/** Feeds `fields` (name, value) to `collector` as one message and returns what it keeps. */
function collect(collector: HeaderCollector, fields: Array<[string, string]>): HeaderFields {
  collector.start();
  for (const [name, value] of fields) {
    const buf = Buffer.from(`${name}${value}`, 'utf8');
    collector.add(buf, 0, Buffer.byteLength(name), Buffer.byteLength(name), buf.length);
  }
  const into: HeaderFields = { host: 'stale', ua: 'stale', forwardedFor: 'stale', kept: 'stale' };
  collector.finish(into);
  return into;
}

describe('header fields', () => {
  const collector = new HeaderCollector({ maxStrLength: 64 });

  it('reads Host and User-Agent in any case, the first of each', () => {
    expect(collect(collector, [['HOST', 'a.example'], ['host', 'b.example'], ['user-AGENT', 'ua/1'], ['User-Agent', 'ua/2']]))
      .toEqual({ host: 'a.example', ua: 'ua/1', forwardedFor: '', kept: '' });
  });

  it('keeps the detail headers under their written names, and secrets only as present', () => {
    const fields = collect(collector, [['referer', 'http://r/'], ['COOKIE', 's=secret'], ['authorization', 'Basic c2VjcmV0'], ['Proxy-Authorization', 'x'], ['Set-Cookie', 'y'], ['X-Other', 'z']]);
    expect(fields.kept.split('\n')).toEqual(['Referer: http://r/', 'Cookie: present, not shown', 'Authorization: present, not shown',
      'Proxy-Authorization: present, not shown', 'Set-Cookie: present, not shown']);
    expect(JSON.stringify(fields)).not.toMatch(/secret|c2VjcmV0/);
  });

  it('joins X-Forwarded-For headers in order, and prefers Forwarded for the client', () => {
    expect(collect(collector, [['X-Forwarded-For', '198.51.100.4'], ['x-forwarded-for', '203.0.113.9']]).forwardedFor).toBe('198.51.100.4, 203.0.113.9');
    const both = collect(collector, [['X-Forwarded-For', '198.51.100.4'], ['Forwarded', 'for="[2001:db8::1]";proto=https']]);
    expect(both.forwardedFor).toBe('[2001:db8::1]');
    expect(both.kept).toBe('X-Forwarded-For: 198.51.100.4\nForwarded: for="[2001:db8::1]";proto=https');
  });

  it('keeps at most MAX_KEPT_HEADERS lines', () => {
    const many: Array<[string, string]> = Array.from({ length: MAX_KEPT_HEADERS + 5 }, (_, i) => ['Accept', `${i}`]);
    expect(collect(collector, many).kept.split('\n')).toHaveLength(MAX_KEPT_HEADERS);
  });

  it('bounds values by max_str_length and escapes control characters', () => {
    const fields = collect(collector, [['Host', 'h'.repeat(200)], ['User-Agent', 'evil\x1b[2J']]);
    expect(fields.host).toBe('h'.repeat(64));
    expect(fields.ua).toBe('evil\\x1b[2J');
  });

  it('keeps no detail without keepHeaders, yet still names the client behind a proxy', () => {
    const headless = new HeaderCollector({ maxStrLength: 64, keepHeaders: false });
    expect(collect(headless, [['X-Forwarded-For', '198.51.100.4'], ['Referer', 'r'], ['Cookie', 'c']])).toEqual({ host: '', ua: '', forwardedFor: '198.51.100.4', kept: '' });
  });

  it('keeps every header for a HAR export (keepHeaders all): token names only, bounded, secrets and API keys only as present', () => {
    const all = new HeaderCollector({ maxStrLength: 16, keepHeaders: 'all' });
    const fields = collect(all, [['Accept-Language', 'en'], ['X-Api-Key', 'k-secret'], ['bad name', 'v'], ['X-Long', 'x'.repeat(40)], ['Cookie', 'c-secret'], ['X-Ctl', 'a\x1bb']]);
    expect(fields.kept.split('\n')).toEqual(['Accept-Language: en', 'X-Api-Key: present, not shown', `X-Long: ${'x'.repeat(16)}`, 'Cookie: present, not shown', 'X-Ctl: a\\x1bb']);
    expect(fields.kept).not.toContain('secret');
    const many: Array<[string, string]> = Array.from({ length: 60 }, (_, i) => [`X-H${i}`, 'v']);
    expect(collect(all, many).kept.split('\n')).toHaveLength(48);
  });

  it('HTTP/2 fields (as text): a name in the wrong case or with spaces is still a secret', () => {
    const all = new HeaderCollector({ maxStrLength: 64, keepHeaders: 'all' });
    all.start();
    for (const [name, value] of [['Cookie', 'a-secret'], ['cookie ', 'b-secret'], ['AUTHORIZATION', 'c-secret'], ['x-trace', 't'], ['bad:name', 'v']]) all.addText(name, value);
    const into: HeaderFields = { host: '', ua: '', forwardedFor: '', kept: '' };
    all.finish(into);
    expect(into.kept.split('\n')).toEqual(['Cookie: present, not shown', 'Cookie: present, not shown', 'Authorization: present, not shown', 'x-trace: t']);
  });

  it('starts each message clean', () => {
    collect(collector, [['Host', 'a'], ['Referer', 'r'], ['X-Forwarded-For', '1.2.3.4']]);
    expect(collect(collector, [])).toEqual({ host: '', ua: '', forwardedFor: '', kept: '' });
  });

  it('gives each message its own kept lines while it remembers the last few messages\' (a cached value repeats)', () => {
    const cached = new HeaderCollector({ maxStrLength: 64 }, new TextCache(16));
    // More distinct sets of kept headers than are remembered, in turns, some sharing a prefix or a value.
    const sets: Array<Array<[string, string]>> = [
      [['Content-Type', 'text/html'], ['Server', 'nginx']],
      [['Content-Type', 'text/html']],
      [['Content-Type', 'text/html'], ['Server', 'nginx'], ['Cookie', 'c=1']],
      [['Server', 'nginx'], ['Content-Type', 'text/html']],
      [['Content-Type', 'text/plain'], ['Server', 'nginx']],
      [['Content-Type', 'text/html'], ['Server', 'nginx'], ['X-Forwarded-For', '10.0.0.1']],
      [['Content-Type', 'text/html'], ['Server', 'nginx'], ['X-Forwarded-For', '10.0.0.2']],
    ];
    const expected = sets.map((fields) => collect(collector, fields).kept);
    expect(new Set(expected).size).toBe(sets.length);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < sets.length; i++) expect(collect(cached, sets[(i * (round + 2)) % sets.length]).kept).toBe(expected[(i * (round + 2)) % sets.length]);
    }
    expect(collect(cached, [['Referer', 'r']]).kept).toBe('Referer: r');
    expect(collect(cached, []).kept).toBe('');
  });
});

describe('HTTP/1 start lines', () => {
  const line = (text: string): StartLine | null => {
    const into: StartLine = { isRequest: true, method: '', uri: '', version: '', status: 0, uriTruncated: false };
    return parseStartLine(Buffer.from(text, 'latin1'), 0, text.length, 64, into) ? into : null;
  };

  it('reads request and status lines', () => {
    expect(line('PROPFIND /dav HTTP/1.1')).toMatchObject({ isRequest: true, method: 'PROPFIND', uri: '/dav', version: '1.1' });
    expect(line('HTTP/1.1 101 Switching Protocols')).toMatchObject({ isRequest: false, status: 101, version: '1.1' });
    expect(line('HTTP/2.0 200')).toMatchObject({ isRequest: false, status: 200, version: '2.0' });
  });

  it('takes a versionless line for HTTP/0.9 only with a well-known method and a target', () => {
    expect(line('GET /old')).toMatchObject({ method: 'GET', uri: '/old', version: '0.9' });
    expect(line('HELLO there')).toBeNull();
    expect(line('GET ')).toBeNull();
  });

  it('reads a target the same through a cache, escaped when it holds control bytes, and cut when long', () => {
    const uris = new TextCache(4);
    const read = (text: string): StartLine => {
      const into: StartLine = { isRequest: true, method: '', uri: '', version: '', status: 0, uriTruncated: false };
      const buf = Buffer.from(text, 'latin1');
      expect(parseStartLine(buf, 0, buf.length, 64, into, uris)).toBe(true);
      return into;
    };
    const targets = ['/a', '/b?q=1', '/a', `/${'x'.repeat(300)}`, '/esc\x1b[2J', '/a', '/b?q=2', ...Array.from({ length: 20 }, (_, i) => `/p${i}`), '/a'];
    for (const target of targets) {
      expect(read(`GET ${target} HTTP/1.1`)).toMatchObject({ uri: target.replace('\x1b', '\\x1b'), uriTruncated: false });
    }
    const long = read(`GET /${'a'.repeat(MAX_URI_LENGTH)} HTTP/1.1`);
    expect(long.uri).toBe(`/${'a'.repeat(MAX_URI_LENGTH - 1)}`);
    expect(long.uriTruncated).toBe(true);
    expect(read('GET /a HTTP/1.1').uriTruncated).toBe(false);
  });

  it('cuts a target past MAX_URI_LENGTH and says so', () => {
    const long = line(`GET /${'a'.repeat(MAX_URI_LENGTH)} HTTP/1.1`)!;
    expect(long.uri).toHaveLength(MAX_URI_LENGTH);
    expect(long.uriTruncated).toBe(true);
  });
});
