import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { SQSEvent } from 'aws-lambda';
import { eventBridge, jobStore, s3, sageMaker } from '../lib/adapters/clients.ts';
import { batchQueue, batchStore } from '../lib/adapters/batch-clients.ts';
import { config } from '../lib/config.ts';
import { logger } from '../lib/adapters/logger.ts';
import { remainingTimeOf } from '../lib/adapters/clock.ts';
import { processBatchEvent, workerPorts } from '../lib/wiring/batch-worker.ts';
// Every step reads or writes S3: its adapter and SDK load in INIT.
import '../lib/adapters/storage.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/** The batch queue: expansion steps, one submit per manifest line, the finish. */
export const handler = middy(async (event: SQSEvent, context: unknown) =>
  processBatchEvent(
    event,
    workerPorts({
      config: cfg,
      batches: batchStore(),
      queue: batchQueue()!,
      s3,
      eventBridge,
      submit: { store: jobStore(), s3, sageMaker, remainingMs: remainingTimeOf(context) },
    }),
  ),
).use(injectLambdaContext(logger, { resetKeys: true }));
