import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config.ts';
import type { ClientSource } from '../adapters/client-source.ts';
import { eventsOnDemand, objectStoreOnDemand } from '../adapters/lazy.ts';
import type { BatchDeps } from '../app/batches.ts';
import type { BatchQueue } from '../app/ports/batch-queue.ts';
import type { BatchRepository } from '../app/ports/batch-repository.ts';

/*
 * The composition root of batches (POST and GET /batches; the worker's is batch-worker.ts, which
 * adds a submit's ports, so that createBatch never loads the SageMaker SDK). S3 and EventBridge
 * load on first use; the handlers whose every call reads or writes S3 import storage.ts themselves.
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
