import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { jobStore } from '../lib/adapters/clients.ts';
import { batchStore } from '../lib/adapters/batch-clients.ts';
import { config } from '../lib/config.ts';
import { httpErrors, json, type HttpEvent } from '../lib/http/answers.ts';
import { listJobs } from '../lib/http/listing.ts';
import { logger } from '../lib/adapters/logger.ts';
import { requestOwner } from '../lib/http/owner.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/** GET /jobs?status=&limit=&next=: a page of jobs in one status, newest first. */
export const handler = middy(async (event: HttpEvent) =>
  json(
    200,
    await listJobs(
      event.queryStringParameters ?? {},
      jobStore(),
      requestOwner(event, cfg.ownerMode),
      batchStore(),
    ),
  ),
)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
