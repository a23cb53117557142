import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { config } from '../lib/config.ts';
import { awsErrorName } from '../lib/domain/errors.ts';
import { logger } from '../lib/adapters/logger.ts';
import { settleSqsBatch } from '../lib/adapters/sqs-batch.ts';
import { jobsFromMessage } from '../lib/app/trigger.ts';
import { lambdaSubmitPorts } from '../lib/wiring/submit.ts';
// Every trigger reads the object's head from S3: its adapter and SDK load in INIT.
import '../lib/adapters/storage.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/**
 * The trigger queue (S3 "Object Created" events, through EventBridge): each object under the
 * trigger prefix becomes a job. Refused objects are acknowledged; a message that failed for a
 * reason a retry can fix is reported in batchItemFailures, so SQS redelivers only it.
 */
export const handler = middy(async (event: SQSEvent, ctx: unknown): Promise<SQSBatchResponse> => {
  const rules = {
    inputBucket: cfg.inputBucket,
    prefix: cfg.triggerPrefix,
    inputPrefix: cfg.inputPrefix,
    maxBytes: cfg.triggerMaxBytes,
    contentTypes: cfg.triggerContentTypes,
  };
  return settleSqsBatch(
    event,
    async (queued) => {
      let body: unknown;
      try {
        body = JSON.parse(queued.body);
      } catch {
        body = undefined;
      }
      try {
        await jobsFromMessage(body, {
          ...lambdaSubmitPorts(cfg, ctx),
          rules,
        });
      } catch (err) {
        logger.warn('trigger message failed; SQS will redeliver it', {
          messageId: queued.id,
          error: awsErrorName(err) ?? (err instanceof Error ? err.name : 'Error'),
        });
        throw err;
      }
    },
    // One message after another: the event source's maximumConcurrency is then the pace
    // SageMaker sees from a bulk drop (serverless.yml triggerConcurrency).
    'in-order',
  );
}).use(injectLambdaContext(logger, { resetKeys: true }));
