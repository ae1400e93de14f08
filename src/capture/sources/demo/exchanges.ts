/**
 * What the generated requests are, whatever protocol carries them: a site and a path, a method,
 * a user agent, a status, a latency and the bodies' sizes, drawn from a seeded stream. HTTP/1.1
 * and HTTP/2 draw from the same tables, so the panels read alike whichever carried a request.
 */

/** A request and its response, as drawn. */
export interface Exchange {
  host: string;
  method: string;
  uri: string;
  ua: string;
  /** Bytes of the request's body (POST and PUT), 0 for none. */
  requestBody: number;
  status: number;
  reason: string;
  /** Seconds from the request to the response's first byte. */
  latency: number;
  /** Bytes of the response's body (none for HEAD and 304). */
  responseBody: number;
}

const SITES: Array<{ host: string; sections: string[]; weight: number }> = [
  { host: 'shop.example.com', sections: ['/cart', '/products', '/checkout', '/search'], weight: 5 },
  { host: 'api.example.com', sections: ['/v1', '/v2', '/auth', '/health'], weight: 4 },
  { host: 'static.example.com', sections: ['/css', '/js', '/img', '/fonts'], weight: 3 },
  { host: 'www.example.com', sections: ['/', '/about', '/pages', '/blog', '/contact'], weight: 2 },
  { host: 'admin.example.com', sections: ['/users', '/reports', '/settings'], weight: 1 },
];
const SITE_WEIGHTS: Array<[typeof SITES[number], number]> = SITES.map((s) => [s, s.weight / 15]);

const USER_AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'curl/8.5.0',
  'python-requests/2.32.3',
  'Go-http-client/1.1',
  'kube-probe/1.30',
  'Googlebot/2.1 (+http://www.google.com/bot.html)',
];

const METHODS: Array<[string, number]> = [['GET', 0.85], ['POST', 0.08], ['PUT', 0.03], ['DELETE', 0.02], ['HEAD', 0.02]];
const STATUSES: Array<[[number, string], number]> = [
  [[200, 'OK'], 0.87], [[304, 'Not Modified'], 0.05], [[404, 'Not Found'], 0.04], [[301, 'Moved Permanently'], 0.02],
  [[500, 'Internal Server Error'], 0.01], [[503, 'Service Unavailable'], 0.01],
];

/** The bytes of every generated body (nothing reads them): slices of this. */
export const BODY = Buffer.alloc(64 * 1024, 'x');

/** One of `items` by weight (the weights add up to 1). */
export function pickWeighted<T>(random: () => number, items: ReadonlyArray<readonly [T, number]>): T {
  let r = random();
  for (const [item, weight] of items) {
    if (r < weight) return item;
    r -= weight;
  }
  return items[items.length - 1][0];
}

/** A response's status and reason phrase: mostly 200, some 304, 404 and 301, a few 500 and 503. */
export function pickStatus(random: () => number): [number, string] {
  return pickWeighted(random, STATUSES);
}

/** Seconds a server takes to answer: 1 ms to 81 ms, most of them short. */
export function pickLatency(random: () => number): number {
  return 0.001 + random() * random() * 0.08;
}

/** The next request and its response. */
export function pickExchange(random: () => number): Exchange {
  // The order of the draws is the generator's since the demo was tuned: a change moves every request after it.
  const site = pickWeighted(random, SITE_WEIGHTS);
  const section = site.sections[Math.floor(random() * site.sections.length)];
  const method = pickWeighted(random, METHODS);
  const item = Math.floor(1 / (0.001 + random() * random())) % 5000;
  const uri = section === '/' ? (random() < 0.5 ? '/' : `/index.html?ref=${item}`) : `${section}/item/${item}`;
  const ua = USER_AGENTS[Math.floor(random() * random() * USER_AGENTS.length)];
  const requestBody = method === 'POST' || method === 'PUT' ? 50 + Math.floor(random() * 400) : 0;
  const [status, reason] = pickStatus(random);
  const latency = pickLatency(random);
  const hasBody = method !== 'HEAD' && status !== 304;
  const responseBody = hasBody ? 100 + Math.floor(random() * 2400) : 0;
  return { host: site.host, method, uri, ua, requestBody, status, reason, latency, responseBody };
}
