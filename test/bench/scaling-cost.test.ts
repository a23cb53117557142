import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CostInput,
  SCALING_DOC,
  README,
  SCALING_MARKERS,
  costRows,
  costTable,
  defaultInput,
  paramDefault,
} from '../../bench/figures/scaling-cost.ts';
import { writeBenchBlock } from '../../bench/lib/docs.ts';

/*
 * The scaling cost figure (bench/figures/scaling-cost.ts) is arithmetic, not a measurement: its
 * numbers are checked here against hand-worked cases, so the bench smoke run need not grow.
 */

const input: CostInput = {
  pricePerHour: 1,
  instanceType: 'ml.test',
  priceSource: 'a round number',
  maxInstances: 10,
  concurrencyPerInstance: 1,
  // One instance-hour of work.
  jobsPerBusyHour: 60,
  secondsPerJob: 60,
  wakeAlarmMinutes: 2,
  instanceStartMinutes: 4,
  scaleInAfterMinutes: 6,
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-scaling-cost-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the scaling cost figure', () => {
  it('costs nothing on an idle day at zero, and 24 instance-hours kept at one', () => {
    const [idle] = costRows(input);
    expect(idle).toMatchObject({ zero: 0, alwaysOn: 24, ratio: 0 });
  });

  it('works a busy hour from zero with the fleet the 54 minutes left need, until scale-in', () => {
    const [, busy, day, first] = costRows(input);
    // From zero: 6 minutes waking, an instance-hour of work in 54 minutes takes 2 instances,
    // which stay 54 + 6 minutes. Kept at one: 1 instance does it, over the hour and the tail.
    expect(busy!.zero).toBeCloseTo(2, 9);
    expect(busy!.alwaysOn).toBeCloseTo(66 / 60, 9);
    expect(busy!.ratio).toBeCloseTo(2 / (66 / 60), 9);
    // The day: the busy hour alone at zero, against 24 hours of the one instance (no extra one).
    expect(day!.zero).toBeCloseTo(2, 9);
    expect(day!.alwaysOn).toBeCloseTo(24, 9);
    // The first job after idle waits for the wake, then runs its minute.
    expect(first).toMatchObject({ unit: 'min', zero: 7, alwaysOn: 1, ratio: 7 });
  });

  it('never counts more instances than maxInstances, and prices instance-hours', () => {
    const [, busy] = costRows({ ...input, maxInstances: 1, pricePerHour: 0.5 });
    expect(busy!.zero).toBeCloseTo((1 * 60) / 60 / 2, 9);
    expect(busy!.alwaysOn).toBeCloseTo(66 / 60 / 2, 9);
  });

  it("takes the deploy's defaults from serverless.yml, checked as the package checks them", () => {
    expect(paramDefault('maxInstances')).toBe('2');
    expect(paramDefault('minInstances')).toBe('0');
    expect(paramDefault('scalingEndpointName')).toBe('');
    expect(() => paramDefault('noSuchParam')).toThrow(/no default for param noSuchParam/);
    const d = defaultInput();
    expect(d.maxInstances).toBe(2);
    expect(d.concurrencyPerInstance).toBe(
      Number(paramDefault('maxConcurrentInvocationsPerInstance')),
    );
  });

  it('writes its table between its own markers in docs/scaling.md and the README, which have them', async () => {
    expect(SCALING_DOC).toMatch(/docs[/\\]scaling\.md$/);
    for (const doc of [SCALING_DOC, README]) {
      const page = await readFile(doc, 'utf8');
      expect(page).toContain(SCALING_MARKERS.start);
      expect(page).toContain(SCALING_MARKERS.end);
      // The block the last `npm run bench -- --update-readme` wrote, the same in both pages.
      // (compared as prose: prettier pads the table's columns when it writes it)
      const flat = (t: string) => t.replace(/-{3,}/g, '---').replace(/\s+/g, ' ');
      expect(flat(page)).toContain(
        flat(costTable(defaultInput(), costRows(defaultInput())).trim()),
      );
    }
    const file = join(dir, 'scaling.md');
    await writeFile(
      file,
      `# Scaling\n\n${SCALING_MARKERS.start}\nstale table\n${SCALING_MARKERS.end}\n\nAfter.\n`,
    );
    await writeBenchBlock(costTable(input, costRows(input)), file, SCALING_MARKERS);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('stale table');
    expect(text).toMatch(/\| idle day \(no job\) +\| \$0\.00 +\| \$24\.00 +\| 0\.00x \|/);
    expect(text).toMatch(
      /\| first job after idle: submit to result +\| 7\.0 min +\| 1\.0 min +\| 7\.00x \|/,
    );
    expect(text.indexOf(SCALING_MARKERS.end)).toBeLessThan(text.indexOf('After.'));
  });
});
