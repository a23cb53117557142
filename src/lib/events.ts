import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { publicView, type Job, type JobStore } from './jobs.ts';
import type { ClientSource } from './lazy.ts';
import { logger } from './logger.ts';

/*
 * Downstream fan-out: each terminal job is announced on the stack's EventBridge bus as JobCompleted
 * or JobFailed (the record minus the result body), so other systems react without polling.
 * At least once: the event is sent after the transition, and `announcedAt` is set only after
 * EventBridge accepted it; a failure throws, the record is retried, and the retry (a duplicate for
 * the state machine) sends the event again.
 */

export const EVENT_SOURCE = 'async-jobs';

export interface EventDeps {
  store: JobStore;
  eventBridge: ClientSource<EventBridgeClient>;
  busName?: string;
  now?: () => Date;
}

export function eventDetail(job: Job): Record<string, unknown> {
  const { result: _result, ...rest } = publicView(job);
  return rest;
}

/** Sends the job's outcome event unless it was sent already. A no-op without a bus. */
export async function announce(inferenceId: string, deps: EventDeps): Promise<void> {
  if (!deps.busName) return;
  const job = await deps.store.get(inferenceId);
  if (!job || job.status === 'IN_PROGRESS' || job.announcedAt) return;
  const client = await deps.eventBridge();
  const res = await client.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: deps.busName,
          Source: EVENT_SOURCE,
          DetailType: job.status === 'COMPLETED' ? 'JobCompleted' : 'JobFailed',
          Detail: JSON.stringify(eventDetail(job)),
          Resources: [],
        },
      ],
    }),
  );
  if (res.FailedEntryCount) {
    throw new Error(`EventBridge refused the event: ${res.Entries?.[0]?.ErrorCode ?? 'unknown'}`);
  }
  await deps.store.markAnnounced(inferenceId, (deps.now?.() ?? new Date()).toISOString());
  logger.info('outcome announced', { inferenceId, status: job.status });
}
