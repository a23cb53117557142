import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { eventBridge, jobStore, s3, sqs } from '../lib/adapters/clients.ts';
import { config } from '../lib/config.ts';
import { logger } from '../lib/adapters/logger.ts';
import { processEvent } from '../lib/app/results.ts';
import { batchCountDeps } from '../lib/adapters/batch-clients.ts';

/** SuccessTopic (SNS, or SQS carrying SNS messages): store each completed job's result. */
// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

export const handler = middy(async (event: unknown) =>
  processEvent(event, cfg.successTopicArn, {
    config: cfg,
    store: jobStore(),
    s3,
    eventBridge,
    sqs,
    batches: batchCountDeps(),
  }),
).use(injectLambdaContext(logger, { resetKeys: true }));
