import type { Config } from '../config.ts';
import { eventBridge, jobStore, s3, sqs } from '../adapters/clients.ts';
import { batchCountDeps } from '../adapters/batch-clients.ts';
import { sqsDispatchWake } from '../adapters/dispatch-wake.ts';
import { queueConfig, type QueueDeps } from '../app/queue-stubs.ts';
import { endingPorts } from './endings.ts';

/*
 * The composition root of queue control (docs/queue.md): cancel, the dispatcher's rounds and the
 * queue view run over an ending's ports (they end jobs CANCELLED and EXPIRED as every ending
 * does) and the dispatcher's wake. The store's admission adapters join here at merge.
 */
export function queuePorts(config: Config): QueueDeps {
  const { admission, dispatchQueueUrl } = queueConfig(config);
  return {
    ...endingPorts({ config, store: jobStore(), s3, eventBridge, batches: batchCountDeps() }),
    wake:
      admission === 'on' && dispatchQueueUrl ? sqsDispatchWake(sqs, dispatchQueueUrl) : undefined,
  };
}
