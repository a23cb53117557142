import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { BatchView } from '../domain/batches.ts';
import { publicView, type Job } from '../domain/jobs.ts';
import { attemptFields, type AutoRetryPolicy } from '../domain/retry.ts';
import type { JobStore } from '../adapters/job-store.ts';
import type { ClientSource } from './client-source.ts';
import { logger } from './logger.ts';

/*
 * Downstream fan-out: each terminal job is announced on the stack's EventBridge bus as JobCompleted
 * or JobFailed (the record minus the result body), so other systems react without polling.
 * At least once: the event is sent after the transition, made of the record the transition
 * answered (ALL_NEW), and a small marker item is written only after EventBridge accepted it; a
 * failure throws, the record is retried, and the retry (a duplicate for the state machine, whose
 * answer is the record as found, ALL_OLD) sends the event again unless the marker is there.
 */

export const EVENT_SOURCE = 'async-jobs';

export interface EventDeps {
  store: JobStore;
  eventBridge: ClientSource<EventBridgeClient>;
  busName?: string;
  now?: () => Date;
  /** Whether an automatic retry follows a failure: the event's `finalAttempt`. */
  autoRetry?: AutoRetryPolicy;
}

/** The record minus its result, with `attempt` and `finalAttempt` (no automatic retry follows). */
export function eventDetail(job: Job, autoRetry?: AutoRetryPolicy): Record<string, unknown> {
  const { result: _result, ...rest } = publicView(job);
  // What the Step Functions rule matches on: the token itself never leaves the record.
  return {
    ...rest,
    ...attemptFields(job, autoRetry),
    ...(job.taskToken ? { hasTaskToken: true } : {}),
  };
}

/**
 * Sends the outcome event of a terminal job. `fresh`: the record was just made terminal by this
 * caller, so no earlier delivery can have announced it and the marker is not read. A no-op
 * without a bus.
 */
export async function announce(
  job: Job | undefined,
  deps: EventDeps,
  fresh = false,
): Promise<void> {
  if (!deps.busName || !job || job.status === 'IN_PROGRESS') return;
  if (!fresh && (await deps.store.announced(job.inferenceId))) return;
  const client = await deps.eventBridge();
  const res = await client.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: deps.busName,
          Source: EVENT_SOURCE,
          DetailType: job.status === 'COMPLETED' ? 'JobCompleted' : 'JobFailed',
          Detail: JSON.stringify(eventDetail(job, deps.autoRetry)),
          Resources: [],
        },
      ],
    }),
  );
  if (res.FailedEntryCount) {
    throw new Error(`EventBridge refused the event: ${res.Entries?.[0]?.ErrorCode ?? 'unknown'}`);
  }
  await deps.store.markAnnounced(
    job.inferenceId,
    (deps.now?.() ?? new Date()).toISOString(),
    job.expiresAt,
  );
  logger.info('outcome announced', { inferenceId: job.inferenceId, status: job.status });
}

/**
 * Sends BatchCompleted with the batch's view. Here rather than in the batch code, so that the
 * EventBridge SDK stays in this module's chunk: getBatch and createBatch never send it.
 */
export async function announceBatch(
  client: EventBridgeClient,
  busName: string,
  view: BatchView,
): Promise<void> {
  const res = await client.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: busName,
          Source: EVENT_SOURCE,
          DetailType: 'BatchCompleted',
          Detail: JSON.stringify(view),
          Resources: [],
        },
      ],
    }),
  );
  if (res.FailedEntryCount) throw new Error('EventBridge refused BatchCompleted');
}
