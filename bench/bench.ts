/**
 * `npm run bench`: every performance figure of the project, each measured side by side with its
 * baseline in the same run on the same machine, printed as a table and written to
 * bench/results.json. `--smoke` runs a few iterations of everything (a check that the bench works,
 * not a measurement); `--update-readme` (alias `--update-docs`) writes the table between the
 * `<!-- bench:start -->` / `<!-- bench:end -->` markers of docs/performance.md. `--only cold-start`
 * runs some families (by name, spaces as dashes) and `--functions getBatch,autoRetry` measures the
 * cold start of some functions: a partial run, which `--update-readme` refuses.
 *
 * This file is the runner: it builds the bundles once, runs each figure family of FAMILIES in
 * order with a shared context, then writes and prints the results. A new figure is a new file in
 * bench/figures exporting a `Family` ({ name, run(ctx) }), added to FAMILIES below.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { FUNCTIONS } from '../src/local/names.ts';
import { startSandbox, type Sandbox } from '../src/local/sandbox.ts';
import { PROJECT_DIR, removeSandboxDirIfEmpty } from '../src/local/paths.ts';
import { coldStart } from './figures/cold-start.ts';
import { endToEnd } from './figures/end-to-end.ts';
import { firstInvocation } from './figures/first-invocation.ts';
import { memory } from './figures/memory.ts';
import { overhead } from './figures/overhead.ts';
import { queue } from './figures/queue.ts';
import { sandboxRate } from './figures/sandbox-rate.ts';
import { scalingCost } from './figures/scaling-cost.ts';
import { store } from './figures/store.ts';
import { throughput } from './figures/throughput.ts';
import { freeSandboxPorts } from '../test/support/sandbox.ts';
import { bundleGraph } from './graph.ts';
import { parseBenchArgs, slug, type BenchArgs } from './lib/args.ts';
import type { BenchContext, Family } from './lib/context.ts';
import { PERFORMANCE_DOC, readBenchBlock, writeBenchBlock } from './lib/docs.ts';
import { buildBundles, type Fn } from './lib/packaging.ts';
import { recordRow, sizeLine, table, type Row } from './lib/rows.ts';

/** The figure families, in the order they run and their rows appear: register new ones here. */
const FAMILIES: Family[] = [
  coldStart,
  overhead,
  firstInvocation,
  memory,
  throughput,
  endToEnd,
  sandboxRate,
  store,
  scalingCost,
  queue,
];

let args: BenchArgs;
try {
  args = parseBenchArgs(
    process.argv.slice(2),
    FAMILIES.map((f) => f.name),
    join(PROJECT_DIR, 'bench', 'results.json'),
  );
} catch (err) {
  console.error(`bench: ${(err as Error).message}`);
  process.exit(2);
}
const SMOKE = args.smoke;
const UPDATE_DOCS = args.updateDocs;
const { only } = args;
const families = only ? FAMILIES.filter((f) => only.includes(slug(f.name))) : FAMILIES;
const partial = only !== undefined || args.functions !== undefined;
// The in-process measurements load src/ and the bundles: keep their logs out of the report.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
const WORK = join(PROJECT_DIR, '.sandbox', `bench-${process.pid}`);

async function main() {
  const started = Date.now();
  // A page without its markers fails now, not after the whole run.
  if (UPDATE_DOCS) await readBenchBlock(PERFORMANCE_DOC);
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  const machine = `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.log(`bench${SMOKE ? ' (smoke: few iterations, not a measurement)' : ''} on ${machine}`);
  if (partial) {
    console.log(
      `partial run: ${families.map((f) => slug(f.name)).join(', ')}${args.functions ? `; cold start of ${args.functions.join(', ')}` : ''}`,
    );
  }
  const listeners = new Set<(line: string) => void>();
  let sandbox: Promise<Sandbox> | undefined;
  try {
    console.log('building the bundles the way `serverless package` does ...');
    // A smoke run checks that every figure is written: the cold start of the two functions with a
    // stretch target stands for all (every function's baselines cost a few esbuild builds).
    const functions: readonly Fn[] =
      args.functions ?? (SMOKE ? ['getJob', 'onSuccess'] : FUNCTIONS);
    // Each function's baselines are a few esbuild builds: only when its cold start is measured.
    const measured = families.includes(coldStart) ? functions : [];
    const bundles = await buildBundles(WORK, measured, args.packaged);
    // What INIT reads (the entry and its static imports), all a handler may load, and its zip.
    const sizes: Record<string, number> = {};
    for (const fn of FUNCTIONS) {
      const graph = bundleGraph(bundles.ours[fn]);
      sizes[fn] = graph.initBytes;
      sizes[`${fn}.initFiles`] = graph.init.length;
      sizes[`${fn}.all`] = graph.allBytes;
      sizes[`${fn}.zip`] = (await stat(join(bundles.packageDir, `${fn}.zip`))).size;
    }
    console.log('bundle sizes (bytes):', JSON.stringify(sizes));
    const rows: Row[] = [];
    const notes: Record<string, unknown> = {};
    const ctx: BenchContext = {
      smoke: SMOKE,
      work: WORK,
      bundles,
      functions,
      row: (r) => recordRow(rows, r),
      rows,
      notes,
      updateDocs: UPDATE_DOCS,
      sandbox: async () =>
        (sandbox ??= startSandbox({
          // Held until all are chosen: ports picked one at a time can be handed out twice.
          ports: await freeSandboxPorts(),
          log: (line) => listeners.forEach((l) => l(line)),
        })),
      onSandboxLine: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    for (const family of families) {
      const t0 = Date.now();
      await family.run(ctx);
      console.log(`[${family.name}: ${((Date.now() - t0) / 1000).toFixed(1)} s]`);
    }
    const results = {
      machine,
      smoke: SMOKE,
      // A partial run's rows are some of the table's: never to be read as the whole.
      ...(partial ? { partial: { families: families.map((f) => slug(f.name)), functions } } : {}),
      date: new Date().toISOString(),
      durationS: (Date.now() - started) / 1000,
      sizes,
      rows,
      notes,
    };
    await writeFile(args.out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\n${table(rows)}`);
    const cpu = (notes.cpuPerNotificationMs as number | undefined)?.toFixed(3);
    if (cpu !== undefined) {
      console.log(
        `\nCPU per notification: ${cpu} ms (target <= 0.5 ms: ${notes.cpuPass ? 'pass' : 'FAIL'})`,
      );
    }
    console.log(`bundle sizes: ${sizeLine(sizes)}`);
    console.log(`written to ${args.out}`);
    // parseBenchArgs refused --update-readme with --only or --functions: this is the whole table.
    if (UPDATE_DOCS) {
      await writeBenchBlock(
        `Written by \`npm run bench -- --update-readme\` on ${machine}, ${results.date.slice(0, 10)}:

${table(rows)}

CPU per notification with in-process fakes: ${cpu} ms (target 0.5 ms).
Bundle sizes (read at INIT in files / all the handler may load / zip): ${sizeLine(sizes)}.
`,
        PERFORMANCE_DOC,
      );
    }
  } finally {
    await (await sandbox?.catch(() => undefined))?.close();
    await rm(WORK, { recursive: true, force: true });
    await removeSandboxDirIfEmpty();
  }
}

await main();
