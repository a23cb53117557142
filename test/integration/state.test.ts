import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '../../src/lib/adapters/job-store.ts';
import {
  EMULATOR_CREDENTIALS,
  startDynamo,
  startS3,
  type Emulator,
} from '../../src/local/emulators.ts';
import { LOCAL } from '../../src/local/names.ts';
import {
  INTERRUPTED_REASON,
  SANDBOX_STATE_DIR,
  describeRestore,
  forgetState,
  freshFlag,
  restoreJobs,
  stateFolders,
} from '../../src/local/state.ts';

/*
 * The sandbox's state across restarts (src/local/state.ts): s3rver's `directory` and dynalite's
 * `path` on a temp dir, stopped and started again, as `npm start` does with .sandbox/state/.
 */

let dir: string;
const common = { region: LOCAL.region, credentials: EMULATOR_CREDENTIALS };

async function start(): Promise<{
  s3: S3Client;
  store: JobStore;
  dynamodbUrl: string;
  close(): Promise<void>;
}> {
  const folders = stateFolders(dir);
  const [s3e, ddb]: Emulator[] = await Promise.all([
    startS3({ buckets: [LOCAL.inputBucket, LOCAL.outputBucket], directory: folders.s3 }),
    startDynamo({ table: LOCAL.jobsTable, path: folders.dynamodb }),
  ]);
  const s3 = new S3Client({ ...common, endpoint: s3e!.url, forcePathStyle: true });
  const dynamo = new DynamoDBClient({ ...common, endpoint: ddb!.url });
  return {
    s3,
    store: new JobStore(dynamo, LOCAL.jobsTable),
    dynamodbUrl: ddb!.url,
    close: async () => {
      s3.destroy();
      dynamo.destroy();
      await Promise.all([s3e!.close(), ddb!.close()]);
    },
  };
}

const submitted = (id: string, extra: Record<string, unknown> = {}) => ({
  inferenceId: id,
  status: 'IN_PROGRESS' as const,
  endpointName: LOCAL.endpointName,
  submittedAt: new Date().toISOString(),
  outputLocation: `s3://${LOCAL.outputBucket}/outputs/${id}.out`,
  failureLocation: `s3://${LOCAL.outputBucket}/failures/${id}-error.out`,
  ...extra,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-state-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sandbox state across restarts', () => {
  it('keeps objects and job records, and settles the jobs the last run left IN_PROGRESS', async () => {
    const first = await start();
    try {
      await first.store.claim(submitted('done-before'));
      await first.store.transition('done-before', {
        status: 'COMPLETED',
        endpointName: LOCAL.endpointName,
        completedAt: new Date().toISOString(),
        expiresAt: 2_000_000_000,
        outputLocation: `s3://${LOCAL.outputBucket}/outputs/done-before.out`,
      });
      await first.store.claim(submitted('output-but-no-notification'));
      await first.store.claim(submitted('model-work-lost'));
      for (const id of ['done-before', 'output-but-no-notification']) {
        await first.s3.send(
          new PutObjectCommand({
            Bucket: LOCAL.outputBucket,
            Key: `outputs/${id}.out`,
            Body: `result of ${id}`,
            ContentType: 'text/plain',
          }),
        );
      }
    } finally {
      await first.close();
    }

    const second = await start();
    try {
      const report = await restoreJobs({ dynamodbUrl: second.dynamodbUrl, s3: second.s3 });
      expect(report).toEqual({ jobs: 3, finished: 1, interrupted: 1 });
      expect(await second.store.get('done-before')).toMatchObject({ status: 'COMPLETED' });
      expect(await second.store.get('output-but-no-notification')).toMatchObject({
        status: 'COMPLETED',
        result: 'result of output-but-no-notification',
      });
      expect(await second.store.get('model-work-lost')).toMatchObject({
        status: 'FAILED',
        failureReason: INTERRUPTED_REASON,
      });
      const out = await second.s3.send(
        new GetObjectCommand({ Bucket: LOCAL.outputBucket, Key: 'outputs/done-before.out' }),
      );
      expect(await out.Body!.transformToString()).toBe('result of done-before');
      expect(describeRestore(dir, report)).toBe(
        `[state] restored 3 jobs from ${dir} (1 left IN_PROGRESS by the last run failed: their model work was lost when it stopped, submit them again; 1 left IN_PROGRESS finished from their output in S3)`,
      );
      // Settled once: a third start finds nothing left to settle.
      expect(await restoreJobs({ dynamodbUrl: second.dynamodbUrl, s3: second.s3 })).toEqual({
        jobs: 3,
        finished: 0,
        interrupted: 0,
      });
    } finally {
      await second.close();
    }
  });

  it('--fresh forgets every job and object', async () => {
    expect(freshFlag(['--fresh', '--model-url', 'http://127.0.0.1:8080'])).toEqual({
      fresh: true,
      rest: ['--model-url', 'http://127.0.0.1:8080'],
    });
    expect(freshFlag([]).fresh).toBe(false);
    await forgetState(dir);
    const again = await start();
    try {
      expect(await again.store.get('done-before')).toBeUndefined();
      const report = await restoreJobs({ dynamodbUrl: again.dynamodbUrl, s3: again.s3 });
      expect(report.jobs).toBe(0);
      expect(describeRestore(dir, report)).toBe(
        `[state] no jobs to restore: starting empty (state kept in ${dir})`,
      );
      expect(await readdir(join(stateFolders(dir).s3, LOCAL.outputBucket))).toEqual([]);
    } finally {
      await again.close();
    }
  });

  it("names npm start's state relative to the project", () => {
    expect(describeRestore(SANDBOX_STATE_DIR, { jobs: 1, finished: 0, interrupted: 0 })).toBe(
      '[state] restored 1 job from .sandbox/state/',
    );
  });
});
