import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * The layout of src/ as rules, read from the import graph itself (static, type-only, re-exports
 * and `import()` alike): no cycles; the domain imports no SDK and nothing outside it; the use
 * cases (src/lib/app) import the domain, their ports, each other, one Logger and the Config type,
 * and nothing else; a port names domain types only; adapters reach the use cases only through
 * their ports; src/lib/wiring composes them and nothing below it imports it; Powertools batch
 * lives in one adapter; src/lib never reaches the sandbox; a handler never imports another.
 * ESLint holds the domain's, the use cases' and the ports' rules too (eslint.config.js), where an
 * editor shows them.
 */

type Edge = { specifier: string; target?: string; typeOnly: boolean };
type Graph = Map<string, Edge[]>;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * The specifiers a file imports: `import … from`, `export … from`, `import '…'`, `import('…')`;
 * `typeOnly` for `import type` and `export type`, which leave nothing in the bundle.
 */
function specifiers(text: string): { specifier: string; typeOnly: boolean }[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: { specifier: string; typeOnly: boolean }[] = [];
  for (const m of code.matchAll(
    /\b(?:import|export)\s(type\s)?[^'";]*?\sfrom\s*['"]([^'"]+)['"]/g,
  )) {
    found.push({ specifier: m[2]!, typeOnly: m[1] !== undefined });
  }
  for (const pattern of [/\bimport\s*['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g]) {
    for (const m of code.matchAll(pattern)) found.push({ specifier: m[1]!, typeOnly: false });
  }
  return found;
}

function graphOf(root: string): Graph {
  const graph: Graph = new Map();
  for (const file of sources(root)) {
    const edges = specifiers(readFileSync(file, 'utf8')).map(({ specifier, typeOnly }) => ({
      specifier,
      typeOnly,
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
const show = (edges: { file: string; specifier: string }[]): string[] =>
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

/** The one cross-cutting module the use cases may import: the process's one Logger. */
const LOGGER = normalize('src/lib/adapters/logger.ts');
/** The Config the use cases are given: its type only (the wiring reads the environment). */
const CONFIG = normalize('src/lib/config.ts');
const DOMAIN = normalize('src/lib/domain');
const APP = normalize('src/lib/app');
const PORTS = normalize('src/lib/app/ports');

/** The edges of `dir` that break the use cases' rule, as `file -> specifier`. */
function outsideTheUseCases(dir: string): string[] {
  return show(
    edgesFrom(dir).filter((e) =>
      e.target
        ? !(
            inside(e.target, DOMAIN) ||
            inside(e.target, APP) ||
            e.target === LOGGER ||
            (e.target === CONFIG && e.typeOnly)
          )
        : NOT_IN_DOMAIN.some((re) => re.test(e.specifier)),
    ),
  );
}

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

  it('keeps the use cases on the domain, their ports, the Logger and the Config type', () => {
    expect(edgesFrom(APP).length).toBeGreaterThan(50);
    expect(outsideTheUseCases(APP)).toEqual([]);
    // What the rule refuses, read by the same code: an SDK, an adapter, the wiring, a value of
    // the config module, the HTTP edge.
    const probe = normalize('src/lib/app/probe.ts');
    graph.set(probe, [
      { specifier: '@aws-sdk/client-s3', typeOnly: true },
      { specifier: '@smithy/types', typeOnly: true },
      { specifier: 'aws-lambda', typeOnly: true },
      {
        specifier: '../adapters/storage.ts',
        target: normalize('src/lib/adapters/storage.ts'),
        typeOnly: false,
      },
      {
        specifier: '../wiring/submit.ts',
        target: normalize('src/lib/wiring/submit.ts'),
        typeOnly: false,
      },
      { specifier: '../config.ts', target: CONFIG, typeOnly: false },
      {
        specifier: '../http/answers.ts',
        target: normalize('src/lib/http/answers.ts'),
        typeOnly: true,
      },
      { specifier: '../adapters/logger.ts', target: LOGGER, typeOnly: false },
      { specifier: '../config.ts', target: CONFIG, typeOnly: true },
      { specifier: 'node:crypto', typeOnly: false },
    ]);
    try {
      expect(outsideTheUseCases(APP)).toEqual([
        `${probe} -> @aws-sdk/client-s3`,
        `${probe} -> @smithy/types`,
        `${probe} -> aws-lambda`,
        `${probe} -> ../adapters/storage.ts`,
        `${probe} -> ../wiring/submit.ts`,
        `${probe} -> ../config.ts`,
        `${probe} -> ../http/answers.ts`,
      ]);
    } finally {
      graph.delete(probe);
    }
  });

  it('has one file per port, each naming domain types only', () => {
    const ports = [...graph.keys()].filter((f) => inside(f, PORTS));
    expect(ports.length).toBeGreaterThanOrEqual(10);
    const outside = edgesFrom(PORTS).filter((e) =>
      e.target ? !inside(e.target, DOMAIN) && !inside(e.target, PORTS) : true,
    );
    expect(show(outside)).toEqual([]);
  });

  it('keeps adapters and the HTTP edge off the use cases, and adapters off the HTTP edge', () => {
    const reaches = (from: string, to: string) =>
      show(edgesFrom(normalize(from)).filter((e) => e.target && inside(e.target, normalize(to))));
    // An adapter implements a port: it may name the port's types, never a use case.
    expect(
      show(
        edgesFrom(normalize('src/lib/adapters')).filter(
          (e) => e.target && inside(e.target, APP) && !(inside(e.target, PORTS) && e.typeOnly),
        ),
      ),
    ).toEqual([]);
    expect(reaches('src/lib/adapters', 'src/lib/http')).toEqual([]);
    expect(reaches('src/lib/http', 'src/lib/app')).toEqual([]);
  });

  it('composes the ports outside the use cases: src/lib/wiring, reached from the edge only', () => {
    const wiring = normalize('src/lib/wiring');
    const into = (from: string) =>
      show(edgesFrom(normalize(from)).filter((e) => e.target && inside(e.target, wiring)));
    // Above the layers it joins: nothing it composes reaches back up to it.
    expect(into('src/lib/app')).toEqual([]);
    expect(into('src/lib/adapters')).toEqual([]);
    expect(into('src/lib/domain')).toEqual([]);
    expect(into('src/lib/http')).toEqual([]);
    expect(into('src/handlers').length).toBeGreaterThan(5);
  });

  it('never reaches the sandbox (src/local) from src/lib', () => {
    const edges = edgesFrom(normalize('src/lib')).filter(
      (e) => e.target && inside(e.target, normalize('src/local')),
    );
    expect(show(edges)).toEqual([]);
  });

  it('keeps Powertools batch in one adapter', () => {
    const batch = [...graph].flatMap(([file, edges]) =>
      edges.some((e) => e.specifier.startsWith('@aws-lambda-powertools/batch')) ? [file] : [],
    );
    expect(batch).toEqual([normalize('src/lib/adapters/sqs-batch.ts')]);
  });

  it('never has a handler import another handler', () => {
    const handlers = normalize('src/handlers');
    const edges = edgesFrom(handlers).filter((e) => e.target && inside(e.target, handlers));
    expect(show(edges)).toEqual([]);
  });
});
