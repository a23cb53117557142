import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logger } from '../lib/adapters/logger.ts';
import { submitJob } from '../lib/app/submit.ts';
import { lambdaSubmitPorts } from '../lib/wiring/submit.ts';
// Most submits store their body in S3: the adapter and its SDK load in INIT, not on the first
// call (submit loads them on demand, so that a retry, whose input is stored, never does).
import '../lib/adapters/storage.ts';
import { config } from '../lib/config.ts';
import { directSubmission } from '../lib/domain/direct-submission.ts';
import { publicView, type PublicJob } from '../lib/domain/jobs.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/**
 * A state machine's submit, invoked directly (no HTTP): the payload holds the POST /jobs
 * parameters and the input. Answers the public record; a refused submit throws its named error
 * (BadRequest, Throttled, ...), which the Task state sees as its error name.
 */
export const handler = middy(async (payload: unknown, context: unknown): Promise<PublicJob> => {
  const { job } = await submitJob(directSubmission(payload), lambdaSubmitPorts(cfg, context));
  logger.appendKeys({ inferenceId: job.inferenceId });
  return publicView(job);
}).use(injectLambdaContext(logger, { resetKeys: true }));
