import type { Family } from '../lib/context.ts';
import { INIT_CLIENTS, type Client, type Fn } from '../lib/packaging.ts';
import { handlerEnv, probe } from '../lib/probe.ts';
import { median } from '../lib/rows.ts';

/** Cold start: a new process loads each bundle, ours against the floor, empty and naive CJS. */
export const coldStart: Family = {
  name: 'cold start',
  async run({ smoke, functions, bundles: { ours, base }, row, notes }) {
    // The smoke run checks that every subject loads and every row is written: one round, unwarmed.
    const runs = smoke ? 1 : 21;
    const warmup = smoke ? 0 : 1;
    console.log(`\ncold start: a new process loads the bundle (median of ${runs}, interleaved)`);
    const env = handlerEnv();
    const subjects: [string, string][] = [['empty', base.empty]];
    for (const fn of functions) {
      subjects.push(
        [`ours-${fn}`, ours[fn]],
        [`floor-${fn}`, base.floor[fn]],
        [`naive-${fn}`, base.naiveCjs[fn]],
      );
      const initFloor = base.initFloor[fn];
      if (initFloor) subjects.push([`init-floor-${fn}`, initFloor]);
    }
    const times = new Map<string, number[]>(subjects.map(([name]) => [name, []]));
    for (let i = 0; i < runs + warmup; i++) {
      for (const [name, file] of subjects) {
        const p = await probe(file, env);
        if (i >= warmup) times.get(name)!.push(p.wallMs); // a first round warms the file cache
      }
    }
    const m = (name: string) => median(times.get(name)!);
    const empty = m('empty');
    notes.coldStartEmptyMs = empty;
    for (const fn of functions) {
      row({
        figure: `cold start ${fn} vs floor`,
        ours: m(`ours-${fn}`),
        baseline: m(`floor-${fn}`),
        baselineName: 'floor',
        unit: 'ms',
        max: 1.1,
      });
    }
    for (const [fn, clients] of Object.entries(INIT_CLIENTS) as [Fn, Client[]][]) {
      if (!functions.includes(fn)) continue;
      row({
        figure: `cold start ${fn} vs its INIT floor (${clients.join(', ')})`,
        ours: m(`ours-${fn}`),
        baseline: m(`init-floor-${fn}`),
        baselineName: 'INIT floor',
        unit: 'ms',
        max: 1.1,
      });
    }
    for (const fn of functions) {
      // The stretch goal: the paths that need fewer clients (getJob; onSuccess when the
      // notification carries responseBody) start at 1.5x an empty handler.
      const stretch = fn === 'getJob' || fn === 'onSuccess' ? 1.5 : undefined;
      row({
        figure: `cold start ${fn} vs empty`,
        ours: m(`ours-${fn}`),
        baseline: empty,
        baselineName: 'empty',
        unit: 'ms',
        max: stretch,
      });
    }
    // For reference, onSuccess's (absent from a run of other functions: `--functions`).
    if (functions.includes('onSuccess')) {
      row({
        figure: 'cold start naive CJS onSuccess vs empty',
        ours: m('naive-onSuccess'),
        baseline: empty,
        baselineName: 'empty',
        unit: 'ms',
      });
      row({
        figure: 'cold start floor onSuccess vs empty',
        ours: m('floor-onSuccess'),
        baseline: empty,
        baselineName: 'empty',
        unit: 'ms',
      });
    }
  },
};
