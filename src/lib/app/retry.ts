import { BadRequest, Conflict, NotFound } from '../domain/errors.ts';
import { CLIENT_INFERENCE_ID, type Job } from '../domain/jobs.ts';
import { isUnqueuedClaim } from '../domain/claims.ts';
import { MAX_INFERENCE_ID_LENGTH, attemptId, baseIdOf, isRetryable } from '../domain/retry.ts';
import { logger } from '../adapters/logger.ts';
import { submitJob, type SubmitDeps } from './submit.ts';

/*
 * POST /jobs/{id}/retry and the automatic retry: a new attempt `<base>.<n>` of a failed job (by
 * hand also of a cancelled or expired one: RETRYABLE_STATUSES), made from the original's input
 * and parameters through submit's claim-invoke-record path. The
 * original's `attempts` counter is the lock: taking number n is one conditional write (latest
 * attempt n-1 -> n), so two retries of one failure never both invoke, and the new record itself is
 * a conditional create (submit's claim) as well.
 */

/** The job has not failed (nor was cancelled or expired), or it was retried already. */
export class RetryConflict extends Conflict {
  override readonly name = 'RetryConflict';
}

export interface RetryRequest {
  inferenceId: string;
  /** Owner mode: the caller; another caller's job is a 404, as GET /jobs/{id} answers. */
  owner?: string;
  /**
   * Automatic retries: only while attempt `n` is still the latest, so a duplicate JobFailed event
   * (or a manual retry in between) makes the retry a no-op.
   */
  ifLatestAttempt?: number;
}

/** Callback fields another part of the stack may store with a job (Step Functions' task token). */
const CARRIED_FIELDS = ['taskToken'] as const;

function carried(original: Job): Partial<Job> {
  const fields: Record<string, unknown> = {};
  for (const name of CARRIED_FIELDS) {
    const value = (original as unknown as Record<string, unknown>)[name];
    if (value !== undefined) fields[name] = value;
  }
  return fields as Partial<Job>;
}

function query(original: Job, inferenceId: string): Record<string, string | undefined> {
  const inv = original.invocation ?? {};
  const text = (n: number | undefined) => (n === undefined ? undefined : String(n));
  return {
    inferenceId,
    inputLocation: original.inputLocation,
    endpoint: original.endpointName,
    callbackUrl: original.callbackUrl,
    accept: inv.accept,
    customAttributes: inv.customAttributes,
    requestTtlSeconds: text(inv.requestTtlSeconds),
    invocationTimeoutSeconds: text(inv.invocationTimeoutSeconds),
    // A retry waits in the same lane, as long, counted for the same tenant (queue control).
    priority: original.priority,
    maxQueueSeconds: text(original.maxQueueSeconds),
    tenant: original.owner === undefined ? original.tenant : undefined,
  };
}

/**
 * A new attempt of a FAILED, CANCELLED or EXPIRED job (the same for all three); the original is
 * only given the count and the pointer.
 */
export async function retryJob(req: RetryRequest, deps: SubmitDeps): Promise<Job> {
  const { store } = deps;
  const job = await store.get(req.inferenceId);
  if (!job || (req.owner !== undefined && job.owner !== req.owner)) {
    throw new NotFound(`no job ${req.inferenceId}`);
  }
  const base = baseIdOf(job);
  const original = base === job.inferenceId ? job : await store.get(base);
  if (!original)
    throw new RetryConflict(
      `job ${base}, the original of ${job.inferenceId}, is gone`,
      job.inferenceId,
    );
  const latest = original.attempts ?? 1;
  const latestId = attemptId(base, latest);
  const current =
    latestId === job.inferenceId ? job : latestId === base ? original : await store.get(latestId);
  // Without a record, the retry that took the latest number never got its job queued (its claim
  // was released), and a claim never queued is as good as none (its release was lost): the
  // number is free to use again, and submit's claim decides between concurrent retries (taking
  // the dead claim over once its lease is over). The attempt being retried is then the one
  // before it.
  const free = !current || (latest > 1 && isUnqueuedClaim(current));
  const n = free ? latest : latest + 1;
  if (req.ifLatestAttempt !== undefined && req.ifLatestAttempt !== n - 1) {
    throw new RetryConflict(`attempt ${req.ifLatestAttempt} of ${base} was retried already`, base);
  }
  if (!free && current && !isRetryable(current.status)) {
    throw new RetryConflict(
      current.inferenceId === job.inferenceId
        ? `job ${job.inferenceId} has not failed: it is ${job.status}`
        : `job ${job.inferenceId} was retried: its latest attempt ${current.inferenceId} is ${current.status}`,
      current.inferenceId,
    );
  }
  const newId = attemptId(base, n);
  if (newId.length > MAX_INFERENCE_ID_LENGTH || !CLIENT_INFERENCE_ID.test(newId)) {
    throw new BadRequest(
      `job ${base} cannot be retried: attempt id ${newId} would not be a valid InferenceId (1-64 letters, digits, ".", "_" or "-")`,
    );
  }
  if (!original.inputLocation) {
    throw new RetryConflict(`job ${base} cannot be retried: its input location is not known`, base);
  }
  if (!free && !(await store.takeAttempt(base, latest, n, newId))) {
    throw new RetryConflict(
      `job ${job.inferenceId} is being retried by another request`,
      job.inferenceId,
    );
  }
  const { created, job: attempt } = await submitJob(
    {
      query: query(original, newId),
      contentType: original.inputContentType,
      body: Buffer.alloc(0),
      owner: original.owner,
      // The token of the attempt being retried: still unsettled only when its failure was not
      // final (an automatic retry); once a callback was sent the record no longer holds it.
      record: { retryOf: base, attempt: n, ...carried(current ?? job) },
    },
    deps,
  );
  if (!created) throw new RetryConflict(`attempt ${newId} exists already`, newId);
  logger.info('job retried', { inferenceId: newId, retryOf: base, attempt: n });
  deps.metrics.record(attempt.endpointName ?? deps.config.endpointName, ['JobsRetried']);
  return attempt;
}
