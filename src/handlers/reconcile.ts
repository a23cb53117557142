import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { eventBridge, jobStore, s3 } from '../lib/adapters/clients.ts';
import { config } from '../lib/config.ts';
import { logger } from '../lib/adapters/logger.ts';
import { reconcile } from '../lib/app/reconcile.ts';
import { endingPorts } from '../lib/wiring/endings.ts';
import { batchCountDeps } from '../lib/adapters/batch-clients.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/** Scheduled: finishes jobs whose notification was lost, by checking their S3 locations. */
export const handler = middy(async (_event: unknown, context: Context) => {
  const report = await reconcile(
    endingPorts({ config: cfg, store: jobStore(), s3, eventBridge, batches: batchCountDeps() }),
    {
      olderThanSeconds: cfg.reconcileAfterSeconds,
      remainingMs: () => context.getRemainingTimeInMillis(),
    },
  );
  logger.info('reconcile finished', { ...report });
  // Some jobs could not be checked: fail the run so the error alarm sees it.
  if (report.errors > 0) throw new Error(`${report.errors} jobs could not be reconciled`);
  return report;
}).use(injectLambdaContext(logger, { resetKeys: true }));
