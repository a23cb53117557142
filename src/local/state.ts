import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { BatchStore } from '../lib/adapters/batch-store.ts';
import { sqsBatchQueue } from '../lib/adapters/batch-queue.ts';
import { JobStore } from '../lib/adapters/job-store.ts';
import { AdmissionStore } from '../lib/adapters/admission-store.ts';
import { sqsDispatchWake } from '../lib/adapters/dispatch-wake.ts';
import { afterEffects, endJob } from '../lib/app/ending.ts';
import { checkJob } from '../lib/app/reconcile.ts';
import { endingPorts } from '../lib/wiring/endings.ts';
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
  /** The local batch queue: a settled job of a batch counts its line, the last one its finish. */
  batchQueueUrl?: string;
  /**
   * Queue control on (`--admission on`): a settled job frees its slot in the window at once and
   * wakes the dispatcher through this queue, as every ending does (ending.ts), rather than
   * holding the slot until a round's sweep finds its holder terminal.
   */
  admission?: { dispatchQueueUrl?: string };
  now?: () => Date;
}

/** What the scan keeps of an item: a job record, or a batch header (it has a batchId, no status). */
interface Found {
  inferenceId: string;
  status?: string;
  batchId?: string;
  finishedAt?: boolean;
  announcedAt?: boolean;
}

/** Every job record and batch header of the table, by pages, with only what restore reads. */
async function scanItems(dynamo: DynamoDBClient): Promise<Found[]> {
  const found: Found[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.send(
      new ScanCommand({
        TableName: LOCAL.jobsTable,
        // Job records and batch headers only: the reconcile cursor's item, the announced markers
        // and the batch blocks have neither a status nor a batchId.
        FilterExpression: 'attribute_exists(#s) OR attribute_exists(batchId)',
        ProjectionExpression: 'inferenceId, #s, batchId, finishedAt, announcedAt',
        ExpressionAttributeNames: { '#s': 'status' },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      if (!item.inferenceId?.S) continue;
      found.push({
        inferenceId: item.inferenceId.S,
        status: item.status?.S,
        batchId: item.batchId?.S,
        finishedAt: item.finishedAt !== undefined,
        announcedAt: item.announcedAt !== undefined,
      });
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return found;
}

/**
 * Counts the restored jobs and settles those the last run left IN_PROGRESS. A request the local
 * runtime had queued or was running died with the process (real SageMaker would still hold it), so
 * such a job would otherwise stay IN_PROGRESS until its RequestTTLSeconds deadline, hours later.
 * It is first looked for in S3 as reconcile does (the model may have finished before the stop,
 * with only the notification lost), and otherwise failed with a reason saying what happened:
 * re-running model work nobody asked to re-run again would surprise more than a clear failure.
 * Either way it ends through the lib's endJob, so its event and its batch line follow as they
 * would on AWS. The local queues died with the process too: a job the last run ended whose
 * after-effects had not run (stopped between the transition and them) gets them again, and a
 * batch finished but not completed gets its finish queued again (both idempotent).
 */
export async function restoreJobs(deps: RestoreDeps): Promise<RestoreReport> {
  const dynamo = new DynamoDBClient(localClientOptions(deps.dynamodbUrl));
  const eventBridge = deps.eventBridgeUrl
    ? new EventBridgeClient(localClientOptions(deps.eventBridgeUrl))
    : undefined;
  const sqsUrl = deps.batchQueueUrl ?? deps.admission?.dispatchQueueUrl;
  const sqs = sqsUrl ? new SQSClient(localClientOptions(new URL(sqsUrl).origin)) : undefined;
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
    const batches =
      sqs && deps.batchQueueUrl
        ? {
            batches: new BatchStore(dynamo, LOCAL.jobsTable),
            queue: sqsBatchQueue(() => sqs, deps.batchQueueUrl),
            now: deps.now,
          }
        : undefined;
    const ending = endingPorts({
      config,
      store,
      s3: () => deps.s3,
      eventBridge: eventBridge && (() => eventBridge),
      batches,
      now: deps.now,
      admission: deps.admission && {
        queue: new AdmissionStore(dynamo, LOCAL.jobsTable),
        wake:
          sqs && deps.admission.dispatchQueueUrl
            ? sqsDispatchWake(() => sqs, deps.admission.dispatchQueueUrl)
            : undefined,
      },
    });
    const items = await scanItems(dynamo);
    const jobs = items.filter((i) => i.status !== undefined);
    report.jobs = jobs.length;
    const unfinished = jobs.filter((j) => j.status === 'IN_PROGRESS').map((j) => j.inferenceId);
    for (const job of await store.getMany(unfinished)) {
      if (job.status !== 'IN_PROGRESS') continue;
      const found = await checkJob(job, ending);
      if (found.verdict !== 'pending') {
        report.finished++;
        continue;
      }
      const now = deps.now?.() ?? new Date();
      const ended = await endJob(
        job.inferenceId,
        {
          outcome: {
            status: 'FAILED',
            endpointName: job.endpointName ?? LOCAL.endpointName,
            completedAt: now.toISOString(),
            expiresAt: job.expiresAt ?? expiresAt(now, config.jobTtlDays),
            failureReason: INTERRUPTED_REASON,
          },
          endedBy: 'restart',
        },
        ending,
      );
      // Not applied: a notification finished it meanwhile.
      if (ended.applied) report.interrupted++;
    }
    if (batches) {
      const headers = items.filter((i) => i.status === undefined && i.batchId !== undefined);
      const open = new Set(headers.filter((h) => !h.finishedAt).map((h) => h.batchId));
      const ended = jobs.filter(
        (j) => j.status !== 'IN_PROGRESS' && j.batchId !== undefined && open.has(j.batchId),
      );
      for (const job of await store.getMany(ended.map((j) => j.inferenceId))) {
        await afterEffects(job, ending);
      }
      const finishing = headers.filter((h) => h.finishedAt && !h.announcedAt);
      await batches.queue.send(finishing.map((h) => ({ t: 'finish', batchId: h.batchId! })));
    }
    return report;
  } finally {
    dynamo.destroy();
    eventBridge?.destroy();
    sqs?.destroy();
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
