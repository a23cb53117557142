import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { eventBridge, jobStore, s3, sqs } from '../adapters/clients.ts';
import { batchCountDeps } from '../adapters/batch-clients.ts';
import { logger } from '../adapters/logger.ts';
import { config } from '../config.ts';
import { endingPorts } from './endings.ts';
import { processEvent } from './results.ts';

/**
 * onSuccess and onError: one function, told apart by the topic its records must come from
 * (SuccessTopic or ErrorTopic, over SNS or through their SQS queues).
 */
export function resultHandler(topic: 'success' | 'error') {
  // Read at cold start: a missing variable fails INIT with one message naming it.
  const cfg = config();
  const allowedTopicArn = topic === 'success' ? cfg.successTopicArn : cfg.errorTopicArn;
  return middy(async (event: unknown) =>
    processEvent(
      event,
      allowedTopicArn,
      endingPorts({
        config: cfg,
        store: jobStore(),
        s3,
        eventBridge,
        sqs,
        batches: batchCountDeps(),
      }),
    ),
  ).use(injectLambdaContext(logger, { resetKeys: true }));
}
