import type { Config } from '../config.ts';
import { OutputMissing } from '../domain/errors.ts';
import {
  checkOffsets,
  expiresAt,
  isWaiting,
  pastDeadline,
  shardKeys,
  type Job,
  type Outcome,
} from '../domain/jobs.ts';
import { isUnqueuedClaim, leaseLeftMs } from '../domain/claims.ts';
import { logger } from '../adapters/logger.ts';
import { encodeResult } from '../domain/encoding.ts';
import { allowedLocation } from '../domain/locations.ts';
import { endJob, type EndedBy, type EndingDeps } from './ending.ts';
import { expireIfDue } from './queue.ts';
import type { ObjectStore, ReadResult } from './ports/object-store.ts';

/*
 * Lost-notification recovery: SageMaker's polling approach (look for the output, then the failure,
 * at the locations InvokeEndpointAsync answered) applied to jobs still IN_PROGRESS after a while.
 * A job found finished (or expired) ends through endJob, as a notification would: the same
 * conditional transition and after-effects, so a notification arriving at the same time is harmless
 * and a batch counts the line whichever came first.
 */

/** The ending's deps (event bus, batch counts), and the S3 reads that find an ending. */
export interface ReconcileDeps extends EndingDeps {
  config: Config;
  /** The output buckets SageMaker writes to. */
  objects: ObjectStore;
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
    return await deps.objects.read(loc, deps.config.inlineResultMaxBytes);
  } catch (err) {
    if (err instanceof OutputMissing) return undefined;
    throw err;
  }
}

function bodyFields(read: ReadResult): Partial<Outcome> {
  const fields: Partial<Outcome> = { resultBytes: read.bytes, outputContentType: read.contentType };
  return read.inline ? { ...fields, ...encodeResult(read.body, read.contentType) } : fields;
}

/**
 * Checks one unfinished job in S3 and finishes it when SageMaker has (or its deadline passed);
 * answers also the record it made terminal (so getJob reads it no more).
 */
export async function checkJob(
  job: Job,
  deps: ReconcileDeps,
): Promise<{ verdict: Verdict; job?: Job }> {
  const now = deps.now?.() ?? new Date();
  const base: Outcome = {
    status: 'COMPLETED',
    endpointName: job.endpointName ?? 'unknown',
    completedAt: now.toISOString(),
    expiresAt: job.expiresAt ?? expiresAt(now, deps.config.jobTtlDays),
  };
  const end = async (outcome: Outcome, endedBy: EndedBy) => {
    const ended = await endJob(job.inferenceId, { outcome, endedBy }, deps);
    return ended.applied ? ended.job : undefined;
  };
  if (isWaiting(job)) {
    // Waiting in the project's own queue: nothing in S3 to find; it ends EXPIRED once its queue
    // deadline passed (conditional on it still waiting: a dispatch that won keeps it), never
    // invoked from here.
    const expired = await expireIfDue(job, deps);
    return expired ? { verdict: 'expired', job: expired } : { verdict: 'pending' };
  }
  const output = await tryRead(deps, job.outputLocation, 'outputLocation');
  if (output) {
    const done = await end(
      { ...base, outputLocation: job.outputLocation, ...bodyFields(output) },
      'reconcile',
    );
    return { verdict: 'completed', job: done };
  }
  const failure = await tryRead(deps, job.failureLocation, 'failureLocation');
  if (failure) {
    const done = await end(
      {
        ...base,
        status: 'FAILED',
        failureLocation: job.failureLocation,
        failureReason: 'SageMaker wrote a failure (found by reconcile; its notification was lost)',
        ...bodyFields(failure),
      },
      'reconcile',
    );
    return { verdict: 'failed', job: done };
  }
  // Not before expectedBy and its grace: a job queued while the endpoint scales from zero may
  // wait its whole RequestTTLSeconds, and no output until then is no sign of loss.
  if (pastDeadline(job, now)) {
    const done = await end(
      {
        ...base,
        status: 'FAILED',
        failureReason: job.outputLocation
          ? 'no output and no failure after RequestTTLSeconds and InvocationTimeoutSeconds: the request expired or its result was lost'
          : 'the job was never queued with SageMaker (the submit did not finish)',
      },
      'expiry',
    );
    return { verdict: 'expired', job: done };
  }
  return { verdict: 'pending' };
}

/**
 * A claim never queued, its submit gone (its lease is over) and no retry having taken it over:
 * the release that submit could not make, on the token read. What follows is what follows a
 * release that worked: the id is free again, and should SageMaker have accepted the job after
 * all (its answer lost too), its notification creates the record. No job ends here: the caller
 * was answered a retryable error, not a job.
 */
async function releaseAbandoned(job: Job, deps: ReconcileDeps): Promise<'released' | 'pending'> {
  if (!(await deps.store.release(job.inferenceId, job.claimToken as string))) return 'pending';
  logger.warn('abandoned claim released', { inferenceId: job.inferenceId });
  deps.metrics.record(job.endpointName ?? deps.config.endpointName, ['ClaimsReleased']);
  return 'released';
}

export interface ReconcileReport {
  /** Unfinished jobs due this run and looked for in S3. */
  checked: number;
  completed: number;
  failed: number;
  expired: number;
  pending: number;
  /** Claims never queued whose submit is gone and that no retry took over: released. */
  released: number;
  errors: number;
  /** Index entries read: the jobs whose check time fell in this run's windows. */
  read: number;
  /** The run stopped at its deadline; the windows not read wait for each job's next check time. */
  cutShort: boolean;
}

export interface ReconcileOptions {
  /** RECONCILE_AFTER_SECONDS: the first check time, and the unit of the backoff schedule. */
  olderThanSeconds: number;
  /** S3 checks in flight: 32 x ~15 ms per request is ~2,000 requests/s, 285 s of them per run. */
  concurrency?: number;
  /** How often the schedule runs reconcile (serverless.yml: rate(5 minutes)). */
  periodSeconds?: number;
  /** The Lambda's context.getRemainingTimeInMillis: no new work starts within 15 s of the end. */
  remainingMs?: () => number;
}

/** Each run reads a little more than one period per check time, so jittered runs leave no gap. */
const OVERLAP_MS = 60_000;
const SAFETY_MS = 15_000;

/**
 * The submittedAt windows whose jobs are due now: for each check time t of the schedule, the jobs
 * submitted between where the last run stopped (the cursor; without one, a period plus overlap
 * before) and now - t, never further back than the next check time (older jobs get that one
 * instead), and a tail of jobs older than the last check time (normally none: the last check
 * expires them). With `olderThanSeconds` 0 there is no schedule: every unfinished job is due.
 */
export function dueWindows(
  now: Date,
  olderThanSeconds: number,
  periodSeconds = 300,
  cursor: Record<string, string> = {},
): { step: string; from?: string; to: string }[] {
  const at = (ms: number) => new Date(now.getTime() - ms).toISOString();
  const offsets = checkOffsets(olderThanSeconds);
  if (olderThanSeconds <= 0) return [{ step: 'all', to: at(0) }];
  const span = periodSeconds * 1000 + OVERLAP_MS;
  const windows: { step: string; from?: string; to: string }[] = offsets.map((o, i) => {
    const to = at(o);
    const floor = at(Math.max(offsets[i + 1] ?? o + span, o + span));
    const done = cursor[String(o)];
    const from = done === undefined ? at(o + span) : done < floor ? floor : done > to ? to : done;
    return { step: String(o), from, to };
  });
  windows.push({ step: 'tail', to: at((offsets.at(-1) as number) + span) });
  return windows;
}

/**
 * Unfinished jobs whose check time has come, from the IN_PROGRESS shards of the jobs index: per
 * shard and window one Query reading only that window, then the records of the due jobs, then S3 for each, a few at a time. Stops starting work near its deadline.
 */
export async function reconcile(
  deps: ReconcileDeps,
  opts: ReconcileOptions,
): Promise<ReconcileReport> {
  const now = deps.now?.() ?? new Date();
  const report: ReconcileReport = {
    checked: 0,
    completed: 0,
    failed: 0,
    expired: 0,
    pending: 0,
    released: 0,
    errors: 0,
    read: 0,
    cutShort: false,
  };
  const late = () => (opts.remainingMs ? opts.remainingMs() < SAFETY_MS : false);
  const inFlight = new Set<Promise<void>>();
  const check = async (job: Job) => {
    report.checked++;
    const p = (
      isUnqueuedClaim(job) && leaseLeftMs(job, now) <= 0
        ? releaseAbandoned(job, deps)
        : checkJob(job, deps).then((checked) => checked.verdict)
    )
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
    if (inFlight.size >= (opts.concurrency ?? 32)) await Promise.race(inFlight);
  };
  const drain = async (ids: string[]) => {
    for (const job of await deps.store.getMany(ids)) {
      if (job.status === 'IN_PROGRESS') await check(job);
    }
  };
  const scheduled = opts.olderThanSeconds > 0;
  const cursor = scheduled ? await deps.store.reconcileCursor() : {};
  const done = { ...cursor };
  try {
    outer: for (const window of dueWindows(
      now,
      opts.olderThanSeconds,
      opts.periodSeconds,
      cursor,
    )) {
      for (const key of shardKeys('IN_PROGRESS')) {
        if (late()) {
          report.cutShort = true;
          break outer;
        }
        let batch: string[] = [];
        for await (const entry of deps.store.entries(key, window.from, window.to)) {
          report.read++;
          batch.push(entry.inferenceId);
          if (batch.length === 100) {
            await drain(batch);
            batch = [];
            // A crowded window stops at the deadline too; its cursor stays where it was.
            if (late()) {
              report.cutShort = true;
              break outer;
            }
          }
        }
        if (batch.length > 0) await drain(batch);
      }
      // Every shard of this window was read: the next run starts where this one ended.
      if (window.step !== 'tail') done[window.step] = window.to;
    }
  } catch (err) {
    // The index could not be read (further): what was checked stands, the rest waits for next time.
    report.errors++;
    logger.error('reconcile could not list unfinished jobs', {
      error: err instanceof Error ? err.name : 'unknown',
    });
  }
  await Promise.all(inFlight);
  // A window cut short keeps its old cursor, so the next run reads it again from there.
  if (scheduled) {
    await deps.store.saveReconcileCursor(done).catch((err: unknown) => {
      report.errors++;
      logger.error('reconcile could not save its cursor', {
        error: err instanceof Error ? err.name : 'unknown',
      });
    });
  }
  return report;
}
