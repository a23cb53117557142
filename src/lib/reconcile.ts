import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from './config.ts';
import { OutputMissing } from './errors.ts';
import { expiresAt, type Job, type JobStore, type Outcome } from './jobs.ts';
import { logger } from './logger.ts';
import { count } from './metrics.ts';
import { encodeResult } from './encoding.ts';
import { announceOnDemand, readOnDemand, type ClientSource } from './lazy.ts';
import { allowedLocation } from './locations.ts';
import type { ReadResult } from './storage.ts';

/*
 * Lost-notification recovery: SageMaker's polling approach (look for the output, then the failure,
 * at the locations InvokeEndpointAsync answered) applied to jobs still IN_PROGRESS after a while.
 * A job found finished goes through the same conditional transition as the notification path, so a
 * notification arriving at the same time is harmless.
 */

export interface ReconcileDeps {
  config: Config;
  store: JobStore;
  s3: ClientSource<S3Client>;
  eventBridge?: ClientSource<EventBridgeClient>;
  now?: () => Date;
}

async function announced(job: Job, deps: ReconcileDeps): Promise<void> {
  if (!deps.eventBridge || !deps.config.eventBusName) return;
  await announceOnDemand(job.inferenceId, {
    store: deps.store,
    eventBridge: deps.eventBridge,
    busName: deps.config.eventBusName,
    now: deps.now,
  });
}

export type Verdict = 'completed' | 'failed' | 'expired' | 'pending';

async function tryRead(
  deps: ReconcileDeps,
  uri: string | undefined,
  what: string,
): Promise<ReadResult | undefined> {
  if (!uri) return undefined;
  const loc = allowedLocation(uri, deps.config.outputBuckets, what);
  try {
    return await readOnDemand(deps.s3, loc, deps.config.inlineResultMaxBytes);
  } catch (err) {
    if (err instanceof OutputMissing) return undefined;
    throw err;
  }
}

function bodyFields(read: ReadResult): Partial<Outcome> {
  const fields: Partial<Outcome> = { resultBytes: read.bytes, outputContentType: read.contentType };
  return read.inline ? { ...fields, ...encodeResult(read.body, read.contentType) } : fields;
}

/** Checks one unfinished job in S3 and finishes it when SageMaker has (or its deadline passed). */
export async function reconcileJob(job: Job, deps: ReconcileDeps): Promise<Verdict> {
  const now = deps.now?.() ?? new Date();
  const base: Outcome = {
    status: 'COMPLETED',
    endpointName: job.endpointName ?? 'unknown',
    completedAt: now.toISOString(),
    expiresAt: job.expiresAt ?? expiresAt(now, deps.config.jobTtlDays),
  };
  const output = await tryRead(deps, job.outputLocation, 'outputLocation');
  if (output) {
    const applied = await deps.store.finish(job.inferenceId, {
      ...base,
      outputLocation: job.outputLocation,
      ...bodyFields(output),
    });
    logger.info('job completed by reconcile', { inferenceId: job.inferenceId, applied });
    count('JobsReconciled', base.endpointName);
    await announced(job, deps);
    return 'completed';
  }
  const failure = await tryRead(deps, job.failureLocation, 'failureLocation');
  if (failure) {
    await deps.store.finish(job.inferenceId, {
      ...base,
      status: 'FAILED',
      failureLocation: job.failureLocation,
      failureReason: 'SageMaker wrote a failure (found by reconcile; its notification was lost)',
      ...bodyFields(failure),
    });
    logger.info('job failed by reconcile', { inferenceId: job.inferenceId });
    count('JobsReconciled', base.endpointName);
    await announced(job, deps);
    return 'failed';
  }
  if (job.expectedBy && Date.parse(job.expectedBy) < now.getTime()) {
    await deps.store.finish(job.inferenceId, {
      ...base,
      status: 'FAILED',
      failureReason: job.outputLocation
        ? 'no output and no failure after RequestTTLSeconds and InvocationTimeoutSeconds: the request expired or its result was lost'
        : 'the job was never queued with SageMaker (the submit did not finish)',
    });
    logger.warn('job expired', { inferenceId: job.inferenceId });
    await announced(job, deps);
    return 'expired';
  }
  return 'pending';
}

export interface ReconcileReport {
  checked: number;
  completed: number;
  failed: number;
  expired: number;
  pending: number;
  errors: number;
}

/** Every job still IN_PROGRESS `olderThanSeconds` after its submit, a few at a time. */
export async function reconcile(
  deps: ReconcileDeps,
  opts: { olderThanSeconds: number; concurrency?: number },
): Promise<ReconcileReport> {
  const now = deps.now?.() ?? new Date();
  const before = new Date(now.getTime() - opts.olderThanSeconds * 1000).toISOString();
  const report: ReconcileReport = {
    checked: 0,
    completed: 0,
    failed: 0,
    expired: 0,
    pending: 0,
    errors: 0,
  };
  const inFlight = new Set<Promise<void>>();
  try {
    for await (const job of deps.store.pendingBefore(before)) {
      report.checked++;
      const p = reconcileJob(job, deps)
        .then((verdict) => {
          report[verdict]++;
        })
        .catch((err: unknown) => {
          report.errors++;
          logger.error('reconcile failed for a job', {
            inferenceId: job.inferenceId,
            error: err instanceof Error ? err.name : 'unknown',
          });
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= (opts.concurrency ?? 8)) await Promise.race(inFlight);
    }
  } catch (err) {
    // The index could not be read (further): what was checked stands, the rest waits for next time.
    report.errors++;
    logger.error('reconcile could not list unfinished jobs', {
      error: err instanceof Error ? err.name : 'unknown',
    });
  }
  await Promise.all(inFlight);
  return report;
}
