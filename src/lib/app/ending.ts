import type { Config } from '../config.ts';
import type { Job, Outcome } from '../domain/jobs.ts';
import { logger } from '../adapters/logger.ts';
import { announce } from './announce.ts';
import { recordOutcome, type CountDeps } from './batch-counts.ts';
import type { Clock } from './ports/clock.ts';
import type { EventPublisher } from './ports/event-publisher.ts';
import type { JobRepository } from './ports/job-repository.ts';
import type { CountMetric, Metrics, TimeMetric } from './ports/metrics.ts';

/*
 * The one way a job ends, whatever ended it: a notification, reconcile or getJob finding the
 * output or failure in S3, an expiry, the sandbox's restart (later cancel). One conditional
 * transition, then the after-effects: the outcome event (JobCompleted/JobFailed, which drives the
 * webhook, the Step Functions task callback and the automatic retry through their EventBridge
 * rules) and the job's line in its batch (the last line finishes the batch, once). A path that
 * ends jobs is a caller of endJob, never a copy of it, so no ending can skip an after-effect.
 */

/** What ended the job: the message of its log line, and the counts its metric line carries. */
export type EndedBy = 'notification' | 'reconcile' | 'expiry' | 'restart';

export interface EndingDeps {
  config: Pick<Config, 'autoRetry'>;
  store: JobRepository;
  /** With a bus configured (EVENT_BUS_NAME), each ending is announced on it. */
  events?: EventPublisher;
  /** With a batch queue configured, a job of a batch counts its line. */
  batches?: CountDeps;
  metrics: Metrics;
  now?: Clock;
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
  }
}

const EXTRA_COUNTS: Record<EndedBy, CountMetric[]> = {
  notification: [],
  reconcile: ['JobsReconciled'],
  expiry: [],
  restart: [],
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
  if (failures.length > 0) throw failures[0];
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
  const { outcome, endedBy } = ending;
  // One write answering the record: ALL_NEW to announce, ALL_OLD as found (no GetItem).
  const transition = await deps.store.transition(inferenceId, outcome);
  const needsRecord = Boolean(deps.events || deps.batches);
  const job = transition.job ?? (needsRecord ? await deps.store.get(inferenceId) : undefined);
  if (transition.applied) {
    deps.metrics.record(
      outcome.endpointName,
      [outcome.status === 'COMPLETED' ? 'JobsCompleted' : 'JobsFailed', ...EXTRA_COUNTS[endedBy]],
      ending.durations,
    );
    const { level, message } = logLine(ending);
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
