import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { s3 } from '../lib/adapters/clients.ts';
import { batchQueue, batchStore } from '../lib/adapters/batch-clients.ts';
import { config } from '../lib/config.ts';
import { Unavailable } from '../lib/domain/errors.ts';
import { bodyBytes, httpErrors, json, type HttpEvent } from '../lib/http/answers.ts';
import { requestOwner } from '../lib/http/owner.ts';
import { logger } from '../lib/adapters/logger.ts';
import { createBatch } from '../lib/app/batches.ts';
import { batchPorts } from '../lib/wiring/batches.ts';
// Most batches POST a manifest, stored in S3: its adapter and SDK load in INIT.
import '../lib/adapters/storage.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/** POST /batches: a JSON Lines manifest (or ?prefix=); answers 202 and the batch at once. */
export const handler = middy(async (event: HttpEvent) => {
  const queue = batchQueue();
  if (!queue) throw new Unavailable('batches are not configured (BATCH_QUEUE_URL)');
  const batch = await createBatch(
    {
      query: event.queryStringParameters ?? {},
      body: bodyBytes(event),
      owner: requestOwner(event, cfg.ownerMode),
    },
    batchPorts({ config: cfg, batches: batchStore(), queue, s3 }),
  );
  logger.appendKeys({ batchId: batch.batchId });
  return json(202, batch, { location: `/batches/${batch.batchId}` });
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
