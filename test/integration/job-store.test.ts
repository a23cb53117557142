import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/lib/domain/jobs.ts';
import { JobStore } from '../../src/lib/adapters/job-store.ts';
import { EMULATOR_CREDENTIALS, startDynamo } from '../../src/local/emulators.ts';

/*
 * The claim's conditional writes against dynalite: a takeover of a claim never queued is one
 * conditional PutItem on the token read, so of two takeovers exactly one wins, and a claim that
 * was queued, finished or taken meanwhile is never replaced.
 */

let emulator: { url: string; close(): Promise<void> };
let client: DynamoDBClient;
let store: JobStore;

beforeAll(async () => {
  emulator = await startDynamo({ table: process.env.JOBS_TABLE as string });
  client = new DynamoDBClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
  });
  store = new JobStore(client, process.env.JOBS_TABLE as string);
});
afterAll(async () => {
  client?.destroy();
  await emulator?.close();
});

const claimOf = (inferenceId: string, claimToken: string, extra: Partial<Job> = {}): Job => ({
  inferenceId,
  status: 'IN_PROGRESS',
  endpointName: 'demo-endpoint',
  inputLocation: `s3://async-jobs-local-input/inputs/${inferenceId}`,
  submittedAt: '2026-11-24T12:00:00.000Z',
  leaseUntil: '2026-11-24T12:00:34.000Z',
  expiresAt: 1_900_000_000,
  claimToken,
  ...extra,
});

describe('JobStore claims against dynalite', () => {
  it('takes over a claim never queued: the new claim replaces the old one whole', async () => {
    await store.claim(claimOf('t-1', 'old', { callbackUrl: 'https://hooks.example.com/x' }));
    await store.markChecked('t-1', '2026-11-24T12:20:00.000Z');
    const next = claimOf('t-1', 'new', { submittedAt: '2026-11-24T12:01:00.000Z' });
    expect(await store.takeOver(next, 'old')).toEqual({ taken: true });
    expect(await store.get('t-1')).toEqual({ ...next, shardKey: expect.any(String) });
  });

  it('of two takeovers of one dead claim, exactly one wins; the other is answered the winner', async () => {
    await store.claim(claimOf('t-race', 'dead'));
    const [a, b] = await Promise.all([
      store.takeOver(claimOf('t-race', 'a'), 'dead'),
      store.takeOver(claimOf('t-race', 'b'), 'dead'),
    ]);
    const won = [a, b].filter((t) => t.taken);
    expect(won).toHaveLength(1);
    const lost = (a.taken ? b : a) as { taken: false; current?: Job };
    const winner = a.taken ? 'a' : 'b';
    expect(lost.current?.claimToken).toBe(winner);
    expect((await store.get('t-race'))?.claimToken).toBe(winner);
  });

  it('goes on with its own takeover when the SDK retries one whose answer was lost', async () => {
    await store.claim(claimOf('t-retried', 'dead'));
    const mine = claimOf('t-retried', 'mine');
    expect(await store.takeOver(mine, 'dead')).toEqual({ taken: true });
    // The retried attempt finds its own token where it expected the dead one.
    expect(await store.takeOver(mine, 'dead')).toEqual({ taken: true });
  });

  it('never replaces a claim that was queued, a finished job, or another token', async () => {
    await store.claim(claimOf('t-queued', 'first'));
    await store.markQueued('t-queued', { outputLocation: 's3://async-jobs-local-output/o.out' });
    const queued = await store.takeOver(claimOf('t-queued', 'second'), 'first');
    expect(queued).toMatchObject({ taken: false, current: { claimToken: 'first' } });

    await store.claim(claimOf('t-done', 'first'));
    await store.transition('t-done', {
      status: 'FAILED',
      endpointName: 'demo-endpoint',
      completedAt: '2026-11-24T12:00:05.000Z',
      expiresAt: 1_900_000_000,
      failureReason: 'ModelError',
    });
    const done = await store.takeOver(claimOf('t-done', 'second'), 'first');
    expect(done).toMatchObject({ taken: false, current: { status: 'FAILED' } });

    await store.claim(claimOf('t-other', 'current'));
    const other = await store.takeOver(claimOf('t-other', 'second'), 'stale');
    expect(other).toMatchObject({ taken: false, current: { claimToken: 'current' } });

    expect(await store.takeOver(claimOf('t-none', 'second'), 'stale')).toEqual({
      taken: false,
      current: undefined,
    });
    expect(await store.get('t-none')).toBeUndefined();
  });

  it('releases only its own claim never queued, and says whether it did', async () => {
    await store.claim(claimOf('t-release', 'mine'));
    expect(await store.release('t-release', 'theirs')).toBe(false);
    expect(await store.release('t-release', 'mine')).toBe(true);
    expect(await store.get('t-release')).toBeUndefined();
    expect(await store.release('t-release', 'mine')).toBe(false);
  });
});
