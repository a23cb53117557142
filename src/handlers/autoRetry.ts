import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { sqs } from '../lib/adapters/clients.ts';
import { config } from '../lib/config.ts';
import type { Job } from '../lib/domain/jobs.ts';
import { parseRetryMessage } from '../lib/domain/retry.ts';
import { logger } from '../lib/adapters/logger.ts';
import { settleSqsBatch } from '../lib/adapters/sqs-batch.ts';
import { runScheduledRetry, scheduleRetry } from '../lib/app/auto-retry.ts';
import { schedulePorts } from '../lib/wiring/retries.ts';
import { lambdaSubmitPorts } from '../lib/wiring/submit.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

type FailedEvent = EventBridgeEvent<'JobFailed', Job>;

/**
 * Automatic retries, two triggers: JobFailed (the bus) schedules the retry in the retry queue with
 * its backoff as the message's delay; the queue's message, once due, makes the attempt.
 */
export const handler = middy(
  async (
    event: FailedEvent | SQSEvent,
    context: unknown,
  ): Promise<SQSBatchResponse | undefined> => {
    if (!('Records' in event)) {
      logger.appendKeys({ inferenceId: event.detail.inferenceId });
      await scheduleRetry(event.detail, schedulePorts(cfg, sqs));
      return undefined;
    }
    return settleSqsBatch(
      event,
      async (queued) => {
        const message = parseRetryMessage(queued.body);
        if (!message) {
          logger.error('retry message refused: not {inferenceId, attempt}', {
            messageId: queued.id,
          });
          return;
        }
        try {
          await runScheduledRetry(message, lambdaSubmitPorts(cfg, context));
        } catch (err) {
          // Back to the queue: received again after its visibility timeout, then the DLQ.
          logger.warn('retry failed; left in the queue', {
            inferenceId: message.inferenceId,
            error: err instanceof Error ? err.name : 'unknown',
          });
          throw err;
        }
      },
      // One attempt after another: each invokes the endpoint, within this invocation's time.
      'in-order',
    );
  },
).use(injectLambdaContext(logger, { resetKeys: true }));
