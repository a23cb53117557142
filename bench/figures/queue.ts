import { queueBench } from '../queue.ts';
import type { Family } from '../lib/context.ts';
import { muted } from '../lib/rows.ts';

/**
 * Queue control's figures (bench/queue.ts): the use cases on the fakes in front of a simulated
 * endpoint offered 3x its capacity, admission on against admission off in the same run, same
 * seeded arrivals. Simulated time: the figures do not depend on the machine.
 */
export const queue: Family = {
  name: 'queue',
  async run(ctx) {
    console.log(
      '\nqueue control: admission on vs off, simulated endpoint offered 3x (bench/queue.ts)',
    );
    const lines: string[] = [];
    // The use cases log each job; the simulation's own lines are printed after.
    const { rows, notes } = await muted(() =>
      queueBench({
        n: ctx.smoke ? 120 : 3000,
        idleReps: ctx.smoke ? 20 : 200,
        log: (l) => lines.push(l),
      }),
    );
    for (const l of lines) console.log(l);
    for (const r of rows) ctx.row(r);
    ctx.notes.queue = notes;
  },
};
