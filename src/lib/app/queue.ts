import {
  LANES,
  POSITION_CAP,
  type QueuePosition,
  type QueueSnapshot,
} from '../domain/admission.ts';
import { pastQueueDeadline } from '../domain/admission-rules.ts';
import { NotFound } from '../domain/errors.ts';
import { expiresAt, isWaiting, waitingLaneOf, type Job, type Outcome } from '../domain/jobs.ts';
import { endJob, type EndingDeps } from './ending.ts';
import type { AdmissionQueue } from './ports/admission.ts';

/*
 * A waiting job's place in the project's own queue, its expiry, and GET /queue (docs/queue.md).
 */

/** The EXPIRED ending of a job that was never handed to SageMaker in time. */
export function expiredOutcome(job: Job, now: Date, jobTtlDays: number): Outcome {
  return {
    status: 'EXPIRED',
    from: 'waiting',
    endpointName: job.endpointName ?? 'unknown',
    completedAt: now.toISOString(),
    expiresAt: job.expiresAt ?? expiresAt(now, jobTtlDays),
    failureReason: `not handed to SageMaker within maxQueueSeconds (${job.maxQueueSeconds ?? '?'} s)`,
  };
}

/**
 * A waiting job past its queue deadline ends EXPIRED (endJob: conditional on it still waiting,
 * so a dispatch that won the race keeps it). Answers the record after it, or undefined when the
 * job is not due (or another ending won: the caller reads it again).
 */
export async function expireIfDue(
  job: Job,
  deps: EndingDeps & { config: EndingDeps['config'] & { jobTtlDays: number } },
): Promise<Job | undefined> {
  const now = deps.now?.() ?? new Date();
  if (!isWaiting(job) || !pastQueueDeadline(job.queueDeadline, now)) return undefined;
  const ended = await endJob(
    job.inferenceId,
    { outcome: expiredOutcome(job, now, deps.config.jobTtlDays), endedBy: 'expiry' },
    deps,
  );
  return ended.applied ? ended.job : undefined;
}

/**
 * Where a waiting job stands: position = 1 + the jobs of its lane enqueued before it; ahead =
 * position - 1 + the depth of the lanes ahead of it. Its own lane by priority (aging moves it up
 * for the dispatcher, not in this answer: the lane it was given is what a caller asked for).
 * Each COUNT reads at most POSITION_CAP index entries, so the cost is bounded whatever the
 * queue: `exact` is false when a cap was reached (the figures are then lower bounds).
 */
export async function queuePosition(
  job: Job,
  queue: AdmissionQueue,
): Promise<QueuePosition | undefined> {
  if (!isWaiting(job) || !job.endpointName || !job.waitSort) return undefined;
  const lane = waitingLaneOf(job);
  const mine = await queue.count(job.endpointName, lane, POSITION_CAP, job.waitSort);
  let ahead = mine.count;
  let exact = mine.exact;
  for (const before of LANES.slice(0, LANES.indexOf(lane))) {
    if (ahead >= POSITION_CAP) {
      exact = false;
      break;
    }
    const depth = await queue.count(job.endpointName, before, POSITION_CAP - ahead);
    ahead += depth.count;
    exact &&= depth.exact;
  }
  return { lane, position: mine.count + 1, ahead, exact };
}

/**
 * GET /jobs/{id} under queue control: an expired waiting job is ended first (EXPIRED, its
 * after-effects); a job still waiting is answered with its `queue` place.
 */
export async function queueAnswer(
  job: Job,
  deps: EndingDeps & {
    config: EndingDeps['config'] & { jobTtlDays: number };
    queue: AdmissionQueue;
  },
): Promise<Job & { queue?: QueuePosition }> {
  const expired = await expireIfDue(job, deps);
  if (expired) return expired;
  const current =
    isWaiting(job) && pastQueueDeadline(job.queueDeadline, deps.now?.() ?? new Date())
      ? ((await deps.store.get(job.inferenceId)) ?? job)
      : job;
  const queue = await queuePosition(current, deps.queue);
  return queue ? { ...current, queue } : current;
}

/** GET /queue: what the dispatcher saw on its last round, per endpoint asked for. */
export async function queueView(
  endpointNames: readonly string[],
  queue: AdmissionQueue,
): Promise<{ endpoints: QueueSnapshot[] }> {
  const found = await Promise.all(endpointNames.map((name) => queue.snapshot(name)));
  return { endpoints: found.filter((s): s is QueueSnapshot => s !== undefined) };
}

/** GET /queue?endpoint=: one endpoint's snapshot; 404 before its first round. */
export async function endpointQueue(
  endpointName: string,
  queue: AdmissionQueue,
): Promise<QueueSnapshot> {
  const snapshot = await queue.snapshot(endpointName);
  if (!snapshot) throw new NotFound(`no dispatch round has run for ${endpointName} yet`);
  return snapshot;
}
