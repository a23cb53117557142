import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * The layout of src/ as rules, read from the import graph itself (static, type-only, re-exports
 * and `import()` alike): no cycles; the domain imports no SDK and nothing outside it; src/lib
 * never reaches the sandbox; a handler never imports another. ESLint holds the domain's rule too
 * (eslint.config.js), where an editor shows it.
 */

type Graph = Map<string, { specifier: string; target?: string }[]>;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The specifiers a file imports: `import … from`, `export … from`, `import '…'`, `import('…')`. */
function specifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'";]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) found.push(match[1]!);
  }
  return found;
}

function graphOf(root: string): Graph {
  const graph: Graph = new Map();
  for (const file of sources(root)) {
    const edges = specifiers(readFileSync(file, 'utf8')).map((specifier) => ({
      specifier,
      target: specifier.startsWith('.') ? normalize(join(dirname(file), specifier)) : undefined,
    }));
    graph.set(normalize(file), edges);
  }
  return graph;
}

/** Every cycle's path (each found once, from its first file met), by depth-first search. */
function cycles(edges: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...edges.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

const graph = graphOf('src');
const inside = (file: string, dir: string) => !relative(dir, file).startsWith('..');
const edgesFrom = (dir: string) =>
  [...graph].flatMap(([file, edges]) =>
    inside(file, dir) ? edges.map((edge) => ({ file, ...edge })) : [],
  );
const show = (edges: { file: string; specifier: string }[]) =>
  edges.map(({ file, specifier }) => `${file} -> ${specifier}`);

/** What the domain may not name: SDKs, middleware, the Lambda runtime's types, the network. */
const NOT_IN_DOMAIN = [
  /^@aws-sdk\//,
  /^@smithy\//,
  /^@middy\//,
  /^@aws-lambda-powertools\//,
  /^aws-lambda$/,
  /^(node:)?https?$/,
];

describe('the layout of src/', () => {
  it('reads the import graph: every relative import resolves to a file of src/', () => {
    const relativeEdges = [...graph.values()].flat().filter((edge) => edge.target);
    expect(relativeEdges.length).toBeGreaterThan(100);
    expect(relativeEdges.filter((edge) => !graph.has(edge.target!))).toEqual([]);
    // The reader sees `import()`: lazy.ts loads these adapters on demand (their own chunks).
    const lazy = graph.get(normalize('src/lib/adapters/lazy.ts'))!.map((e) => e.specifier);
    expect(lazy).toEqual(
      expect.arrayContaining(['./storage.ts', './events.ts', './deadletter.ts']),
    );
  });

  it('finds a cycle, and a path only once', () => {
    const edges = new Map([
      ['a', ['b']],
      ['b', ['c', 'd']],
      ['c', ['a']],
      ['d', []],
    ]);
    expect(cycles(edges)).toEqual([['a', 'b', 'c', 'a']]);
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('has no import cycles', () => {
    const edges = new Map(
      [...graph].map(([file, list]) => [file, list.flatMap((e) => (e.target ? [e.target] : []))]),
    );
    expect(cycles(edges)).toEqual([]);
  });

  it('keeps src/lib/domain free of SDKs and of everything outside it', () => {
    const domain = normalize('src/lib/domain');
    const edges = edgesFrom(domain);
    expect(edges.length).toBeGreaterThan(0);
    const outside = edges.filter((e) =>
      e.target ? !inside(e.target, domain) : NOT_IN_DOMAIN.some((re) => re.test(e.specifier)),
    );
    expect(show(outside)).toEqual([]);
  });

  it('keeps adapters and the HTTP edge off the use cases, and adapters off the HTTP edge', () => {
    const reaches = (from: string, to: string) =>
      show(edgesFrom(normalize(from)).filter((e) => e.target && inside(e.target, normalize(to))));
    expect(reaches('src/lib/adapters', 'src/lib/app')).toEqual([]);
    expect(reaches('src/lib/adapters', 'src/lib/http')).toEqual([]);
    expect(reaches('src/lib/http', 'src/lib/app')).toEqual([]);
  });

  it('never reaches the sandbox (src/local) from src/lib', () => {
    const edges = edgesFrom(normalize('src/lib')).filter(
      (e) => e.target && inside(e.target, normalize('src/local')),
    );
    expect(show(edges)).toEqual([]);
  });

  it('keeps Powertools batch in one adapter, and src/lib/wiring above the layers it joins', () => {
    const batch = [...graph].flatMap(([file, edges]) =>
      edges.some((e) => e.specifier.startsWith('@aws-lambda-powertools/batch')) ? [file] : [],
    );
    expect(batch).toEqual([normalize('src/lib/adapters/sqs-batch.ts')]);
    const wiring = normalize('src/lib/wiring');
    const below = ['src/lib/app', 'src/lib/domain', 'src/lib/adapters', 'src/lib/http'];
    const up = below.flatMap((dir) =>
      edgesFrom(normalize(dir)).filter((e) => e.target && inside(e.target, wiring)),
    );
    expect(show(up)).toEqual([]);
  });

  it('never has a handler import another handler', () => {
    const handlers = normalize('src/handlers');
    const edges = edgesFrom(handlers).filter((e) => e.target && inside(e.target, handlers));
    expect(show(edges)).toEqual([]);
  });
});
