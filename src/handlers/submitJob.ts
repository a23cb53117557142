import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { config } from '../lib/config.ts';
import { bodyBytes, header, httpErrors, json, type HttpEvent } from '../lib/http/answers.ts';
import { publicView } from '../lib/domain/jobs.ts';
import { requestOwner } from '../lib/http/owner.ts';
import { logger } from '../lib/adapters/logger.ts';
import { submitJob } from '../lib/app/submit.ts';
import { lambdaSubmitPorts } from '../lib/wiring/submit.ts';
// Most submits store their body in S3: the adapter and its SDK load in INIT, not on the first
// call (submit loads them on demand, so that a retry, whose input is stored, never does).
import '../lib/adapters/storage.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/** POST /jobs: the body is the model input; answers 202 and the new job, or 200 and the existing one. */
export const handler = middy(async (event: HttpEvent, context: unknown) => {
  const { created, job } = await submitJob(
    {
      query: event.queryStringParameters ?? {},
      contentType: header(event, 'content-type'),
      body: bodyBytes(event),
      owner: requestOwner(event, cfg.ownerMode),
    },
    lambdaSubmitPorts(cfg, context),
  );
  logger.appendKeys({ inferenceId: job.inferenceId });
  const location = `/jobs/${encodeURIComponent(job.inferenceId)}`;
  return json(created ? 202 : 200, publicView(job), { location });
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
