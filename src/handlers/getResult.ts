import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { resultOf } from '../lib/http/access.ts';
import { jobStore, s3 } from '../lib/adapters/clients.ts';
import { config } from '../lib/config.ts';
import { BadRequest } from '../lib/domain/errors.ts';
import { NO_SNIFF, httpErrors, type HttpEvent, type HttpResult } from '../lib/http/answers.ts';
import { ANY_INFERENCE_ID } from '../lib/domain/jobs.ts';
import { logger } from '../lib/adapters/logger.ts';
import { ownedOrNotFound, requestOwner } from '../lib/http/owner.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/** GET /jobs/{inferenceId}/result: the output itself when small, else a redirect to S3. */
export const handler = middy(async (event: HttpEvent): Promise<HttpResult> => {
  const inferenceId = event.pathParameters?.inferenceId ?? '';
  if (!ANY_INFERENCE_ID.test(inferenceId)) {
    throw new BadRequest('inferenceId must be 1-64 printable characters');
  }
  logger.appendKeys({ inferenceId });
  const owner = requestOwner(event, cfg.ownerMode);
  const job = ownedOrNotFound(await jobStore().get(inferenceId), inferenceId, owner);
  const answer = await resultOf(job, inferenceId, {
    config: cfg,
    s3,
  });
  if (answer.kind === 'redirect') {
    return {
      statusCode: 302,
      headers: { location: answer.url, 'cache-control': 'no-store', ...NO_SNIFF },
    };
  }
  return {
    statusCode: 200,
    headers: { 'content-type': answer.contentType, ...NO_SNIFF },
    body: answer.body.toString('base64'),
    isBase64Encoded: true,
  };
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
