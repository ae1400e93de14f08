import { compileFilter, FilterError } from '../src/filter/filter';
import { FIELDS } from '../src/filter/fields';
import type { HttpEvent } from '../src/types';

function event(overrides: Partial<HttpEvent> = {}): HttpEvent {
  return {
    ts: 1_700_000_000, src: '10.1.2.3', sport: 40000, dst: '192.168.0.10', dport: 8080, method: 'GET', host: 'api.example.com',
    uri: '/api/users/42?debug=1', section: '/api', status: 200, reqBytes: 0, respBytes: 1500, ua: 'curl/8.0', latencyMs: 120,
    version: '1.1', route: '/api/users/{id}', client: '10.1.2.3', uriTruncated: false, requestHeaders: '', responseHeaders: '',
    ...overrides,
  };
}

const E = event();
const POST_SLOW = event({ method: 'POST', uri: '/api/orders', section: '/api', route: '/api/orders', latencyMs: 750, reqBytes: 3000, status: 503 });
const STATIC = event({ host: 'www.example.com', uri: '/static/app.js', section: '/static', route: '/static/app.js', status: 304, latencyMs: 2, respBytes: 0, ua: 'Mozilla/5.0 Chrome/120' });
const UNANSWERED = event({ status: null, latencyMs: null, uri: '/health', section: '/health', route: '/health' });
const H2 = event({ version: '2', https: true, sni: 'api.example.com', src: '2001:db8::5', client: '2001:db8::5', dst: '2001:db8::1', dport: 443, streamId: 3 });
const GRPC = event({ version: '2', grpcMethod: 'pkg.Svc/Get', grpcStatus: 5, grpcMessage: 'nope', uri: '/pkg.Svc/Get' });
const FORWARDED = event({ client: '203.0.113.9', src: '10.0.0.1' });
const ALL = [E, POST_SLOW, STATIC, UNANSWERED, H2, GRPC, FORWARDED];

function which(text: string): number[] {
  const { matches } = compileFilter(text);
  return ALL.flatMap((e, i) => (matches(e) ? [i] : []));
}

function problem(text: string): string {
  try {
    compileFilter(text);
  } catch (error) {
    expect(error).toBeInstanceOf(FilterError);
    return (error as Error).message;
  }
  throw new Error(`"${text}" compiled`);
}

describe('filter language: fields and operators', () => {
  it('matches everything when empty', () => {
    expect(which('')).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('compares methods and hosts without regard to case, with wildcards', () => {
    expect(which('method = post')).toEqual([1]);
    expect(which('method != GET')).toEqual([1]);
    expect(which('method in (post, put)')).toEqual([1]);
    expect(which('method not in (GET)')).toEqual([1]);
    expect(which('host = WWW.example.com')).toEqual([2]);
    expect(which('host = *.example.com')).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(which('host = api.*')).toEqual([0, 1, 3, 4, 5, 6]);
  });

  it('reads path without the query, uri with it, route and section', () => {
    expect(which('path = /api/users/42')).toEqual([0, 4, 6]);
    expect(which('uri = /api/users/42')).toEqual([]);
    expect(which('uri ~ debug=1')).toEqual([0, 4, 6]);
    expect(which('path ~ ^/api/(users|orders)')).toEqual([0, 1, 4, 6]);
    expect(which('route = /api/users/{id}')).toEqual([0, 3, 4, 5, 6].filter((i) => ALL[i].route === '/api/users/{id}'));
    expect(which('section = /static')).toEqual([2]);
    expect(which('path !~ ^/api')).toEqual([2, 3, 5]);
  });

  it('compares statuses by code, class, range and none', () => {
    expect(which('status = 5xx')).toEqual([1]);
    expect(which('status >= 300')).toEqual([1, 2]);
    expect(which('status < 300')).toEqual([0, 4, 5, 6]);
    expect(which('status = 300..399')).toEqual([2]);
    expect(which('status = 500-599')).toEqual([1]);
    expect(which('status in (304, 503)')).toEqual([1, 2]);
    expect(which('status = none')).toEqual([3]);
    expect(which('status != none')).toEqual([0, 1, 2, 4, 5, 6]);
    // No status: every comparison is false, and != (its negation) true.
    expect(which('status != 200')).toEqual([1, 2, 3]);
    expect(which('status > 5xx')).toEqual([]);
  });

  it('compares latency with units', () => {
    expect(which('latency > 500ms')).toEqual([1]);
    expect(which('latency > 0.5s')).toEqual([1]);
    expect(which('latency >= 750')).toEqual([1]);
    expect(which('latency < 1ms')).toEqual([]);
    expect(which('latency < 2001us')).toEqual([2]);
    expect(which('latency = 100ms..200ms')).toEqual([0, 4, 5, 6]);
    // An end without a unit takes the other end's: 0.1-0.2s is 100 to 200 ms, not 0.1 ms to 200 ms.
    expect(which('latency = 0.1-0.2s')).toEqual([0, 4, 5, 6]);
    expect(which('latency = none')).toEqual([3]);
  });

  it('compares body sizes with binary multiples', () => {
    expect(which('req_bytes > 2k')).toEqual([1]);
    expect(which('req_bytes > 3k')).toEqual([]);
    expect(which('resp_bytes = 0')).toEqual([2]);
    expect(which('resp_bytes >= 1kb')).toEqual([0, 1, 3, 4, 5, 6]);
  });

  it('matches client and server by IP, network, port and IP:port, IPv6 included', () => {
    expect(which('client = 10.0.0.0/8')).toEqual([0, 1, 2, 3, 5]);
    expect(which('client = 203.0.113.9')).toEqual([6]);
    expect(which('client = 2001:db8::/32')).toEqual([4]);
    expect(which('server = :443')).toEqual([4]);
    expect(which('server = 192.168.0.10:8080')).toEqual([0, 1, 2, 3, 5, 6]);
    expect(which('server = [2001:db8::1]:443')).toEqual([4]);
    expect(which('server != 192.168.0.0/16')).toEqual([4]);
    expect(which('client in (203.0.113.0/24, 2001:db8::5)')).toEqual([4, 6]);
    expect(which('client ~ ^203\\.')).toEqual([6]);
    // A forwarded client has no port of its own.
    expect(which('client = :40000')).toEqual([0, 1, 2, 3, 4, 5]);
    expect(which('server_port in (443)')).toEqual([4]);
    expect(which('client_port = 40000..40010')).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('reads user agent, protocol, sni, node, gRPC and the yes/no fields', () => {
    expect(which('ua ~ (?i)chrome')).toEqual([2]);
    expect(which('ua = curl/8.0')).toEqual([0, 1, 3, 4, 5, 6]);
    expect(which('protocol = http/2')).toEqual([4]);
    expect(which('protocol = gRPC')).toEqual([5]);
    expect(which('sni = API.example.com')).toEqual([4]);
    expect(which('sni = ""')).toEqual([0, 1, 2, 3, 5, 6]);
    expect(which('node = ""')).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(which('grpc_status = NOT_FOUND')).toEqual([5]);
    expect(which('grpc_status != OK')).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(which('grpc_method ~ ^pkg\\.')).toEqual([5]);
    expect(which('unanswered')).toEqual([3]);
    expect(which('unanswered = false')).toEqual([0, 1, 2, 4, 5, 6]);
    expect(which('error')).toEqual([1, 3, 5]);
    expect(which('https')).toEqual([4]);
    expect(which('not https')).toEqual([0, 1, 2, 3, 5, 6]);
  });

  it('combines with and, or, not, parentheses, juxtaposition and the C-style symbols', () => {
    expect(which('method = POST and path ~ ^/api and latency > 500ms')).toEqual([1]);
    expect(which('status = 5xx or unanswered')).toEqual([1, 3]);
    expect(which('not (status = 5xx or unanswered)')).toEqual([0, 2, 4, 5, 6]);
    expect(which('!error && host = www.example.com')).toEqual([2]);
    expect(which('status = 304 || status = 503')).toEqual([1, 2]);
    expect(which('method = GET status = 304')).toEqual([2]);
    // and binds tighter than or.
    expect(which('method = POST or status = 304 and latency < 5ms')).toEqual([1, 2]);
    expect(which('(method = POST or status = 304) and latency < 5ms')).toEqual([2]);
    expect(which('NOT method=GET')).toEqual([1]);
  });

  it('keeps the bare word of the old filter: text in host or URI, any case, and /regex/flags', () => {
    expect(which('STATIC')).toEqual([2]);
    expect(which('www')).toEqual([2]);
    expect(which('"/api/orders"')).toEqual([1]);
    expect(which('/api/orders')).toEqual([1]);
    expect(which('/^\\/HEALTH$/i')).toEqual([3]);
    expect(which('/^\\/health$/')).toEqual([3]);
    expect(which('health and not error')).toEqual([]);
    expect(which('api -health')).toEqual([]);
    // `in` after a word that is no field is a word too; a quoted * is itself.
    expect(which('sign in')).toEqual([]);
    expect(which('host = "api.*"')).toEqual([]);
    expect(which('status=503||status=304')).toEqual([1, 2]);
    expect(which('method=POST&&status=5xx')).toEqual([1]);
  });
});

describe('filter language: literal patterns and wildcards answer as RE2 does', () => {
  const texts = ['/api/users', '/API/users', '/static/app.png', 'x.png.bak', 'GoogleBot/2.1', 'googlebot', 'ſtatic', 'K-bot', '', 'a$b', 'a.b', 'axb', '/health', '/healthz'];
  it.each(['^/api', 'png$', '\\.png$', '(?i)bot', '(?i)^/API', '^/health$', 'a\\$b', 'a\\.b', '(?i)static', '(?i)k-bot', 'bot'])('ua ~ %s', (pattern) => {
    const { RE2JS } = require('re2js') as typeof import('re2js');
    const re = RE2JS.compile(pattern);
    const { matches } = compileFilter(`ua ~ "${pattern}"`);
    for (const text of texts) expect([text, matches(event({ ua: text }))]).toEqual([text, re.matcher(text).find()]);
  });

  it.each(['*.example.com', 'api.*', '*', '*api*', 'a*b*c'])('host = %s', (glob) => {
    const re = new RegExp(`^${glob.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
    const { matches } = compileFilter(`host = ${glob}`);
    for (const host of ['api.example.com', 'www.example.com', 'example.com', 'abc', 'ac', 'API.EXAMPLE.COM', 'xapix']) {
      expect([host, matches(event({ host }))]).toEqual([host, re.test(host)]);
    }
  });
});

describe('filter language: TLS connection records', () => {
  const record = {
    ts: 1_700_000_000, src: '10.1.2.3', sport: 40000, dst: '192.168.0.10', dport: 443, serverName: 'api.example.com', versionsOffered: [], version: 'TLS 1.3',
    cipher: '', alpnOffered: [], alpn: 'h2', handshakeMs: 1, bytesToServer: 1, bytesToClient: 1, durationMs: 1, decrypted: false, requests: 0,
  };
  it.each([
    ['client = 10.0.0.0/8', true],
    ['sni = *.example.com and server = :443', true],
    ['not client = 10.0.0.0/8', false],
    ['https', false],
    ['not https', true],
    // About requests, which a record has none of: left out, negated or not.
    ['not ua ~ (?i)bot', false],
    ['status = 5xx', false],
    ['unanswered', false],
    ['client = 10.0.0.0/8 and not path ~ ^/health', false],
    ['example', false],
  ])('%s: %s', (where, kept) => {
    expect(compileFilter(where).matchesConnection(record)).toBe(kept);
  });
});

describe('filter language: errors name the problem and its column', () => {
  it.each([
    ['stauts = 500', 'unknown field "stauts"', 1],
    ['status >= 5xx and latncy > 1s', 'unknown field "latncy"', 19],
    ['status = fivehundred', '"fivehundred" is not a value of status', 10],
    ['status = 500 )', 'unexpected ")"', 14],
    ['latency > 3parsecs', '"3parsecs" is not a value of latency', 11],
    ['latency > 5constructor', '"5constructor" is not a value of latency', 11],
    ['a and or b', '"or" needs a term on each side', 7],
    ['or b', '"or" needs a term on each side', 1],
    ['ua ~ ".{1000}.{1000}x"', 'regex too large', 6],
    ['ua ~ "(a{900}){900}"', 'regex too large', 6],
    ['host > abc', '"host" takes =, !=, ~, !~ or in, not >', 6],
    ['client = 10.0.0.300', '"10.0.0.300" is not an address of client', 10],
    ['client = 10.0.0.0/33', 'the prefix length must be 0..32', 10],
    ['path ~ "(unclosed"', 'bad regex: missing closing )', 8],
    ['(status = 500', 'missing ")" for the "(" at column 1', 14],
    ['method in GET', '"in" takes a list in parentheses', 11],
    ['method in (GET, POST', 'missing ")" for the list at column 11', 21],
    ['status =', 'a value is missing after the operator', 9],
    ['uri = "abc', 'missing closing " for the text at column 7', 11],
    ['status = 599..500', 'runs backwards', 10],
    ['unanswered = maybe', '"maybe" is not a value of unanswered', 14],
    ['host', '"host" needs an operator and a value', 1],
    ['a or', 'a term is missing', 5],
    [') a', 'unexpected ")"', 1],
    ['status = none and status < none', '"status" takes = or != with none, not <', 26],
  ])('%s', (text, message, column) => {
    const said = problem(text);
    expect(said).toContain(message);
    expect(said).toContain(`at column ${column}`);
  });

  it('bounds the text and its nesting', () => {
    expect(problem('a'.repeat(5000))).toContain('longer than 4096');
    expect(problem(`${'('.repeat(100)}a${')'.repeat(100)}`)).toContain('levels of parentheses');
    expect(problem(`${'not '.repeat(100)}a`)).toContain('levels of parentheses');
  });

  it('never throws anything but a FilterError on noise', () => {
    const alphabet = ['(', ')', '"', "'", '/', '=', '!', '<', '>', '~', ',', ' ', 'a', 'in', 'not', 'or', 'and', 'status', '5xx', '..', '\\', '*', 'client', ':', '1'];
    let seed = 7;
    const random = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
    for (let i = 0; i < 3000; i++) {
      let text = '';
      for (let j = random() % 12; j > 0; j--) text += alphabet[random() % alphabet.length];
      try {
        const { matches } = compileFilter(text);
        for (const e of ALL) expect(typeof matches(e)).toBe('boolean');
      } catch (error) {
        expect(error).toBeInstanceOf(FilterError);
      }
    }
  });

  it('documents every field with an example', () => {
    for (const field of FIELDS) expect(field.description.length).toBeGreaterThan(10);
  });
});
