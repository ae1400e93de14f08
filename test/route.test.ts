/** Route templates (src/http/route.ts) and client addresses behind proxies (src/http/clientAddress.ts). */
import { ClientResolver } from '../src/http/clientAddress';
import { forwardedForOf } from '../src/http/headers';
import { LEARN_THRESHOLD, RouteTemplater, compileRoute, pathOf } from '../src/http/route';

describe('route templates', () => {
  it('names the variable parts of real-looking API paths', () => {
    const routes = new RouteTemplater();
    const cases: [string, string][] = [
      ['/users/123/orders/9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f', '/users/{id}/orders/{uuid}'],
      ['/api/v1/items/42?expand=true', '/api/v1/items/{id}'],
      ['/static/app.3f9a1c2b7d4e5f60a1b2.js', '/static/app.{hash}.js'],
      ['/static/vendor-5f60a1b2.min.js', '/static/vendor-{hash}.min.js'],
      ['/commits/4b825dc642cb6eb9a060e54bf8d69288fbee4904', '/commits/{hash}'],
      ['/reports/2024-01-31/summary', '/reports/{date}/summary'],
      ['/invite/jane.doe@example.com', '/invite/{email}'],
      ['/reset/aZ3kP9qR2xT7mB1vQ8wE', '/reset/{token}'],
      ['/s/eyJhbGciOiJIUzI1NiJ9Q2xhaW1z', '/s/{token}'],
      ['/', '/'],
      ['/health', '/health'],
      ['/a//b/', '/a//b/'],
      ['http://proxy.example/p/7?x', '/p/{id}'],
    ];
    for (const [uri, route] of cases) expect([uri, routes.route(uri)]).toEqual([uri, route]);
  });

  it('keeps slugs and words literal', () => {
    const routes = new RouteTemplater();
    for (const path of ['/blog/how-to-install-nginx', '/blog/top-10-tips-for-2024', '/files/report_2023_q4.pdf', '/docs/v2/getting-started', '/api/v1/users']) {
      expect(routes.route(path)).toBe(path);
    }
  });

  it('learns a position with many distinct values under one prefix, stably, and never the first segment', () => {
    const routes = new RouteTemplater();
    const names = Array.from({ length: LEARN_THRESHOLD + 10 }, (_, i) => `user${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}x`);
    const seen = names.map((name) => routes.route(`/profiles/${name}/posts`));
    // The first values stay literal until the position shows more than the threshold...
    expect(seen[0]).toBe(`/profiles/${names[0]}/posts`);
    expect(seen[LEARN_THRESHOLD - 1]).toBe(`/profiles/${names[LEARN_THRESHOLD - 1]}/posts`);
    // ... then it is a parameter, for every value, the earlier ones included.
    expect(seen[LEARN_THRESHOLD]).toBe('/profiles/{param}/posts');
    expect(routes.route(`/profiles/${names[0]}/posts`)).toBe('/profiles/{param}/posts');
    // Other prefixes are not affected.
    expect(routes.route('/teams/red/posts')).toBe('/teams/red/posts');
    // A scanner's thousand first segments leave sections literal.
    for (let i = 0; i < 1000; i++) routes.route(`/probe${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26) % 26)}`);
    expect(routes.route('/health')).toBe('/health');
  });

  it('lets the user\'s routes win over built-in and learned ones, in order', () => {
    const routes = new RouteTemplater(['/api/v{n}/users/:id', '/static/*', '/exact']);
    expect(routes.route('/api/v2/users/alice')).toBe('/api/v{n}/users/:id');
    expect(routes.route('/api/v2/users/alice/')).toBe('/api/v{n}/users/:id');
    expect(routes.route('/api/v2/users/alice/orders')).toBe('/api/v2/users/alice/orders');
    expect(routes.route('/static/css/site.css?v=3')).toBe('/static/*');
    expect(routes.route('/exact')).toBe('/exact');
    expect(routes.route('/exactly')).toBe('/exactly');
    expect(() => compileRoute('api/x')).toThrow(/does not start with \//);
  });

  it('is bounded: long paths and long routes', () => {
    const routes = new RouteTemplater([], 64);
    expect(routes.route('/' + 'x'.repeat(500)).length).toBeLessThanOrEqual(64);
    const deep = '/a'.repeat(100);
    expect(new RouteTemplater().route(deep)).toBe('/a'.repeat(32) + '/{…}');
    expect(pathOf('/p?q#f')).toBe('/p');
    expect(pathOf('/p#f?q')).toBe('/p');
  });
});

describe('clients behind proxies', () => {
  it('believes X-Forwarded-For only from trusted proxies, read right to left', () => {
    const none = new ClientResolver([]);
    expect(none.client('10.0.0.5', '203.0.113.7')).toBe('10.0.0.5');
    const resolver = new ClientResolver(['10.0.0.0/8', '::1', '2001:db8::/32']);
    // From an untrusted peer the header is anyone's claim.
    expect(resolver.client('198.51.100.9', '203.0.113.7')).toBe('198.51.100.9');
    expect(resolver.client('10.0.0.5', '203.0.113.7')).toBe('203.0.113.7');
    // Past every trusted hop: a spoofed first entry does not win over the address the proxy saw.
    expect(resolver.client('10.0.0.5', '1.2.3.4, 203.0.113.7, 10.1.1.1')).toBe('203.0.113.7');
    // All trusted: the leftmost.
    expect(resolver.client('10.0.0.5', '10.2.2.2, 10.1.1.1')).toBe('10.2.2.2');
    // Ports, brackets and junk.
    expect(resolver.client('::1', '[2001:db8::7]:443, 203.0.113.8:5555')).toBe('203.0.113.8');
    // An unreadable hop stops the walk: what lies left of it is not believed.
    expect(resolver.client('::1', 'unknown, 2001:db8::9')).toBe('2001:db8::9');
    expect(resolver.client('::1', '203.0.113.1, unknown, 2001:db8::9')).toBe('2001:db8::9');
    expect(resolver.client('10.0.0.5', 'garbage')).toBe('10.0.0.5');
    expect(resolver.client('10.0.0.5', '')).toBe('10.0.0.5');
  });

  it('reads Forwarded for= values', () => {
    expect(forwardedForOf('for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"')).toBe('192.0.2.60, [2001:db8:cafe::17]:4711');
    const resolver = new ClientResolver(['10.0.0.0/8']);
    expect(resolver.client('10.0.0.5', forwardedForOf('For="192.0.2.60"'))).toBe('192.0.2.60');
  });

  it('refuses trusted_proxies entries that are no address or CIDR', () => {
    expect(() => new ClientResolver(['10.0.0.0/33'])).toThrow(/prefix/);
    expect(() => new ClientResolver(['proxy.example'])).toThrow(/not an address/);
  });
});
