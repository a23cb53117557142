import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { config } from '../lib/config.ts';
import { BadRequest } from '../lib/domain/errors.ts';
import { httpErrors, json, type HttpEvent } from '../lib/http/answers.ts';
import { ANY_INFERENCE_ID, publicView } from '../lib/domain/jobs.ts';
import { requestOwner } from '../lib/http/owner.ts';
import { logger } from '../lib/adapters/logger.ts';
import { cancelJob } from '../lib/app/cancel.ts';
import { cancelPorts } from '../lib/wiring/queue.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/**
 * POST /jobs/{inferenceId}/cancel: 200 CANCELLED (now or before), 202 when SageMaker has the job
 * already (cancelRequested: it ends CANCELLED when SageMaker answers), 409 when it ended otherwise.
 */
export const handler = middy(async (event: HttpEvent) => {
  const inferenceId = event.pathParameters?.inferenceId ?? '';
  if (!ANY_INFERENCE_ID.test(inferenceId)) {
    throw new BadRequest('inferenceId must be 1-64 printable characters');
  }
  logger.appendKeys({ inferenceId });
  const { job, outcome } = await cancelJob(
    { inferenceId, owner: requestOwner(event, cfg.ownerMode) },
    cancelPorts(cfg),
  );
  logger.info(outcome === 'requested' ? 'cancel requested' : 'job cancelled', { outcome });
  return json(outcome === 'requested' ? 202 : 200, publicView(job));
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
