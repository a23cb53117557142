import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config.ts';
import type { ClientSource } from '../adapters/client-source.ts';
import { eventsOnDemand, objectStoreOnDemand } from '../adapters/lazy.ts';
import type { BatchDeps } from '../app/batches.ts';
import type { WorkerDeps } from '../app/batch-worker.ts';
import type { BatchQueue } from '../app/ports/batch-queue.ts';
import type { BatchRepository } from '../app/ports/batch-repository.ts';
import { submitPorts, type SubmitClients } from './submit.ts';

/*
 * The composition root of batches (POST and GET /batches, the batch worker). S3 and EventBridge
 * load on first use; the worker's handler imports storage.ts itself, as every step reads or
 * writes S3.
 */

export interface BatchClients {
  config: Config;
  batches: BatchRepository;
  queue: BatchQueue;
  s3: ClientSource<S3Client>;
  /** Announces finished batches when `config.eventBusName` is set. */
  eventBridge?: ClientSource<EventBridgeClient>;
  now?: () => Date;
}

export function batchPorts({ s3, eventBridge, ...rest }: BatchClients): BatchDeps {
  const bus = rest.config.eventBusName;
  return {
    ...rest,
    objects: objectStoreOnDemand(s3),
    events: eventBridge && bus ? eventsOnDemand(eventBridge, bus) : undefined,
  };
}

export function workerPorts(
  clients: BatchClients & { submit: Omit<SubmitClients, 'config'> },
): WorkerDeps {
  const { config } = clients;
  const { config: _config, ...submit } = submitPorts({ config, ...clients.submit });
  return { ...batchPorts(clients), submit };
}
