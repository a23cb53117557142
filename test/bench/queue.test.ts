import { describe, expect, it } from 'vitest';
import { arrivals, jain, percentile, queueBench, simulate } from '../../bench/queue.ts';

/*
 * `npm run bench -- --only queue` (bench/queue.ts): a few jobs through the simulation, a check
 * that the scenario runs and that what it counts by construction holds; the figures themselves
 * are the full run's.
 */

describe('the queue-control bench scenario', () => {
  it('runs both modes on the same seeded arrivals and reports every figure', async () => {
    const lines: string[] = [];
    const { rows } = await queueBench({ n: 120, idleReps: 3, log: (l) => lines.push(l) });
    const figure = (name: string) => rows.find((r) => r.figure.startsWith(name));
    for (const name of [
      'queue: high-lane p99 time to start',
      "queue: Jain's fairness index, tenants backlogged",
      'queue: store writes per job',
      'queue: hottest key (waiting indexes, registry)',
      'queue: cancelled-while-waiting jobs that reached the model',
      'queue: expired jobs invoked',
      'queue: idle endpoint, messages between submit and invoke',
    ]) {
      expect(figure(name), name).toBeDefined();
    }
    for (const r of rows) {
      expect(Number.isFinite(r.ours), r.figure).toBe(true);
      expect(r.baseline, r.figure).toBeGreaterThan(0);
    }
    // Held by the use cases whatever the load: never a cancelled or expired job on the model.
    expect(figure('queue: cancelled-while-waiting')!.ours).toBe(0);
    expect(figure('queue: expired jobs invoked')!.ours).toBe(0);
    expect(figure('queue: idle endpoint, messages')!.ours).toBe(2);
    expect(lines.join('\n')).toContain('Jain');
  }, 120_000);

  it('is deterministic: the same seed gives the same starts', async () => {
    const load = arrivals(60, 7);
    expect(arrivals(60, 7)).toEqual(load);
    const a = await simulate(load, true);
    const b = await simulate(load, true);
    expect([...a.startedAt]).toEqual([...b.startedAt]);
    expect(a.startedAt.size).toBe(60);
  }, 60_000);

  it("computes Jain's index and percentiles as defined", () => {
    expect(jain([1, 1, 1])).toBeCloseTo(1, 9);
    expect(jain([1, 0, 0])).toBeCloseTo(1 / 3, 9);
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
  });
});
