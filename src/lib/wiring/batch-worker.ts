import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { settleSqsBatch } from '../adapters/sqs-batch.ts';
import { processBatchMessage, type WorkerDeps } from '../app/batch-worker.ts';
import { batchPorts, type BatchClients } from './batches.ts';
import { admissionSideOf, submitPorts, type SubmitClients } from './submit.ts';
import { endingPorts } from './endings.ts';

/**
 * One delivery of the batch queue: its messages at once (expansion steps and lines are
 * independent; the event source's maximumConcurrency paces the submits), each answered on its
 * own.
 */
export function processBatchEvent(event: SQSEvent, deps: WorkerDeps): Promise<SQSBatchResponse> {
  return settleSqsBatch(event, (message) => processBatchMessage(message, deps), 'parallel');
}

/**
 * The worker's ports: a batch's, a submit's for its lines, and a cancel's for a cancelled
 * batch's jobs (their endings count their lines, release their slots and are announced, as
 * every ending is).
 */
export function workerPorts(
  clients: BatchClients & { submit: Omit<SubmitClients, 'config'> },
): WorkerDeps {
  const { config } = clients;
  const { config: _config, ...submit } = submitPorts({ config, ...clients.submit });
  const store = clients.submit.store;
  const counts = { batches: clients.batches, queue: clients.queue, now: clients.now };
  const jobs = admissionSideOf(store);
  if (!jobs) throw new Error('the batch worker needs a job store with its AdmissionJobs side');
  const cancel = {
    ...endingPorts({
      config,
      store,
      s3: clients.s3,
      eventBridge: clients.eventBridge,
      batches: counts,
      now: clients.now,
    }),
    batches: counts,
    jobs,
  };
  return { ...batchPorts(clients), submit, cancel };
}
