import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/*
 * A built handler's module graph. INIT reads the static part (the entry and what it imports);
 * what sits behind `import()` loads on first use.
 */

export interface BundleGraph {
  /** Files INIT reads, relative to the entry's folder. */
  init: string[];
  /** Every file the handler may load, INIT's and the chunks behind `import()`. */
  all: string[];
  /** The source INIT reads, concatenated: to look for a client's marks in. */
  initSource: string;
  initBytes: number;
  allBytes: number;
}

export function bundleGraph(entry: string): BundleGraph {
  const root = dirname(entry);
  const read = new Map<string, string>();
  const walk = (file: string, dynamicToo: boolean, into: Set<string>) => {
    if (into.has(file)) return;
    into.add(file);
    const src = read.get(file) ?? readFileSync(file, 'utf8');
    read.set(file, src);
    const statics = src.matchAll(/(?:\bfrom|\bimport)\s*"(\.{1,2}\/[^"]+)"/g);
    for (const m of statics) walk(join(dirname(file), m[1]!), dynamicToo, into);
    if (dynamicToo) {
      for (const m of src.matchAll(/\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g)) {
        walk(join(dirname(file), m[1]!), true, into);
      }
    }
  };
  const init = new Set<string>();
  const all = new Set<string>();
  walk(entry, false, init);
  walk(entry, true, all);
  const bytes = (files: Set<string>) =>
    [...files].reduce((n, f) => n + Buffer.byteLength(read.get(f) ?? ''), 0);
  return {
    init: [...init].map((f) => relative(root, f)),
    all: [...all].map((f) => relative(root, f)),
    initSource: [...init].map((f) => read.get(f)).join('\n'),
    initBytes: bytes(init),
    allBytes: bytes(all),
  };
}
