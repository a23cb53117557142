import type { QueueSnapshot } from '../domain/admission.ts';
import type { BatchRecord } from '../domain/wire.ts';
import type { Job } from '../domain/jobs.ts';
import { Unavailable } from '../domain/errors.ts';
import type { DispatchWake } from './ports/admission.ts';
import type { ResultDeps } from './results.ts';

/*
 * STUB, to be replaced at merge: the signatures the queue-control handlers (src/handlers/
 * cancelJob, cancelBatch, getQueue, dispatch) and their wiring (src/lib/wiring/queue.ts) expect of
 * the use cases being written beside them (qapp: cancel.ts, dispatch.ts, queue-view.ts). Nothing
 * here decides anything: the HTTP ones answer 503 naming this file, the rounds do nothing.
 */

/** What the queue use cases run over, beyond an ending's ports (which end CANCELLED/EXPIRED). */
export interface QueueDeps extends ResultDeps {
  /** Wakes the dispatcher; undefined with admission off or no DISPATCH_QUEUE_URL. */
  wake?: DispatchWake;
}

/** cancelled: ended CANCELLED now; already: it was; requested: SageMaker has it (202). */
export type CancelOutcome = 'cancelled' | 'already' | 'requested';

class QueueControlPending extends Unavailable {
  constructor() {
    super('queue control is not merged yet (src/lib/app/queue-stubs.ts)');
  }
}

/** Expected: NotFound (unknown, or another owner's), Conflict (COMPLETED/FAILED/EXPIRED). */
export async function cancelJob(
  _inferenceId: string,
  _opts: { owner?: string },
  _deps: QueueDeps,
): Promise<{ job: Job; outcome: CancelOutcome }> {
  throw new QueueControlPending();
}

/** Expected: the batch as GET /batches/{id} answers it; NotFound as getBatch. */
export async function cancelBatch(
  _batchId: string,
  _opts: { owner?: string },
  _deps: unknown,
): Promise<BatchRecord> {
  throw new QueueControlPending();
}

export interface DispatchReport {
  endpointName: string;
  dispatched: number;
  expired: number;
  window: number;
}

/** One round for one endpoint: safe beside another (the slots' conditional claims). */
export async function dispatchRound(
  endpointName: string,
  _deps: QueueDeps,
): Promise<DispatchReport> {
  return { endpointName, dispatched: 0, expired: 0, window: 0 };
}

/** The latest snapshot of each endpoint that has one (GET /queue). */
export async function queueView(_deps: { endpointNames: string[] }): Promise<QueueSnapshot[]> {
  return [];
}

/** Expected as Config fields (ADMISSION, DISPATCH_QUEUE_URL): config.admission, .dispatchQueueUrl. */
export function queueConfig(_config: unknown): {
  admission: 'on' | 'off';
  dispatchQueueUrl?: string;
} {
  return { admission: 'off' };
}
