import type { Config } from '../config.ts';
import type { Job, Outcome } from '../domain/jobs.ts';
import { logger } from '../adapters/logger.ts';
import { announce } from './announce.ts';
import { recordOutcome, type CountDeps } from './batch-counts.ts';
import type { Clock } from './ports/clock.ts';
import type { EventPublisher } from './ports/event-publisher.ts';
import type { JobRepository } from './ports/job-repository.ts';
import type { CountMetric, Metrics, TimeMetric } from './ports/metrics.ts';
import type { AdmissionQueue, DispatchWake } from './ports/admission.ts';
import { awsErrorName } from '../domain/errors.ts';
import { endingOf } from '../domain/activity.ts';
import type { ActivityLog } from './ports/activity.ts';

/*
 * The one way a job ends, whatever ended it: a notification, reconcile or getJob finding the
 * output or failure in S3, an expiry, the sandbox's restart, a cancel. One conditional
 * transition, then the after-effects: the outcome event (JobCompleted/JobFailed, which drives the
 * webhook, the Step Functions task callback and the automatic retry through their EventBridge
 * rules), the job's line in its batch (the last line finishes the batch, once) and, under queue
 * control, the release of its slot in the window and a wake of the dispatcher. A path that
 * ends jobs is a caller of endJob, never a copy of it, so no ending can skip an after-effect.
 */

/** What ended the job: the message of its log line, and the counts its metric line carries. */
export type EndedBy = 'notification' | 'reconcile' | 'expiry' | 'restart' | 'cancel' | 'dispatch';

export interface EndingDeps {
  config: Pick<Config, 'autoRetry'>;
  store: JobRepository;
  /** With a bus configured (EVENT_BUS_NAME), each ending is announced on it. */
  events?: EventPublisher;
  /** With a batch queue configured, a job of a batch counts its line. */
  batches?: CountDeps;
  metrics: Metrics;
  now?: Clock;
  /**
   * Queue control (docs/queue.md): an ended job's slot is released and the dispatcher woken to
   * fill it. Absent with admission off: no job holds a slot.
   */
  admission?: { queue: AdmissionQueue; wake?: DispatchWake };
  /** The per-minute activity buckets (GET /activity); absent, nothing is counted. */
  activity?: ActivityLog;
}

export interface Ending {
  outcome: Outcome;
  endedBy: EndedBy;
  /** The notification's ModelTime and TimeToResult, on the ending's metric line. */
  durations?: Partial<Record<TimeMetric, number | undefined>>;
  /** More fields for the ending's log line (operators only, never the payload). */
  logFields?: Record<string, unknown>;
}

/** Whether this call made the job terminal, and the record after it (or as found, when not). */
export interface Ended {
  applied: boolean;
  job?: Job;
}

function logLine(ending: Ending): { level: 'info' | 'warn'; message: string } {
  const { endedBy, outcome } = ending;
  // A cancel-requested job's notification ends it CANCELLED, whatever carried it.
  if (outcome.status === 'CANCELLED') return { level: 'info', message: 'job cancelled' };
  switch (endedBy) {
    case 'notification':
      return {
        level: 'info',
        message:
          outcome.result !== undefined ? 'result stored inline' : 'result stored by location',
      };
    case 'reconcile':
      return {
        level: 'info',
        message:
          outcome.status === 'COMPLETED' ? 'job completed by reconcile' : 'job failed by reconcile',
      };
    // deploy/alarms.yml counts this exact message (JobsExpired).
    case 'expiry':
      return { level: 'warn', message: 'job expired' };
    case 'restart':
      return { level: 'warn', message: 'job failed by the sandbox restart' };
    case 'cancel':
      return { level: 'info', message: 'job cancelled' };
    case 'dispatch':
      return { level: 'warn', message: 'job refused by SageMaker at dispatch' };
  }
}

const STATUS_COUNT: Record<Outcome['status'], CountMetric> = {
  COMPLETED: 'JobsCompleted',
  FAILED: 'JobsFailed',
  CANCELLED: 'JobsCancelled',
  EXPIRED: 'JobsExpired',
};

/**
 * The CANCELLED ending of a cancel-requested job whose notification (or reconcile) found it
 * finished: the model's result is not kept, only where SageMaker wrote it stays on the record.
 */
export function cancelledOf(outcome: Outcome): Outcome {
  return {
    status: 'CANCELLED',
    from: 'cancelRequested',
    endpointName: outcome.endpointName,
    inputLocation: outcome.inputLocation,
    inputContentType: outcome.inputContentType,
    receivedAt: outcome.receivedAt,
    completedAt: outcome.completedAt,
    expiresAt: outcome.expiresAt,
    failureReason: 'cancelled (POST /jobs/{inferenceId}/cancel) while SageMaker ran it',
  };
}

const EXTRA_COUNTS: Record<EndedBy, CountMetric[]> = {
  notification: [],
  reconcile: ['JobsReconciled'],
  expiry: [],
  restart: [],
  cancel: [],
  dispatch: [],
};

/**
 * The after-effects of a terminal record, each idempotent: the event (skipped when its marker
 * says it was sent, unless `fresh`: this very call made the record terminal) and the batch line
 * (a set add). Both are tried even when the other fails, then the first error is thrown, so a
 * bus outage does not also hold back the batch count. A notification that throws here is
 * delivered again and, a duplicate by then, repeats them; reconcile and getJob have no such
 * redelivery: the run fails (its error alarm) or the request answers 500, and the record, no
 * longer IN_PROGRESS, is not looked at again.
 */
export async function afterEffects(
  job: Job | undefined,
  deps: EndingDeps,
  fresh = false,
): Promise<void> {
  const failures: unknown[] = [];
  if (deps.events) {
    await announce(
      job,
      { store: deps.store, events: deps.events, autoRetry: deps.config.autoRetry, now: deps.now },
      fresh,
    ).catch((err: unknown) => failures.push(err));
  }
  if (deps.batches) {
    await recordOutcome(job, deps.batches).catch((err: unknown) => failures.push(err));
  }
  if (deps.admission) {
    await releaseSlot(job, deps.admission).catch((err: unknown) => failures.push(err));
  }
  // Only the call that made the record terminal counts it, so a duplicate never counts twice;
  // a count lost to an error is not worth a redelivery, which could not count it either.
  const counted =
    fresh && job && deps.activity ? endingOf(job, deps.now?.() ?? new Date()) : undefined;
  if (counted) {
    await deps.activity!.count(counted).catch((err: unknown) => {
      logger.warn('activity count lost', {
        inferenceId: job!.inferenceId,
        error: awsErrorName(err),
      });
    });
  }
  if (failures.length > 0) throw failures[0];
}

/**
 * A terminal job's slot back to the window, once (conditional on this job holding it), then a
 * wake so the freed slot is filled now rather than at the next tick. A lost wake is not an
 * error of the ending: the tick fills the slot.
 */
async function releaseSlot(
  job: Job | undefined,
  admission: NonNullable<EndingDeps['admission']>,
): Promise<void> {
  if (!job || job.status === 'IN_PROGRESS' || job.slot === undefined || !job.endpointName) return;
  if (!(await admission.queue.releaseSlot(job.endpointName, job.slot, job.inferenceId))) return;
  await admission.wake?.wake(job.endpointName).catch((err: unknown) => {
    logger.warn('dispatcher wake lost', { inferenceId: job.inferenceId, error: awsErrorName(err) });
  });
}

/**
 * IN_PROGRESS -> terminal (or the terminal record created, when the ending outran the submit),
 * then its after-effects. When another ending won, the record as found gets the after-effects
 * again: that ending may have stopped between its transition and them (a crash, a timeout).
 */
export async function endJob(
  inferenceId: string,
  ending: Ending,
  deps: EndingDeps,
): Promise<Ended> {
  const { endedBy } = ending;
  let { outcome } = ending;
  // One write answering the record: ALL_NEW to announce, ALL_OLD as found (no GetItem).
  let transition = await deps.store.transition(inferenceId, outcome);
  // Refused for a cancel request (the transition's condition; the record as found comes with
  // the refusal, ALL_OLD): the ending becomes CANCELLED, its result dropped.
  // Where the store does not return the record with a refusal (dynalite drops
  // ReturnValuesOnConditionCheckFailure), it is read, so a cancel request is never missed.
  const found =
    transition.job ??
    (!transition.applied && outcome.from === undefined
      ? await deps.store.get(inferenceId)
      : undefined);
  if (
    !transition.applied &&
    outcome.from === undefined &&
    found?.status === 'IN_PROGRESS' &&
    found.cancelRequested
  ) {
    outcome = cancelledOf(outcome);
    transition = await deps.store.transition(inferenceId, outcome);
  }
  const needsRecord = Boolean(deps.events || deps.batches || deps.admission);
  const job = transition.job ?? (needsRecord ? await deps.store.get(inferenceId) : undefined);
  if (transition.applied) {
    deps.metrics.record(
      outcome.endpointName,
      [STATUS_COUNT[outcome.status], ...EXTRA_COUNTS[endedBy]],
      ending.durations,
    );
    const { level, message } = logLine({ ...ending, outcome });
    logger[level](message, {
      inferenceId,
      status: outcome.status,
      resultBytes: outcome.resultBytes,
      ...ending.logFields,
    });
  }
  await afterEffects(job, deps, transition.applied);
  return { applied: transition.applied, job };
}
