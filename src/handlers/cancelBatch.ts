import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { s3Presigner } from '../lib/adapters/clients.ts';
import { batchStore } from '../lib/adapters/batch-clients.ts';
import { objectStoreOnDemand } from '../lib/adapters/lazy.ts';
import { config } from '../lib/config.ts';
import { NotFound } from '../lib/domain/errors.ts';
import { httpErrors, json, type HttpEvent } from '../lib/http/answers.ts';
import { requestOwner } from '../lib/http/owner.ts';
import { logger } from '../lib/adapters/logger.ts';
import { cancelBatch } from '../lib/app/cancel.ts';
import { getBatch } from '../lib/app/batch-status.ts';
import { batchCancelPorts } from '../lib/wiring/queue.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/**
 * POST /batches/{batchId}/cancel: its lines stop and its jobs are cancelled by batchWorker (one
 * queued message per block); the batch as it stands.
 */
export const handler = middy(async (event: HttpEvent) => {
  const batchId = event.pathParameters?.batchId ?? '';
  logger.appendKeys({ batchId });
  const owner = requestOwner(event, cfg.ownerMode);
  const deps = batchCancelPorts();
  if (!deps) throw new NotFound('no such batch');
  const report = await cancelBatch({ batchId, owner }, deps);
  logger.info('batch cancel requested', { ...report });
  return json(
    202,
    await getBatch(batchId, {
      batches: batchStore(),
      objects: objectStoreOnDemand(s3Presigner),
      owner,
    }),
  );
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
