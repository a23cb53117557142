import { describe, expect, it } from 'vitest';
import {
  capacityArgs,
  capacityFromEnv,
  createCapacity,
  DEFAULT_CAPACITY,
  type CapacityOptions,
  type Clock,
} from '../../../src/local/capacity.ts';

/** A clock that only moves when the test says so. */
function manualClock() {
  let t = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 0;
  const clock: Clock = {
    now: () => t,
    setTimeout: (fn, ms) => {
      timers.set(++next, { at: t + ms, fn });
      return next;
    },
    clearTimeout: (h) => void timers.delete(h as number),
  };
  const advance = (ms: number) => {
    const until = t + ms;
    for (;;) {
      const due = [...timers.entries()]
        .filter(([, v]) => v.at <= until)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      timers.delete(due[0]);
      t = due[1].at;
      due[1].fn();
    }
    t = until;
  };
  return { clock, advance, pending: () => timers.size };
}

function harness(opts: CapacityOptions) {
  const { clock, advance, pending } = manualClock();
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  const scales: [number, number][] = [];
  const capacity = createCapacity({
    ...opts,
    clock,
    log: (event, fields) => events.push({ event, fields }),
    onScale: (from, to) => scales.push([from, to]),
  });
  return { capacity, advance, pending, events, scales, names: () => events.map((e) => e.event) };
}

const zeroToTwo = {
  minInstances: 0,
  maxInstances: 2,
  instanceStartMs: 500,
  scaleInIdleMs: 800,
  backlogPerInstance: 2,
};

describe('local capacity model', () => {
  it('by default keeps one instance in service and never scales', () => {
    const h = harness({});
    expect(h.capacity.state()).toEqual({ inService: 1, starting: 0, backlog: 0 });
    h.capacity.backlog(50);
    h.advance(10 * 60_000);
    h.capacity.backlog(0);
    h.advance(10 * 60_000);
    expect(h.capacity.state().inService).toBe(1);
    expect(h.scales).toEqual([]);
    expect(h.events).toEqual([]);
  });

  it('from zero: holds the backlog, starts an instance, serves, scales back in after idling', () => {
    const h = harness(zeroToTwo);
    expect(h.capacity.state()).toEqual({ inService: 0, starting: 0, backlog: 0 });
    h.capacity.backlog(1);
    expect(h.names()).toEqual(['backlog without capacity', 'scaling out', 'instance starting']);
    expect(h.scales).toEqual([[0, 1]]);
    expect(h.capacity.state()).toEqual({ inService: 0, starting: 1, backlog: 1 });
    h.advance(499);
    expect(h.capacity.state().inService).toBe(0);
    h.advance(1);
    expect(h.capacity.state()).toEqual({ inService: 1, starting: 0, backlog: 1 });
    expect(h.names().at(-1)).toBe('instance in service');
    // The job runs, then finishes: the idle period starts.
    h.capacity.backlog(0);
    h.advance(799);
    expect(h.capacity.state().inService).toBe(1);
    h.advance(1);
    expect(h.capacity.state().inService).toBe(0);
    expect(h.events.at(-1)).toEqual({
      event: 'scaling in',
      fields: { inService: 0, starting: 0, backlog: 0, from: 1, to: 0, idleMs: 800 },
    });
    expect(h.scales).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(h.pending()).toBe(0);
  });

  it('new work during the idle period cancels the scale-in', () => {
    const h = harness(zeroToTwo);
    h.capacity.backlog(1);
    h.advance(500);
    h.capacity.backlog(0);
    h.advance(700);
    h.capacity.backlog(1);
    h.advance(5_000);
    expect(h.capacity.state().inService).toBe(1);
    h.capacity.backlog(0);
    h.advance(800);
    expect(h.capacity.state().inService).toBe(0);
    expect(h.names().filter((n) => n === 'scaling in')).toHaveLength(1);
  });

  it('scales out toward the maximum while the backlog per instance is above target', () => {
    const h = harness(zeroToTwo);
    h.capacity.backlog(1);
    h.capacity.backlog(2);
    expect(h.capacity.state().starting).toBe(1);
    // 3 per 1 instance > 2: a second one, never a third (max 2) however long the backlog.
    h.capacity.backlog(3);
    h.capacity.backlog(40);
    expect(h.capacity.state()).toMatchObject({ inService: 0, starting: 2 });
    expect(h.scales).toEqual([
      [0, 1],
      [1, 2],
    ]);
    h.advance(500);
    expect(h.capacity.state()).toMatchObject({ inService: 2, starting: 0 });
    h.capacity.backlog(0);
    h.advance(800);
    expect(h.capacity.state().inService).toBe(0);
    expect(h.scales.at(-1)).toEqual([2, 0]);
  });

  it('scales in to the minimum, not below', () => {
    const h = harness({ ...zeroToTwo, minInstances: 1, maxInstances: 3, backlogPerInstance: 1 });
    expect(h.capacity.state().inService).toBe(1);
    h.capacity.backlog(3);
    expect(h.capacity.state().starting).toBe(2);
    h.advance(500);
    h.capacity.backlog(0);
    h.advance(800);
    expect(h.capacity.state().inService).toBe(1);
    expect(h.scales).toEqual([
      [1, 3],
      [3, 1],
    ]);
    expect(h.names()).not.toContain('backlog without capacity');
  });

  it('an instance that comes up after the work is gone still scales back in', () => {
    const h = harness(zeroToTwo);
    h.capacity.backlog(1);
    h.capacity.backlog(0);
    h.advance(500 + 800);
    expect(h.capacity.state().inService).toBe(0);
  });

  it('close stops every timer', () => {
    const h = harness(zeroToTwo);
    h.capacity.backlog(5);
    h.capacity.close();
    expect(h.pending()).toBe(0);
    h.advance(10_000);
    expect(h.capacity.state().inService).toBe(0);
  });
});

describe('capacity settings', () => {
  it('defaults keep one instance always up', () => {
    expect(capacityFromEnv({})).toEqual(DEFAULT_CAPACITY);
  });

  it('reads the SANDBOX_* variables and the npm start flags', () => {
    const { env, rest } = capacityArgs(
      [
        '--min-instances',
        '0',
        '--max-instances=2',
        '--instance-start-ms',
        '300',
        '--model-url',
        'x',
      ],
      { SANDBOX_SCALE_IN_IDLE_MS: '400', SANDBOX_BACKLOG_PER_INSTANCE: '3' },
    );
    expect(rest).toEqual(['--model-url', 'x']);
    expect(capacityFromEnv(env)).toEqual({
      minInstances: 0,
      maxInstances: 2,
      instanceStartMs: 300,
      scaleInIdleMs: 400,
      backlogPerInstance: 3,
    });
    // A minimum above the default maximum raises the maximum with it.
    expect(capacityFromEnv({ SANDBOX_MIN_INSTANCES: '3' }).maxInstances).toBe(3);
  });

  it('refuses what cannot work, naming the variable', () => {
    expect(() => capacityFromEnv({ SANDBOX_MIN_INSTANCES: '-1' })).toThrow(/SANDBOX_MIN_INSTANCES/);
    expect(() => capacityFromEnv({ SANDBOX_MAX_INSTANCES: '0' })).toThrow(/SANDBOX_MAX_INSTANCES/);
    expect(() =>
      capacityFromEnv({ SANDBOX_MIN_INSTANCES: '3', SANDBOX_MAX_INSTANCES: '2' }),
    ).toThrow(/below SANDBOX_MIN_INSTANCES/);
    expect(() => capacityFromEnv({ SANDBOX_INSTANCE_START_MS: '1.5' })).toThrow(
      /SANDBOX_INSTANCE_START_MS/,
    );
    expect(() => capacityArgs(['--max-instances'], {})).toThrow(/needs a value/);
  });
});
