import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { config } from '../lib/config.ts';
import { BadRequest } from '../lib/domain/errors.ts';
import { httpErrors, json, type HttpEvent } from '../lib/http/answers.ts';
import { ANY_INFERENCE_ID, publicView } from '../lib/domain/jobs.ts';
import { requestOwner } from '../lib/http/owner.ts';
import { logger } from '../lib/adapters/logger.ts';
import { retryJob } from '../lib/app/retry.ts';
import { lambdaSubmitPorts } from '../lib/wiring/submit.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/**
 * POST /jobs/{inferenceId}/retry: a new attempt of a failed, cancelled or expired job; 409 when
 * it is in progress or completed.
 */
export const handler = middy(async (event: HttpEvent, context: unknown) => {
  const inferenceId = event.pathParameters?.inferenceId ?? '';
  if (!ANY_INFERENCE_ID.test(inferenceId)) {
    throw new BadRequest('inferenceId must be 1-64 printable characters');
  }
  logger.appendKeys({ inferenceId });
  const job = await retryJob(
    { inferenceId, owner: requestOwner(event, cfg.ownerMode) },
    lambdaSubmitPorts(cfg, context),
  );
  const location = `/jobs/${encodeURIComponent(job.inferenceId)}`;
  return json(202, publicView(job), { location });
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
