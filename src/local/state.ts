import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { announceOnDemand } from '../lib/adapters/lazy.ts';
import { JobStore } from '../lib/adapters/job-store.ts';
import { checkJob } from '../lib/app/reconcile.ts';
import { loadConfig } from '../lib/config.ts';
import { expiresAt } from '../lib/domain/jobs.ts';
import { localClientOptions } from './emulators.ts';
import { LOCAL } from './names.ts';
import { PROJECT_DIR } from './paths.ts';

/*
 * What `npm start` keeps across restarts: s3rver's objects and dynalite's LevelDB under
 * `.sandbox/state/` (git-ignored). The queues of the local runtime, SNS, EventBridge and SQS stay in
 * memory: what was in them when the sandbox stopped is gone, and the jobs it concerned are settled
 * here at the next start.
 */

/** Where `npm start` keeps its state; tests and the bench pass a temp dir, or none (memory). */
export const SANDBOX_STATE_DIR = join(PROJECT_DIR, '.sandbox', 'state');

export const stateFolders = (dir: string) => ({
  s3: join(dir, 's3'),
  dynamodb: join(dir, 'dynamodb'),
});

/** `--fresh`: forget every job of earlier runs. */
export async function forgetState(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** The failure a job gets when the sandbox stopped while the local runtime held its request. */
export const INTERRUPTED_REASON =
  'the local sandbox stopped while this job was queued or running: its model work was lost (submit it again)';

export interface RestoreReport {
  /** Job records found in the state (any status). */
  jobs: number;
  /** IN_PROGRESS jobs whose output or failure was already in S3: finished from it. */
  finished: number;
  /** IN_PROGRESS jobs with nothing in S3: failed with INTERRUPTED_REASON. */
  interrupted: number;
}

export interface RestoreDeps {
  dynamodbUrl: string;
  s3: S3Client;
  /** The local EventBridge: JobCompleted/JobFailed of the settled jobs reach webhooks. */
  eventBridgeUrl?: string;
  now?: () => Date;
}

/**
 * Counts the restored jobs and settles those the last run left IN_PROGRESS. A request the local
 * runtime had queued or was running died with the process (real SageMaker would still hold it), so
 * such a job would otherwise stay IN_PROGRESS until its RequestTTLSeconds deadline, hours later.
 * It is first looked for in S3 as reconcile does (the model may have finished before the stop,
 * with only the notification lost), and otherwise failed with a reason saying what happened:
 * re-running model work nobody asked to re-run again would surprise more than a clear failure.
 */
export async function restoreJobs(deps: RestoreDeps): Promise<RestoreReport> {
  const dynamo = new DynamoDBClient(localClientOptions(deps.dynamodbUrl));
  const eventBridge = deps.eventBridgeUrl
    ? new EventBridgeClient(localClientOptions(deps.eventBridgeUrl))
    : undefined;
  const report: RestoreReport = { jobs: 0, finished: 0, interrupted: 0 };
  try {
    const store = new JobStore(dynamo, LOCAL.jobsTable);
    const config = loadConfig({
      ENDPOINT_NAME: LOCAL.endpointName,
      INPUT_BUCKET: LOCAL.inputBucket,
      OUTPUT_BUCKETS: LOCAL.outputBucket,
      JOBS_TABLE: LOCAL.jobsTable,
      EVENT_BUS_NAME: eventBridge ? LOCAL.eventBusName : undefined,
    });
    const unfinished: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamo.send(
        new ScanCommand({
          TableName: LOCAL.jobsTable,
          // Job records only: the reconcile cursor's item has no status.
          FilterExpression: 'attribute_exists(#s)',
          ProjectionExpression: 'inferenceId, #s',
          ExpressionAttributeNames: { '#s': 'status' },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        report.jobs++;
        if (item.status?.S === 'IN_PROGRESS' && item.inferenceId?.S) {
          unfinished.push(item.inferenceId.S);
        }
      }
      start = page.LastEvaluatedKey;
    } while (start);

    for (const job of await store.getMany(unfinished)) {
      if (job.status !== 'IN_PROGRESS') continue;
      const found = await checkJob(job, {
        config,
        store,
        s3: () => deps.s3,
        eventBridge: eventBridge && (() => eventBridge),
        now: deps.now,
      });
      if (found.verdict !== 'pending') {
        report.finished++;
        continue;
      }
      const now = deps.now?.() ?? new Date();
      // IN_PROGRESS -> FAILED, the same conditional transition as onError's.
      const t = await store.transition(job.inferenceId, {
        status: 'FAILED',
        endpointName: job.endpointName ?? LOCAL.endpointName,
        completedAt: now.toISOString(),
        expiresAt: job.expiresAt ?? expiresAt(now, config.jobTtlDays),
        failureReason: INTERRUPTED_REASON,
      });
      if (!t.applied) continue; // a notification finished it meanwhile
      report.interrupted++;
      if (eventBridge && config.eventBusName) {
        await announceOnDemand(
          t.job,
          { store, eventBridge: () => eventBridge, busName: config.eventBusName, now: deps.now },
          true,
        );
      }
    }
    return report;
  } finally {
    dynamo.destroy();
    eventBridge?.destroy();
  }
}

/** The one start-log line about the state. */
export function describeRestore(dir: string, report: RestoreReport | undefined): string {
  const where = relative(PROJECT_DIR, dir).startsWith('..')
    ? dir
    : `${relative(PROJECT_DIR, dir)}/`;
  if (!report || report.jobs === 0) {
    return `[state] no jobs to restore: starting empty (state kept in ${where})`;
  }
  const settled: string[] = [];
  if (report.interrupted > 0) {
    settled.push(
      `${report.interrupted} left IN_PROGRESS by the last run failed: their model work was lost when it stopped, submit them again`,
    );
  }
  if (report.finished > 0) {
    settled.push(`${report.finished} left IN_PROGRESS finished from their output in S3`);
  }
  return `[state] restored ${report.jobs} job${report.jobs === 1 ? '' : 's'} from ${where}${settled.length ? ` (${settled.join('; ')})` : ''}`;
}

/** `npm start -- --fresh`: the flag, and the other arguments for the rest of start.ts. */
export function freshFlag(argv: string[]): { fresh: boolean; rest: string[] } {
  return { fresh: argv.includes('--fresh'), rest: argv.filter((a) => a !== '--fresh') };
}
