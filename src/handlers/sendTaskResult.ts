import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { jobStore } from '../lib/adapters/clients.ts';
import { logger } from '../lib/adapters/logger.ts';
import { stepFunctions, taskCallbacks } from '../lib/adapters/step-functions.ts';
import { sendTaskResult } from '../lib/app/task-callback.ts';
import { config } from '../lib/config.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
config();
const callbacks = taskCallbacks(stepFunctions);

type OutcomeEvent = EventBridgeEvent<
  'JobCompleted' | 'JobFailed',
  { inferenceId: string; hasTaskToken?: boolean }
>;

/** JobCompleted/JobFailed of a job with a task token: SendTaskSuccess or SendTaskFailure. */
export const handler = middy(async (event: OutcomeEvent) => {
  const { inferenceId } = event.detail;
  logger.appendKeys({ inferenceId });
  await sendTaskResult(inferenceId, { store: jobStore(), callbacks });
}).use(injectLambdaContext(logger, { resetKeys: true }));
