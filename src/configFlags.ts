/**
 * The command-line flags that set config keys, made from config/schema.json: each key with a
 * `flag` there is a yargs option (its type from the key's), and the flag's value becomes that
 * key's override, checked as a config file's would be. One place says which flag sets which
 * key, and --help, the parser and the schema cannot disagree.
 */
import type { Options } from 'yargs';
import type { Config, FlagSchema, KeySchema } from './config';
import { validateConfig } from './config';

/** A config key with a flag. */
interface ConfigFlag {
  key: keyof Config;
  schema: KeySchema;
  flag: FlagSchema;
}

function configFlags(schema: Record<string, KeySchema>): ConfigFlag[] {
  return Object.entries(schema).flatMap(([key, keySchema]) => (keySchema.flag === undefined ? [] : [{ key: key as keyof Config, schema: keySchema, flag: keySchema.flag }]));
}

/** --help's text of a flag: its help, then the key it sets (and that a list flag repeats, and its note). */
function describe({ key, schema, flag }: ConfigFlag): string {
  const said = [...(schema.type === 'string[]' ? ['repeatable'] : []), key, ...(flag.note !== undefined ? [flag.note] : [])];
  return `${flag.help} (${said.join('; ')})`;
}

function yargsType(type: KeySchema['type']): 'number' | 'boolean' | 'string' {
  if (type === 'number' || type === 'integer') return 'number';
  if (type === 'boolean') return 'boolean';
  if (type === 'string' || type === 'string[]') return 'string';
  throw new Error(`config/schema.json: a key of type ${type} cannot have a flag`);
}

/** The yargs options of every config flag, by flag name, in the schema's order. */
export function configFlagOptions(schema: Record<string, KeySchema>): Record<string, Options> {
  return Object.fromEntries(configFlags(schema).map((entry) => {
    const options: Options = { type: yargsType(entry.schema.type), describe: describe(entry) };
    if (entry.schema.type === 'string[]') options.array = true;
    if (entry.flag.alias !== undefined) options.alias = entry.flag.alias;
    return [entry.flag.name, options];
  }));
}

/** The config overrides the parsed flags (`args`, by flag name) give, each checked and named by its flag. */
export function configOverridesOf(args: Record<string, unknown>, schema: Record<string, KeySchema>): Partial<Config> {
  const overrides: Partial<Config> = {};
  for (const { key, schema: keySchema, flag } of configFlags(schema)) {
    let value = args[flag.name];
    if (value === undefined) continue;
    // yargs turns a non-number into NaN: the check then says which flag, and that it wants a number.
    if (typeof value === 'number' && Number.isNaN(value)) value = String(value);
    if (keySchema.type === 'string[]' && Array.isArray(value)) value = value.map(String);
    Object.assign(overrides, validateConfig({ [key]: value }, `--${flag.name}`));
  }
  return overrides;
}
