/** The config flags, made from config/schema.json: options, help texts, and the overrides they give. */
import { configSchema, type KeySchema } from '../src/config';
import { configFlagOptions, configOverridesOf } from '../src/configFlags';
import { parseCommandLine } from '../src/cli';

describe('config flags from the schema', () => {
  const schema = configSchema();
  const options = configFlagOptions(schema);

  it('give each key with a flag one option, typed as the key, named once', () => {
    const flagged = Object.entries(schema).filter(([, s]) => s.flag !== undefined);
    expect(Object.keys(options)).toEqual(flagged.map(([, s]) => s.flag!.name));
    expect(new Set(Object.keys(options)).size).toBe(flagged.length);
    expect(options.window).toEqual({ type: 'number', describe: 'seconds in the sliding window that alerts compare (average_bucket_size)' });
    expect(options.promisc).toMatchObject({ type: 'boolean', describe: "promiscuous mode on the live interface (promiscuous; --no-promisc: only this host's traffic)" });
    expect(options.webhook).toMatchObject({ type: 'string', array: true, describe: expect.stringMatching(/\(repeatable; webhooks\)$/) });
  });

  it('turn parsed flags into checked overrides, each error naming its flag', () => {
    expect(configOverridesOf({ window: 30, promisc: false, webhook: ['https://a', 'https://b'], metrics: '9464' }, schema)).toEqual({
      average_bucket_size: 30, promiscuous: false, webhooks: ['https://a', 'https://b'], metrics_listen: '9464',
    });
    expect(() => configOverridesOf({ threshold: Number.NaN }, schema)).toThrow(/^--threshold: "average_threshold" must be a number, not a string$/);
    expect(() => configOverridesOf({ top: 0 }, schema)).toThrow(/^--top: "max_top_hits" is 0, out of range/);
  });

  it('take an alias, and refuse a flag on a key the command line cannot give', () => {
    const custom: Record<string, KeySchema> = { max_top_hits: { type: 'integer', description: 'd', flag: { name: 'top', alias: 'n', help: 'rows' } } };
    expect(configFlagOptions(custom)).toEqual({ top: { type: 'number', alias: 'n', describe: 'rows (max_top_hits)' } });
    expect(() => configFlagOptions({ alerts: { type: 'object[]', description: 'd', flag: { name: 'alerts', help: 'h' } } })).toThrow(/object\[\] cannot have a flag/);
  });

  it('are what the command line parses', () => {
    expect(parseCommandLine(['--window', '30', '--no-promisc', '--webhook', 'https://a', '--webhook', 'https://b', '-r', 'x']).configOverrides).toEqual({
      average_bucket_size: 30, promiscuous: false, webhooks: ['https://a', 'https://b'],
    });
  });
});
