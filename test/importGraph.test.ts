/**
 * The import graph keeps its shape: no circles between files, and every import goes down the
 * layers (README, "How it works"). A layer may import only the layers listed for it; a new
 * arrow upward is a design change, to be made here and in the README, not by accident.
 */
import * as fs from 'fs';
import * as path from 'path';
import { repoRoot } from './helpers/corpus';

const ROOT = repoRoot();

/** Each layer and the layers it may import (itself always). Lowest first. */
const LAYERS: Record<string, string[]> = {
  base: [],
  platform: ['base'],
  protocol: ['base'],
  http: ['protocol', 'base'],
  tls: ['protocol', 'base'],
  capture: ['http', 'tls', 'protocol', 'platform', 'base'],
  stats: ['http', 'protocol', 'base'],
  filter: ['stats', 'http', 'base'],
  export: ['stats', 'base'],
  alerts: ['filter', 'stats', 'base'],
  run: ['capture', 'alerts', 'filter', 'stats', 'platform', 'protocol', 'base'],
  persist: ['run', 'alerts', 'stats', 'base'],
  widgets: ['run', 'capture', 'alerts', 'filter', 'export', 'stats', 'http', 'protocol', 'base'],
  sinks: ['widgets', 'run', 'capture', 'alerts', 'filter', 'export', 'stats', 'http', 'protocol', 'platform', 'base'],
  app: ['sinks', 'widgets', 'persist', 'run', 'capture', 'alerts', 'filter', 'export', 'stats', 'http', 'tls', 'protocol', 'platform', 'base'],
};

/** The layer of a file, from its folder (the few top-level files by name). */
function layerOf(file: string): string {
  const relative = path.relative(ROOT, file).split(path.sep);
  if (relative[0] === 'widgets') return 'widgets';
  if (relative.length > 2) return relative[1];
  const name = relative[1].replace(/\.ts$/, '');
  if (['types', 'errors', 'format', 'config', 'memoryBudget', 'version', 'memo', 'mix32'].includes(name)) return 'base';
  return 'app'; // main, cli, settings: the composition root
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The project files a file imports (type-only imports too: they are arrows of the design). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const targets: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|require\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)) {
    const spec = match[1] ?? match[2] ?? match[3];
    const base = path.resolve(path.dirname(file), spec);
    const candidates = [`${base}.ts`, path.join(base, 'index.ts'), base];
    const found = candidates.find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile() && candidate.endsWith('.ts'));
    if (found) targets.push(found);
  }
  return targets;
}

const files = [...sourceFiles(path.join(ROOT, 'src')), ...sourceFiles(path.join(ROOT, 'widgets'))];
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const shown = (file: string) => path.relative(ROOT, file);

/** Strongly connected components of more than one file (or a file importing itself). */
function circles(): string[][] {
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string): void => {
    order.set(file, index);
    low.set(file, index++);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!order.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, order.get(next)!));
    }
    if (low.get(file) === order.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(shown(member));
      } while (member !== file);
      if (component.length > 1 || (graph.get(file) ?? []).includes(file)) found.push(component.sort());
    }
  };
  for (const file of files) if (!order.has(file)) visit(file);
  return found;
}

describe('the import graph', () => {
  it('reads every source file and finds their imports', () => {
    expect(files.length).toBeGreaterThan(80);
    expect(graph.get(path.join(ROOT, 'src/main.ts'))!.length).toBeGreaterThan(5);
  });

  it('has no circles between files', () => {
    expect(circles()).toEqual([]);
  });

  it('only goes down the layers', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      const from = layerOf(file);
      expect(LAYERS[from]).toBeDefined();
      for (const target of targets) {
        const to = layerOf(target);
        if (to !== from && !LAYERS[from].includes(to)) upward.push(`${shown(file)} (${from}) -> ${shown(target)} (${to})`);
      }
    }
    expect(upward).toEqual([]);
  });
});
