import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { config } from '../lib/config.ts';
import { logger } from '../lib/adapters/logger.ts';
import { webhookSecretSource } from '../lib/adapters/webhook-keys.ts';
import { deliver, deliveryId } from '../lib/adapters/webhooks.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();
/** The master key: WEBHOOK_SECRET locally, the stack's Secrets Manager secret when deployed. */
const webhookSecret = webhookSecretSource();

type OutcomeEvent = EventBridgeEvent<
  'JobCompleted' | 'JobFailed' | 'BatchCompleted',
  { inferenceId?: string; batchId?: string; callbackUrl?: string }
>;

/**
 * JobCompleted/JobFailed/BatchCompleted with a callbackUrl: POST the outcome there, signed, once;
 * a failure that may pass is thrown for Lambda's asynchronous retries (maximumRetryAttempts).
 */
export const handler = middy(async (event: OutcomeEvent) => {
  const { inferenceId, batchId, callbackUrl } = event.detail;
  logger.appendKeys({ inferenceId, batchId });
  if (!callbackUrl) return;
  const outcome = await deliver(
    callbackUrl,
    {
      type: event['detail-type'],
      id: event.id,
      time: event.time,
      // BatchCompleted (docs/batches.md) carries the batch; the job events, the job.
      ...(event['detail-type'] === 'BatchCompleted'
        ? { batch: event.detail }
        : { job: event.detail }),
    },
    {
      secret: await webhookSecret(),
      deliveryId: deliveryId(event['detail-type'], inferenceId ?? batchId ?? event.id),
      allowLoopback: cfg.allowLoopbackWebhooks,
    },
  );
  logger.info(outcome === 'delivered' ? 'webhook delivered' : 'webhook refused by the receiver');
}).use(injectLambdaContext(logger, { resetKeys: true }));
