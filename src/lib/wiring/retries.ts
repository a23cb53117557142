import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config.ts';
import type { ClientSource } from '../adapters/client-source.ts';
import { sqsRetryQueue } from '../adapters/retry-queue.ts';
import type { ScheduleDeps } from '../app/auto-retry.ts';

/* The composition root of scheduling an automatic retry: the retry queue, when one is set. */

export function schedulePorts(config: Config, sqs: ClientSource<SQSClient>): ScheduleDeps {
  const url = config.retryQueueUrl;
  return { config, retries: url ? sqsRetryQueue(sqs, url) : undefined };
}
