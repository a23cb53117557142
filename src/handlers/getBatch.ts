import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { s3Presigner } from '../lib/adapters/clients.ts';
import { batchStore } from '../lib/adapters/batch-clients.ts';
import { config } from '../lib/config.ts';
import { httpErrors, json, type HttpEvent } from '../lib/http/answers.ts';
import { requestOwner } from '../lib/http/owner.ts';
import { logger } from '../lib/adapters/logger.ts';
import { getBatch } from '../lib/app/batch-status.ts';
import { objectStoreOnDemand } from '../lib/adapters/lazy.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/** GET /batches/{batchId}: counts, progress, times; once finished, a link to the manifest. */
export const handler = middy(async (event: HttpEvent) => {
  const batchId = event.pathParameters?.batchId ?? '';
  logger.appendKeys({ batchId });
  return json(
    200,
    await getBatch(batchId, {
      batches: batchStore(),
      objects: objectStoreOnDemand(s3Presigner),
      owner: requestOwner(event, cfg.ownerMode),
    }),
  );
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
