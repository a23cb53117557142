import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { settleSqsBatch } from '../adapters/sqs-batch.ts';
import { processBatchMessage, type WorkerDeps } from '../app/batch-worker.ts';
import { batchPorts, type BatchClients } from './batches.ts';
import { submitPorts, type SubmitClients } from './submit.ts';

/**
 * One delivery of the batch queue: its messages at once (expansion steps and lines are
 * independent; the event source's maximumConcurrency paces the submits), each answered on its
 * own.
 */
export function processBatchEvent(event: SQSEvent, deps: WorkerDeps): Promise<SQSBatchResponse> {
  return settleSqsBatch(event, (message) => processBatchMessage(message, deps), 'parallel');
}

/** The worker's ports: a batch's, and a submit's for its lines. */
export function workerPorts(
  clients: BatchClients & { submit: Omit<SubmitClients, 'config'> },
): WorkerDeps {
  const { config } = clients;
  const { config: _config, ...submit } = submitPorts({ config, ...clients.submit });
  return { ...batchPorts(clients), submit };
}
