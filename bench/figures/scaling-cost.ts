import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PROJECT_DIR } from '../../src/local/paths.ts';
import type { Family } from '../lib/context.ts';
import { type Markers, writeBenchBlock } from '../lib/docs.ts';

/**
 * What the endpoint costs scaled to zero (the default, minInstances 0) against the same endpoint
 * kept at minInstances 1, for an idle day, a busy hour and a day holding one busy hour, and what
 * the first job after idle waits. Arithmetic on the deploy's parameters (serverless.yml's
 * defaults, checked by deploy/scaling.cjs) and an instance price given as input: nothing here is
 * measured, and nothing in the table is typed by hand. `--update-readme` (alias `--update-docs`)
 * writes the table into docs/scaling.md between its own markers.
 */

export const SCALING_DOC = join(PROJECT_DIR, 'docs', 'scaling.md');
export const README = join(PROJECT_DIR, 'README.md');
export const SCALING_MARKERS: Markers = {
  start: '<!-- scaling-cost:start -->',
  end: '<!-- scaling-cost:end -->',
};

export interface CostInput {
  /** On-demand price of one instance-hour, and where and when it was read. */
  pricePerHour: number;
  instanceType: string;
  priceSource: string;
  /** From the deploy's parameters. */
  maxInstances: number;
  concurrencyPerInstance: number;
  /** The workload of the busy hour. */
  jobsPerBusyHour: number;
  secondsPerJob: number;
  /**
   * From queued-at-zero to an instance serving: the wake alarm needs 2 one-minute datapoints (the
   * developer guide's configuration, deploy/scaling.yml), then SageMaker provisions the instance,
   * which "takes several minutes" (SageMaker developer guide, "Scale an endpoint to zero
   * instances"): an assumption to replace with what your model's image and weights take.
   */
  wakeAlarmMinutes: number;
  instanceStartMinutes: number;
  /**
   * From the queue draining to the instances being removed: target tracking "scales in more
   * gradually" (Application Auto Scaling user guide) and AWS publishes no figure: an assumption.
   */
  scaleInAfterMinutes: number;
}

export interface CostRow {
  scenario: string;
  unit: string;
  /** minInstances 0 */
  zero: number;
  /** minInstances 1: the baseline */
  alwaysOn: number;
  ratio: number;
}

/** The instances a busy hour keeps busy, given the minutes it has to do the work in. */
function fleet(input: CostInput, minutes: number): number {
  const instanceSeconds =
    (input.jobsPerBusyHour * input.secondsPerJob) / input.concurrencyPerInstance;
  return Math.min(input.maxInstances, Math.max(1, Math.ceil(instanceSeconds / (minutes * 60))));
}

export function costRows(input: CostInput): CostRow[] {
  const wake = input.wakeAlarmMinutes + input.instanceStartMinutes;
  const tail = input.scaleInAfterMinutes;
  // From zero, nothing runs (or bills) until the first instance serves; the fleet then does the
  // hour's work in what is left of it, and stays until scale-in removes it.
  const zeroFleet = fleet(input, 60 - wake);
  const zeroBusy = (zeroFleet * (60 - wake + tail)) / 60;
  // Kept at one, the first instance is there from the start; the fleet comes back to one, which
  // stays: over the same window (the hour and the scale-in tail) every instance counts.
  const onFleet = fleet(input, 60);
  const onBusy = (onFleet * (60 + tail)) / 60;
  const dollars = (instanceHours: number) => instanceHours * input.pricePerHour;
  const row = (scenario: string, unit: string, zero: number, alwaysOn: number): CostRow => ({
    scenario,
    unit,
    zero,
    alwaysOn,
    ratio: zero / alwaysOn,
  });
  return [
    row('idle day (no job)', 'USD', 0, dollars(24)),
    row(
      `busy hour (${input.jobsPerBusyHour} jobs of ${input.secondsPerJob} s), to scale-in`,
      'USD',
      dollars(zeroBusy),
      dollars(onBusy),
    ),
    row(
      'a day holding that busy hour',
      'USD',
      dollars(zeroBusy),
      dollars(24 + ((onFleet - 1) * (60 + tail)) / 60),
    ),
    row(
      'first job after idle: submit to result',
      'min',
      wake + input.secondsPerJob / 60,
      input.secondsPerJob / 60,
    ),
  ];
}

const money = (n: number, unit: string) =>
  unit === 'USD' ? `$${n.toFixed(2)}` : `${n.toFixed(1)} min`;

/** The table docs/scaling.md shows, with the inputs it was computed from. */
export function costTable(input: CostInput, rows: CostRow[]): string {
  const lines = [
    '| scenario | scale to zero (`minInstances=0`) | always on (`minInstances=1`) | ratio |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${money(r.zero, r.unit)} | ${money(r.alwaysOn, r.unit)} | ${r.ratio.toFixed(2)}x |`,
    ),
  ];
  return `Written by \`npm run bench -- --update-readme\` from: ${input.instanceType} at $${input.pricePerHour.toFixed(3)} per instance-hour (${input.priceSource}); \`maxInstances=${input.maxInstances}\`, ${input.concurrencyPerInstance} concurrent invocations per instance; waking takes ${input.wakeAlarmMinutes} min of alarm and ${input.instanceStartMinutes} min of instance start (assumed), scale-in ${input.scaleInAfterMinutes} min after the queue drains (assumed).

${lines.join('\n')}
`;
}

/** serverless.yml's default of a parameter (`params.default`), as the deploy would get it. */
export function paramDefault(
  name: string,
  yaml = readFileSync(join(PROJECT_DIR, 'serverless.yml'), 'utf8'),
): string {
  const defaults = yaml.slice(yaml.indexOf('\n  default:'), yaml.indexOf('\n  local:'));
  const match = new RegExp(`^ {4}${name}: '?([^'\\n]*)'?$`, 'm').exec(defaults);
  if (!match) throw new Error(`serverless.yml has no default for param ${name}`);
  return match[1] as string;
}

/** The input the docs table uses: the deploy's defaults and a published price. */
export function defaultInput(): CostInput {
  const require = createRequire(import.meta.url);
  const { scaling } = require('../../deploy/scaling.cjs') as {
    scaling(p: Record<string, string>): { maxInstances: number };
  };
  const names = [
    'minInstances',
    'maxInstances',
    'backlogPerInstance',
    'scaleInCooldown',
    'scaleOutCooldown',
    'backlogAgeAlarmMinutes',
  ];
  const checked = scaling(Object.fromEntries(names.map((n) => [n, paramDefault(n)])));
  return {
    pricePerHour: 0.269,
    instanceType: 'ml.m5.xlarge',
    priceSource:
      'us-east-1 on-demand real-time/asynchronous inference price as published in October 2025, quoted by zircon.tech; check https://aws.amazon.com/sagemaker/ai/pricing/ for your region',
    maxInstances: checked.maxInstances,
    concurrencyPerInstance: Number(paramDefault('maxConcurrentInvocationsPerInstance')),
    jobsPerBusyHour: 1000,
    secondsPerJob: 20,
    wakeAlarmMinutes: 2,
    instanceStartMinutes: 5,
    scaleInAfterMinutes: 15,
  };
}

export const scalingCost: Family = {
  name: 'scaling cost',
  async run(ctx) {
    console.log('\nendpoint cost, scale to zero vs minInstances=1 (arithmetic, not measured)');
    const input = defaultInput();
    const rows = costRows(input);
    for (const r of rows) {
      console.log(
        `  ${r.scenario}: ${money(r.zero, r.unit)} vs always on ${money(r.alwaysOn, r.unit)} = ${r.ratio.toFixed(2)}x`,
      );
    }
    ctx.notes.scalingCost = { input, rows };
    if (ctx.updateDocs) {
      // The same table in docs/scaling.md and in the README's "Scaling and cost".
      for (const page of [SCALING_DOC, README])
        await writeBenchBlock(costTable(input, rows), page, SCALING_MARKERS);
    }
  },
};
