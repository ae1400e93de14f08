/** Loads the StatModules named under `plugins` in the config. */
import * as path from 'path';
import type { Config } from '../config';
import { WiretopError } from '../errors';
import { BUILTIN_MODULE_NAMES } from './builtins';
import type { StatModule, StatModuleFactory } from './statModule';

const REQUIRED = ['ingest', 'tick', 'rows', 'report'] as const;

/** Requires each plug-in file and makes its module; a bad one is a clear error. */
export function loadPlugins(config: Config, baseDir: string = process.cwd()): StatModule[] {
  const names = new Set<string>(BUILTIN_MODULE_NAMES);
  return config.plugins.map((spec) => {
    const file = path.resolve(baseDir, spec);
    let exported: unknown;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      exported = require(file);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(file)
        ? 'no such module' : (error as Error).message.split('\n')[0];
      throw new WiretopError('plugin', `plugin ${spec}: ${reason}`);
    }
    const factory = (typeof exported === 'function' ? exported : (exported as { default?: unknown })?.default) as StatModuleFactory | undefined;
    if (typeof factory !== 'function') {
      throw new WiretopError('plugin', `plugin ${spec}: must export a function (context) => StatModule`);
    }
    let module: StatModule;
    try {
      module = factory({ config });
    } catch (error) {
      throw new WiretopError('plugin', `plugin ${spec}: failed to start: ${(error as Error).message}`);
    }
    if (typeof module !== 'object' || module === null || typeof module.name !== 'string' || module.name === '') {
      throw new WiretopError('plugin', `plugin ${spec}: the module needs a non-empty "name"`);
    }
    for (const method of REQUIRED) {
      if (typeof (module as unknown as Record<string, unknown>)[method] !== 'function') {
        throw new WiretopError('plugin', `plugin ${spec}: the module has no ${method}() method`);
      }
    }
    if (names.has(module.name)) throw new WiretopError('plugin', `plugin ${spec}: a module named "${module.name}" exists already (built-in or loaded before)`);
    names.add(module.name);
    return module;
  });
}
