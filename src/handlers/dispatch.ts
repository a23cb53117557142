import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { config } from '../lib/config.ts';
import { logger } from '../lib/adapters/logger.ts';
import { roundsOf } from '../lib/adapters/dispatch-wake.ts';
import { dispatchRound } from '../lib/app/dispatch.ts';
import { dispatchPorts } from '../lib/wiring/queue.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/**
 * DispatchQueue (wakes, up to ten a batch) and the 1-minute tick: one dispatcher round per
 * endpoint named (the tick: every allow-listed endpoint). A wake whose round failed is received
 * again; a body that is no wake, or names an endpoint not allowed, is dropped with a log line.
 * A tick with a failed round fails, so the error alarm sees it; the next tick is its retry.
 */
export const handler = middy(
  async (event: Partial<SQSEvent>): Promise<SQSBatchResponse | undefined> => {
    const wakes = event.Records !== undefined;
    if (!cfg.admission) return wakes ? { batchItemFailures: [] } : undefined;
    const { endpoints, messagesOf, ignored } = roundsOf(event, cfg.endpointNames);
    if (ignored > 0) logger.warn('wakes ignored', { ignored });
    const deps = dispatchPorts(cfg);
    const failed: string[] = [];
    for (const endpointName of endpoints) {
      try {
        await dispatchRound(endpointName, deps, { woken: wakes });
      } catch (err) {
        logger.error('dispatch round failed', { endpointName, error: err as Error });
        failed.push(endpointName);
      }
    }
    if (!wakes) {
      if (failed.length > 0) throw new Error(`dispatch rounds failed: ${failed.join(', ')}`);
      return undefined;
    }
    return {
      batchItemFailures: failed.flatMap(messagesOf).map((itemIdentifier) => ({ itemIdentifier })),
    };
  },
).use(injectLambdaContext(logger, { resetKeys: true }));
