import { describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { JobStore } from '../../../../src/lib/adapters/job-store.ts';
import { activityView } from '../../../../src/lib/app/activity.ts';
import { afterEffects, endJob, type EndingDeps } from '../../../../src/lib/app/ending.ts';
import { loadConfig } from '../../../../src/lib/config.ts';
import { bucketOf } from '../../../../src/lib/domain/activity.ts';
import type { Job, Outcome } from '../../../../src/lib/domain/jobs.ts';
import { activityEndpoints, activityMinutes } from '../../../../src/lib/http/activity.ts';
import { endingPorts } from '../../../../src/lib/wiring/endings.ts';
import { FakeActivityLog } from '../../../support/fakes/activity.ts';
import { FakeJobRepository } from '../../../support/fakes/job-repository.ts';
import { FakeMetrics } from '../../../support/fakes/metrics.ts';

/*
 * The activity count is one after-effect of an ending (src/lib/app/ending.ts), taken only by the
 * call whose transition made the record terminal: a duplicate notification, a reconcile behind
 * it or a re-run of the after-effects never counts the job again. GET /activity's window and its
 * `minutes` parameter.
 */

const SUBMITTED = '2026-11-24T12:00:00.000Z';

function claimOf(inferenceId: string): Job {
  return {
    inferenceId,
    status: 'IN_PROGRESS',
    endpointName: 'demo-endpoint',
    submittedAt: SUBMITTED,
    expiresAt: 1_900_000_000,
    claimToken: 'token',
    leaseUntil: SUBMITTED,
  };
}

const outcome = (status: Outcome['status'], completedAt: string): Outcome => ({
  status,
  endpointName: 'demo-endpoint',
  completedAt,
  expiresAt: 1_900_000_000,
});

function rig(activity: FakeActivityLog | { count(): Promise<void>; read(): Promise<never> }) {
  const store = new FakeJobRepository();
  const deps: EndingDeps = {
    config: {},
    store,
    metrics: new FakeMetrics(),
    activity: activity as FakeActivityLog,
    now: () => new Date('2026-11-24T12:30:00.000Z'),
  };
  return { store, deps };
}

describe('the activity count of an ending', () => {
  it('counts a fresh ending once, in its minute and shard, with its submit-to-result time', async () => {
    const activity = new FakeActivityLog();
    const { store, deps } = rig(activity);
    await store.claim(claimOf('a-1'));
    const first = await endJob(
      'a-1',
      { outcome: outcome('COMPLETED', '2026-11-24T12:00:02.500Z'), endedBy: 'notification' },
      deps,
    );
    expect(first.applied).toBe(true);
    // The duplicate notification, a reconcile behind it, the after-effects run again.
    const again = await endJob(
      'a-1',
      { outcome: outcome('COMPLETED', '2026-11-24T12:00:03.000Z'), endedBy: 'reconcile' },
      deps,
    );
    expect(again.applied).toBe(false);
    await afterEffects(first.job, deps);
    expect(activity.counted).toEqual([
      expect.objectContaining({
        endpointName: 'demo-endpoint',
        status: 'COMPLETED',
        minute: '2026-11-24T12:00',
        toResultMs: 2500,
      }),
    ]);
    const [minute] = await activity.read(['demo-endpoint'], ['2026-11-24T12:00']);
    expect(minute).toMatchObject({ completed: 1, histogram: { [bucketOf(2500)]: 1 } });
  });

  it('counts a failure without a time (the histogram is of results)', async () => {
    const activity = new FakeActivityLog();
    const { store, deps } = rig(activity);
    await store.claim(claimOf('a-2'));
    await endJob(
      'a-2',
      { outcome: outcome('FAILED', '2026-11-24T12:01:00.000Z'), endedBy: 'notification' },
      deps,
    );
    expect(activity.counted).toEqual([
      expect.objectContaining({
        status: 'FAILED',
        minute: '2026-11-24T12:01',
        toResultMs: undefined,
      }),
    ]);
  });

  it('a lost count is logged, not an error of the ending', async () => {
    const failing = {
      count: async () => {
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceeded' });
      },
      read: async () => {
        throw new Error('unused');
      },
    };
    const { store, deps } = rig(failing);
    await store.claim(claimOf('a-3'));
    const ended = await endJob(
      'a-3',
      { outcome: outcome('COMPLETED', '2026-11-24T12:00:01.000Z'), endedBy: 'notification' },
      deps,
    );
    expect(ended.applied).toBe(true);
  });

  it("every ending path's ports count in the DynamoDB store's own table; a fake store, nothing", () => {
    const config = loadConfig({
      ENDPOINT_NAME: 'demo-endpoint',
      INPUT_BUCKET: 'input-bucket',
      OUTPUT_BUCKETS: 'output-bucket',
      JOBS_TABLE: 'jobs',
    });
    const client = new DynamoDBClient({ region: 'us-east-1' });
    try {
      const s3 = () => Promise.reject(new Error('unused'));
      expect(
        endingPorts({ config, store: new JobStore(client, 'jobs'), s3 }).activity,
      ).toBeDefined();
      expect(endingPorts({ config, store: new FakeJobRepository(), s3 }).activity).toBeUndefined();
    } finally {
      client.destroy();
    }
  });
});

describe('GET /activity', () => {
  it('reads the whole minutes up to the current one, oldest first, and answers p50/p99', async () => {
    const activity = new FakeActivityLog();
    for (let i = 1; i <= 100; i++) {
      await activity.count({
        endpointName: 'demo-endpoint',
        status: 'COMPLETED',
        minute: '2026-11-24T12:29',
        shard: i % 16,
        toResultMs: i * 100,
      });
    }
    const view = await activityView(
      { activity, now: () => new Date('2026-11-24T12:30:59.999Z') },
      { endpointNames: ['demo-endpoint'], minutes: 3 },
    );
    expect(view.minutes.map((m) => m.at)).toEqual([
      '2026-11-24T12:28:00.000Z',
      '2026-11-24T12:29:00.000Z',
      '2026-11-24T12:30:00.000Z',
    ]);
    const [, busy, empty] = view.minutes;
    expect(busy!.completed).toBe(100);
    // True p50 5,000 ms, p99 9,900 ms: each within the stated error.
    expect(Math.abs(busy!.p50Ms! / 5000 - 1)).toBeLessThanOrEqual(view.percentileError);
    expect(Math.abs(busy!.p99Ms! / 9900 - 1)).toBeLessThanOrEqual(view.percentileError);
    expect(empty).toMatchObject({ completed: 0, p50Ms: null, p99Ms: null });
  });

  it('takes endpoint= one of the stack’s endpoints, every one when absent', async () => {
    const names = ['ep-a', 'ep-b'];
    expect(activityEndpoints({}, names)).toEqual(names);
    expect(activityEndpoints({ endpoint: 'ep-b' }, names)).toEqual(['ep-b']);
    for (const bad of ['ep-c', '', 'EP-A'])
      expect(() => activityEndpoints({ endpoint: bad }, names)).toThrow(/unknown endpoint/);
    const activity = new FakeActivityLog();
    for (const endpointName of names)
      await activity.count({
        endpointName,
        status: 'FAILED',
        minute: '2026-11-24T12:30',
        shard: 0,
      });
    const now = () => new Date('2026-11-24T12:30:30Z');
    const one = await activityView(
      { activity, now },
      { endpointNames: activityEndpoints({ endpoint: 'ep-a' }, names), minutes: 1 },
    );
    expect(one).toMatchObject({ endpoints: ['ep-a'], minutes: [{ failed: 1 }] });
    const both = await activityView({ activity, now }, { endpointNames: names, minutes: 1 });
    expect(both.minutes[0]!.failed).toBe(2);
  });

  it('takes minutes=1..180, 60 when absent', () => {
    expect(activityMinutes({})).toBe(60);
    expect(activityMinutes({ minutes: '1' })).toBe(1);
    expect(activityMinutes({ minutes: '180' })).toBe(180);
    for (const bad of ['0', '181', '-1', '1.5', 'x', '', '0060']) {
      expect(() => activityMinutes({ minutes: bad })).toThrow(/minutes must be/);
    }
  });
});
