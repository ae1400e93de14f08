/**
 * The statistics' object graph written as plain values and read back into the objects of a
 * new run. The statistics are many small classes (summaries, histograms, rings); rather than a
 * hand-written save and load per class, which would drift from the fields they hold, the
 * graph is walked: every own field of a registered class is kept, shared objects stay shared
 * (a summary's heap and index hold the same slots), and reading puts the saved fields into the
 * objects the new run has just built ("transplant"), so what is not state (the config, key
 * functions, caches) stays the new run's. A class not registered cannot be saved: the walk
 * says which, instead of writing something that would not come back (a class with no methods
 * at all is a record, saved as a plain object).
 *
 * Encoded form (made for `v8.serialize`): a primitive is itself; every object is an array
 * whose first item is its tag:
 *   ['C', class, [field, value, …]]  a registered class's own fields
 *   ['O', [key, value, …]]          a plain object
 *   ['A', [items]]  ['M', [key, value, …]]  ['S', [items]]  ['B', typed array]
 *   ['R', n]  the n-th object met before (objects are numbered as they are first met)
 *   ['X', name]  an outside object the reader supplies (the config, the key budget)
 *   ['F']  a function: the new run's own is kept
 */

/** A class whose instances may be saved; `transient` fields are never saved (the new run's stay). */
export interface PersistedClass {
  name: string;
  type: abstract new (...args: never[]) => object;
  transient?: readonly string[];
}

/** Encoded values (see the file comment). */
export type Encoded = string | number | boolean | null | undefined | bigint | readonly unknown[];

/** A snapshot that cannot be read back (damaged, or from other code). */
export class StateFormatError extends Error {}

/** The registry as the walks use it. */
export class StateCodec {
  private readonly byType = new Map<object, PersistedClass>();
  private readonly byName = new Map<string, PersistedClass>();

  constructor(classes: readonly PersistedClass[]) {
    for (const entry of classes) {
      this.byType.set(entry.type.prototype as object, entry);
      this.byName.set(entry.name, entry);
    }
  }

  /** `value` as encoded values; `externals` are written by name, never walked. Throws on an unregistered class. */
  encode(value: unknown, externals: ReadonlyMap<object, string>): Encoded {
    const seen = new Map<object, number>();
    const walk = (item: unknown, where: string): Encoded => {
      if (typeof item === 'function') return ['F'];
      if (item === null || typeof item !== 'object') {
        if (typeof item === 'symbol') throw new Error(`cannot save a symbol at ${where}`);
        return item as Encoded;
      }
      const external = externals.get(item);
      if (external !== undefined) return ['X', external];
      const known = seen.get(item);
      if (known !== undefined) return ['R', known];
      seen.set(item, seen.size);
      if (ArrayBuffer.isView(item)) {
        if (item instanceof DataView) throw new Error(`cannot save a DataView at ${where}`);
        return ['B', (item as unknown as Uint8Array).slice()];
      }
      if (Array.isArray(item)) return ['A', item.map((element, i) => walk(element, `${where}[${i}]`))];
      if (item instanceof Map) {
        const flat: Encoded[] = [];
        for (const [key, element] of item) flat.push(walk(key, `${where} key`), walk(element, `${where}.get(${String(key).slice(0, 40)})`));
        return ['M', flat];
      }
      if (item instanceof Set) return ['S', [...item].map((element) => walk(element, `${where} item`))];
      const prototype = Object.getPrototypeOf(item) as object | null;
      if (prototype === Object.prototype || prototype === null) return ['O', fieldsOf(item, null, walk, where)];
      const entry = this.byType.get(prototype);
      // A class with no methods is a record (transactions decoded from a batch): read back as a plain object.
      if (entry === undefined && isRecordClass(prototype)) return ['O', fieldsOf(item, null, walk, where)];
      if (entry === undefined) throw new Error(`cannot save a ${(item as object).constructor?.name ?? 'object'} at ${where}: register its class`);
      return ['C', entry.name, fieldsOf(item, entry.transient ?? null, walk, where)];
    };
    return walk(value, 'root');
  }

  /**
   * Reads `encoded` back. `fresh` is the new run's object at the same place: a saved instance of
   * a class goes into it when it is one of the same class (its transient fields stay), else a new
   * instance is made (which a class with transient fields cannot be). Throws StateFormatError
   * on anything that does not fit.
   */
  decode(encoded: unknown, fresh: unknown, externals: ReadonlyMap<string, object>): unknown {
    const objects: unknown[] = [];
    const walk = (node: unknown, counterpart: unknown): unknown => {
      if (!Array.isArray(node)) return node;
      const tag: unknown = node[0];
      switch (tag) {
        case 'R': {
          const index = node[1] as number;
          if (!Number.isInteger(index) || index < 0 || index >= objects.length) throw new StateFormatError('a reference to nothing');
          return objects[index];
        }
        case 'X': {
          const external = externals.get(node[1] as string);
          if (external === undefined) throw new StateFormatError(`no outside object "${String(node[1])}"`);
          return external;
        }
        case 'F':
          if (typeof counterpart !== 'function') throw new StateFormatError('a function with nothing to take its place');
          return counterpart;
        case 'B': {
          const view = node[1];
          if (!ArrayBuffer.isView(view)) throw new StateFormatError('a typed array that is none');
          objects.push(view);
          return view;
        }
        case 'A': {
          const items = listOf(node[1]);
          const array: unknown[] = [];
          objects.push(array);
          const freshItems = Array.isArray(counterpart) ? counterpart : null;
          for (let i = 0; i < items.length; i++) array.push(walk(items[i], freshItems?.[i]));
          return array;
        }
        case 'S': {
          const items = listOf(node[1]);
          const set = new Set<unknown>();
          objects.push(set);
          for (const item of items) set.add(walk(item, undefined));
          return set;
        }
        case 'M': {
          const flat = listOf(node[1]);
          if (flat.length % 2 !== 0) throw new StateFormatError('a map with a key and no value');
          const map = new Map<unknown, unknown>();
          objects.push(map);
          const freshMap = counterpart instanceof Map ? counterpart : null;
          for (let i = 0; i < flat.length; i += 2) {
            const key = walk(flat[i], undefined);
            map.set(key, walk(flat[i + 1], freshMap?.get(key)));
          }
          return map;
        }
        case 'O': {
          const target: Record<string, unknown> = {};
          objects.push(target);
          const freshObject = counterpart !== null && typeof counterpart === 'object' && !Array.isArray(counterpart) ? counterpart as Record<string, unknown> : null;
          assignFields(target, listOf(node[1]), freshObject, walk);
          return target;
        }
        case 'C': {
          const entry = this.byName.get(node[1] as string);
          if (entry === undefined) throw new StateFormatError(`an unknown class "${String(node[1])}"`);
          const prototype = entry.type.prototype as object;
          const into = counterpart !== null && typeof counterpart === 'object' && Object.getPrototypeOf(counterpart) === prototype;
          if (!into && (entry.transient?.length ?? 0) > 0) throw new StateFormatError(`a ${entry.name} with no counterpart in this run`);
          const target = (into ? counterpart : Object.create(prototype)) as Record<string, unknown>;
          objects.push(target);
          assignFields(target, listOf(node[2]), into ? target : null, walk);
          return target;
        }
        default:
          throw new StateFormatError(`an unknown tag ${String(tag)}`);
      }
    };
    return walk(encoded, fresh);
  }
}

/** Own enumerable fields as [name, encoded, …], without `transient`. */
function fieldsOf(item: object, transient: readonly string[] | null, walk: (value: unknown, where: string) => Encoded, where: string): Encoded[] {
  const flat: Encoded[] = [];
  for (const key of Object.keys(item)) {
    if (transient?.includes(key) === true) continue;
    flat.push(key, walk((item as Record<string, unknown>)[key], `${where}.${key}`));
  }
  return flat;
}

/** Sets the saved fields on `target`; `fresh` (the new run's object at this place) gives each field's counterpart. */
function assignFields(target: Record<string, unknown>, flat: readonly unknown[], fresh: Record<string, unknown> | null, walk: (node: unknown, counterpart: unknown) => unknown): void {
  if (flat.length % 2 !== 0) throw new StateFormatError('a field with no value');
  for (let i = 0; i < flat.length; i += 2) {
    const key = flat[i];
    if (typeof key !== 'string' || key === '__proto__') throw new StateFormatError('a field with no name');
    target[key] = walk(flat[i + 1], fresh?.[key]);
  }
}

function isRecordClass(prototype: object): boolean {
  return Object.getPrototypeOf(prototype) === Object.prototype && Object.getOwnPropertyNames(prototype).every((name) => name === 'constructor');
}

function listOf(value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) throw new StateFormatError('a list that is none');
  return value;
}
