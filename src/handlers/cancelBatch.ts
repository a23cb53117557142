import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { batchQueue, batchStore } from '../lib/adapters/batch-clients.ts';
import { config } from '../lib/config.ts';
import { httpErrors, json, type HttpEvent } from '../lib/http/answers.ts';
import { requestOwner } from '../lib/http/owner.ts';
import { logger } from '../lib/adapters/logger.ts';
import { cancelBatch } from '../lib/app/queue-stubs.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/** POST /batches/{batchId}/cancel: its lines stop, its jobs are cancelled in the background. */
export const handler = middy(async (event: HttpEvent) => {
  const batchId = event.pathParameters?.batchId ?? '';
  logger.appendKeys({ batchId });
  const batch = await cancelBatch(
    batchId,
    { owner: requestOwner(event, cfg.ownerMode) },
    { batches: batchStore(), queue: batchQueue() },
  );
  logger.info('batch cancel requested');
  return json(202, batch);
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
