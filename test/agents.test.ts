import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AgentClassifier, agentOf, DEFAULT_AGENTS_FILE, readAgentData, useAgentData, type AgentCategory } from '../src/stats/agents';
import { visitorsOf } from '../src/stats/visitors';
import { compileFilter } from '../src/filter/filter';
import { defaultConfig } from '../src/config';
import { RunState } from '../src/run/runState';
import { buildReport } from '../src/sinks/report';
import { MetricsSink } from '../src/sinks/metrics';
import { eventLine, lineFields } from '../src/sinks/ndjson';
import { httpEvent } from './helpers/events';
import { fakeScreen } from './helpers/fakeScreen';
import { manualClock } from './helpers/manualClock';
import { Dashboard } from '../widgets/dashboard';

/** Real User-Agents, each with what it is: [ua, category, name, browser, os, device]. */
const REAL: Array<[string, AgentCategory, string, string?, string?, string?]> = [
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'human', 'Chrome', 'Chrome 120', 'Windows', 'desktop'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36', 'human', 'Chrome', 'Chrome 119', 'Windows', 'desktop'],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1', 'human', 'Mobile Safari', 'Mobile Safari 17', 'iOS', 'mobile'],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'human', 'Firefox', 'Firefox 128', 'Linux', 'desktop'],
  ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36', 'human', 'Chrome', 'Chrome 120', 'Android', 'mobile'],
  ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'crawler', 'Googlebot'],
  ['Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', 'crawler', 'bingbot'],
  ['Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)', 'crawler', 'YandexBot'],
  ['Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)', 'ai-crawler', 'GPTBot'],
  ['Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)', 'ai-crawler', 'ClaudeBot'],
  ['Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)', 'ai-crawler', 'PerplexityBot'],
  ['Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)', 'ai-crawler', 'Bytespider'],
  ['CCBot/2.0 (https://commoncrawl.org/faq/)', 'ai-crawler', 'CCBot'],
  ['meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)', 'ai-crawler', 'Meta-ExternalAgent'],
  ['curl/8.5.0', 'tool', 'curl'],
  ['Wget/1.21.3', 'tool', 'Wget'],
  ['python-requests/2.31.0', 'tool', 'python-requests'],
  ['Go-http-client/1.1', 'tool', 'Go-http-client'],
  ['okhttp/4.12.0', 'tool', 'okhttp'],
  ['kube-probe/1.29', 'tool', 'kube-probe'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0', 'human', 'Edge', 'Edge 120', 'Windows', 'desktop'],
  ['Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1', 'human', 'Mobile Safari', 'Mobile Safari 17', 'iOS', 'tablet'],
  ['Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)', 'crawler', 'AhrefsBot'],
  ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36', 'crawler', 'HeadlessChrome'],
  ['facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)', 'crawler', 'facebookexternalhit'],
  ['Scrapy/2.11.0 (+https://scrapy.org)', 'crawler', 'Scrapy'],
  ['Apache-HttpClient/4.5.14 (Java/17.0.9)', 'tool', 'Apache-HttpClient'],
  ['Dalvik/2.1.0 (Linux; U; Android 13; SM-G991B Build/TP1A.220624.014)', 'tool', 'Dalvik'],
  ['Deno/1.40.0', 'tool', 'Deno'],
  ['', 'unknown', ''],
  ['-', 'unknown', ''],
  ['Something/1.0 (Totally Unknown)', 'unknown', ''],
];

describe('who is asking', () => {
  it.each(REAL.map((row) => [row[0] === '' ? '(none)' : row[0].slice(0, 60), row] as const))('%s', (_ua, [ua, category, name, browser = '', system = '', device = '']) => {
    expect(agentOf(ua)).toMatchObject({ category, name, browser, os: system, device });
  });

  it('hostile strings: a long User-Agent is read and remembered by its first 256 characters; names are bounded; <unknown> is unknown', () => {
    const classifier = new AgentClassifier(readAgentData(DEFAULT_AGENTS_FILE));
    const long = `${REAL[0][0]} ${'x'.repeat(2000)}`;
    expect(classifier.classify(long)).toBe(classifier.classify(`${long}y`));
    expect(classifier.classify(long).category).toBe('human');
    expect(agentOf(`HeadlessChrome ${'a'.repeat(600)}`).name.length).toBeLessThanOrEqual(64);
    expect(agentOf('<unknown>')).toMatchObject({ category: 'unknown', name: '' });
  });

  it('remembers each distinct string (the same object back)', () => {
    const classifier = new AgentClassifier(readAgentData(DEFAULT_AGENTS_FILE));
    const a = classifier.classify(REAL[0][0]);
    expect(classifier.classify(REAL[0][0])).toBe(a);
  });

  it('takes its AI crawlers and tools from a data file (agents_file), checked', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretop-agents-'));
    try {
      const file = path.join(dir, 'agents.json');
      fs.writeFileSync(file, JSON.stringify({ ai_crawlers: [{ name: 'NewAIBot', match: 'newaibot' }], tools: [{ name: 'mytool', match: 'MyTool/' }] }));
      useAgentData(file);
      expect(agentOf('Mozilla/5.0 (compatible; NewAIBot/0.1)')).toMatchObject({ category: 'ai-crawler', name: 'NewAIBot' });
      expect(agentOf('mytool/2')).toMatchObject({ category: 'tool', name: 'mytool' });
      // GPTBot is not in that file: a crawler by isbot's rules, not an AI crawler.
      expect(agentOf(REAL[8][0]).category).toBe('crawler');
      fs.writeFileSync(file, JSON.stringify({ ai_crawlers: [{ name: '' }], tools: [] }));
      expect(() => useAgentData(file)).toThrow(/"ai_crawlers\[0\]" needs a "name"/);
      fs.writeFileSync(file, '{');
      expect(() => useAgentData(file)).toThrow(/not valid JSON/);
    } finally {
      useAgentData(null);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the data file names no agent twice and every match is found in its own name or a real UA', () => {
    const data = readAgentData(DEFAULT_AGENTS_FILE);
    const names = [...data.aiCrawlers, ...data.tools].map((a) => a.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('visitors in every output', () => {
  const T0 = 1_700_000_000;
  const events = REAL.map(([ua], i) => httpEvent(T0 + i / 10, { ua, respBytes: 100 }));

  /** A dashboard of `width` × `height` fed the events, the visitors panel focused and drawn. */
  function visitorsFocused(width: number, height: number): Dashboard {
    const run = new RunState(defaultConfig(), 'test');
    const dashboard = new Dashboard({ run, screen: fakeScreen(width, height), onQuit: () => undefined, color: false, clock: manualClock() });
    run.ingest(events);
    dashboard.observe(events);
    run.advanceTo(T0 + 5);
    for (let i = 0; i < 20 && dashboard.focused.id !== 'visitors'; i++) dashboard.handle('focusNext');
    dashboard.render();
    return dashboard;
  }

  it('groups requests by category, bot, browser and OS', () => {
    const run = new RunState(defaultConfig(), 'test');
    run.ingest(events);
    run.advanceTo(T0 + 10);
    const view = run.stats.builtins.agents.view('all', run.stats.lastClosed);
    const visitors = visitorsOf(view.entries, view.total);
    expect(visitors.categories.map((c) => [c.key, c.count])).toEqual([['human', 7], ['crawler', 7], ['ai-crawler', 6], ['tool', 9], ['unknown', 3]]);
    expect(visitors.bots.find((b) => b.key === 'GPTBot')).toMatchObject({ count: 1, bytes: 100, category: 'ai-crawler' });
    expect(visitors.browsers.map((b) => [b.key, b.count])).toEqual([['Chrome 120', 2], ['Mobile Safari 17', 2], ['Chrome 119', 1], ['Edge 120', 1], ['Firefox 128', 1]]);
    expect(visitors.systems.map((b) => [b.key, b.count])).toEqual([['Windows', 3], ['iOS', 2], ['Android', 1], ['Linux', 1]]);
    const report = buildReport(run);
    expect(report.visitors.categories.map((c) => c.hits)).toEqual([7, 7, 6, 9, 3]);
    expect(report.visitors.bots.map((b) => b.key)).toContain('ClaudeBot');
  });

  it('the dashboard\'s visitors panel: categories, bots, browsers, OS; t on a row lists its transactions', () => {
    const dashboard = visitorsFocused(120, 60);
    const screen = dashboard.drawnText().join('\n');
    expect(screen).toMatch(/Visitors: 32 unique today, 68\.8/);
    expect(screen).toMatch(/AI crawlers +6 +18\.8%/);
    expect(screen).toMatch(/ClaudeBot \(AI\)/);
    expect(screen).toMatch(/curl \(tool\)/);
    expect(screen).toMatch(/Browsers +Hits/);
    // The browsers and systems are further down the panel.
    dashboard.handle('bottom');
    dashboard.render();
    expect(dashboard.drawnText().join('\n')).toMatch(/Windows +3 /);
    dashboard.handle('top');
    dashboard.handle('down');
    dashboard.handle('down');
    dashboard.handle('transactions');
    dashboard.render();
    expect(dashboard.drawnText().join('\n')).toMatch(/Transactions of ai-crawler: 6/);
    dashboard.destroy();
  });

  it('the visitors panel fits 80x24: categories with hits and share, the title cut, never wider than the screen', () => {
    const dashboard = visitorsFocused(80, 24);
    const lines = dashboard.drawnText();
    expect(lines.every((line) => line.length <= 80)).toBe(true);
    const screen = lines.join('\n');
    expect(screen).toMatch(/▶ Visitors: 32/);
    expect(screen).toMatch(/humans +7 +21\.9%/);
    expect(screen).toMatch(/tools +9 +28\.1%/);
    dashboard.destroy();
  });

  it('filter fields: category, bot, ua_family, os, device', () => {
    const picked = (where: string) => events.filter(compileFilter(where).matches).length;
    expect(picked('category = ai-crawler')).toBe(6);
    expect(picked('bot != ""')).toBe(22);
    expect(picked('category = human and not bot != ""')).toBe(7);
    expect(picked('ua_family = chrome')).toBe(3);
    expect(picked('os in (iOS, Android)')).toBe(3);
    expect(picked('device = mobile')).toBe(2);
    expect(picked('bot = gptbot or bot = claudebot')).toBe(2);
  });

  it('--ndjson says the category and the agent; the metrics count by category only (five label values)', async () => {
    const gpt = events[8];
    expect(eventLine(gpt)).toBe(`${JSON.stringify(lineFields(gpt))}\n`);
    expect(JSON.parse(eventLine(gpt))).toMatchObject({ category: 'ai-crawler', agent: 'GPTBot' });
    const run = new RunState(defaultConfig(), 'test');
    const metrics = new MetricsSink(run, 20);
    metrics.onEvents(events);
    const values = (await metrics.registry.getSingleMetric('wiretop_http_requests_by_agent_total')!.get()).values;
    expect(Object.fromEntries(values.map((v) => [v.labels.category, v.value]))).toEqual({ human: 7, crawler: 7, 'ai-crawler': 6, tool: 9, unknown: 3 });
    metrics.stop();
  });
});

describe('unique visitors per day', () => {
  const { HyperLogLog, hash32, UniqueVisitorsModule } = require('../src/stats/uniqueVisitors') as typeof import('../src/stats/uniqueVisitors');

  it('counts distinct (client, User-Agent) pairs per UTC day: exact when few, within 2% when many', () => {
    const module = new UniqueVisitorsModule(defaultConfig());
    const day1 = Date.UTC(2026, 11, 6, 12) / 1000;
    const day2 = day1 + 86400;
    // 300 visitors, each 5 requests; one client with two browsers is two visitors, as GoAccess counts.
    for (let r = 0; r < 5; r++) for (let v = 0; v < 300; v++) module.ingest(httpEvent(day1 + v, { client: `10.0.${v >> 8}.${v & 255}`, ua: 'Firefox' }));
    module.ingest(httpEvent(day1, { client: '10.0.0.0', ua: 'Chrome' }));
    for (let v = 0; v < 50_000; v++) module.ingest(httpEvent(day2 + (v % 30_000), { client: `172.16.${v >> 8 & 255}.${v & 255}`, ua: `agent ${v >> 16}` }));
    const days = module.report().days;
    expect(days.map((d) => d.day)).toEqual(['2026-12-06', '2026-12-07']);
    expect(days[0].visitors).toBe(301);
    expect(Math.abs(days[1].visitors - 50_000) / 50_000).toBeLessThan(0.02);
    expect(module.today(day2 + 10)).toBe(days[1].visitors);
  });

  it('keeps today and the days the retention reaches into, 31 at most', () => {
    const module = new UniqueVisitorsModule({ ...defaultConfig(), max_retention_length: 2 * 86400 });
    for (let d = 0; d < 5; d++) module.ingest(httpEvent(1_700_000_000 + d * 86400, {}));
    expect(module.report().days).toHaveLength(3);
  });

  it('ignores a day after tomorrow of the data clock (a bad packet clock must not push today out)', () => {
    const module = new UniqueVisitorsModule(defaultConfig());
    const today = Date.UTC(2026, 11, 7, 12) / 1000;
    for (let v = 0; v < 100; v++) module.ingest(httpEvent(today, { client: `10.0.0.${v}` }));
    module.tick(today);
    module.ingest(httpEvent(7e9, {}));
    module.ingest(httpEvent(7.1e9, {}));
    module.ingest(httpEvent(today + 1, { client: '10.0.1.1' }));
    expect(module.today(today)).toBe(101);
    expect(module.report().days.map((d) => d.day)).toEqual(['2026-12-07']);
  });

  it('the sketch: empty is 0; hashes spread', () => {
    expect(new HyperLogLog().count()).toBe(0);
    expect(hash32('a')).not.toBe(hash32('b'));
  });

  it('the hash keeps its bits: the registers a --persist snapshot saved were set from them', () => {
    // Values of the first definition (unsigned); the hash is now a signed 32-bit integer of the same bits.
    const first: Array<[string, number]> = [['', 2872998923], ['a', 444641715], ['10.1.0.44', 2530593151], ['Mozilla/5.0 (X11; Linux x86_64)', 1948350139], ['\u2603', 4161361004]];
    for (const [text, value] of first) expect(hash32(text) >>> 0).toBe(value);
  });
});
