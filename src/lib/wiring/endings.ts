import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config.ts';
import type { ClientSource } from '../adapters/client-source.ts';
import { deadLettersOnDemand, eventsOnDemand, objectStoreOnDemand } from '../adapters/lazy.ts';
import { emfMetrics } from '../adapters/metrics.ts';
import { JobStore } from '../adapters/job-store.ts';
import type { ActivityLog } from '../app/ports/activity.ts';
import type { CountDeps } from '../app/batch-counts.ts';
import type { JobRepository } from '../app/ports/job-repository.ts';
import type { ResultDeps } from '../app/results.ts';
import type { EndingDeps } from '../app/ending.ts';
import { admissionPorts } from './admission.ts';

/*
 * The composition root of the paths that end jobs (onSuccess/onError, reconcile, getJob's check,
 * the sandbox's restore): which adapter fills which port of src/lib/app/ending.ts and its callers.
 * Every adapter here loads its SDK on first use (src/lib/adapters/lazy.ts): a notification with
 * its body inline never loads S3, an ending without a bus never loads EventBridge, and SQS loads
 * with the first refused record. The activity buckets live in the jobs table, so every ending
 * path over the DynamoDB store counts its endings in it without naming them (GET /activity).
 */

export interface EndingClients {
  config: Config;
  store: JobRepository;
  s3: ClientSource<S3Client>;
  /** Announces endings when `config.eventBusName` is set. */
  eventBridge?: ClientSource<EventBridgeClient>;
  /** Dead-letters refused notifications when `config.deadLetterQueueUrl` is set. */
  sqs?: ClientSource<SQSClient>;
  batches?: CountDeps;
  /** Defaults to the store's own table when the store is the DynamoDB adapter. */
  activity?: ActivityLog;
  now?: () => Date;
  /** Queue control's slot release and wake; by default this process's, with admission on. */
  admission?: EndingDeps['admission'];
}

/** ResultDeps, and with them ReconcileDeps (the same ports, less the dead letters). */
export function endingPorts({
  s3,
  eventBridge,
  sqs,
  admission,
  ...rest
}: EndingClients): ResultDeps {
  const { eventBusName, deadLetterQueueUrl } = rest.config;
  return {
    ...rest,
    activity: rest.activity ?? (rest.store instanceof JobStore ? rest.store.activity() : undefined),
    // Every ending under admission releases its slot and wakes the dispatcher (ending.ts).
    admission: admission ?? admissionPorts(rest.config),
    objects: objectStoreOnDemand(s3),
    events: eventBridge && eventBusName ? eventsOnDemand(eventBridge, eventBusName) : undefined,
    deadLetters:
      sqs && deadLetterQueueUrl ? deadLettersOnDemand(sqs, deadLetterQueueUrl) : undefined,
    metrics: emfMetrics,
  };
}
