import { randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';
import { batchView, type BatchHeader, type BatchView } from '../domain/batches.ts';
import { checkManifest } from '../domain/manifest.ts';
import { BadRequest, PayloadTooLarge } from '../domain/errors.ts';
import { expiresAt } from '../domain/jobs.ts';
import { inputLocation, s3Uri } from '../domain/locations.ts';
import { MAX_INLINE_INPUT_BYTES } from '../domain/limits.ts';
import { webhookUrl } from '../domain/webhook-url.ts';
import { logger } from '../adapters/logger.ts';
import type { BatchQueue } from './ports/batch-queue.ts';
import type { BatchRepository } from './ports/batch-repository.ts';
import type { Clock } from './ports/clock.ts';
import type { EventPublisher } from './ports/event-publisher.ts';
import type { ObjectStore } from './ports/object-store.ts';

/*
 * Batches (docs/batches.md): POST stores the manifest and queues the first expansion step; each
 * step reads one block of lines (from a byte offset of the stored manifest, or one page of an S3
 * listing), opens the block's counter, queues one submit message per line and then the next step;
 * the submit worker calls the same submitJob as POST /jobs; each job's outcome adds its line to its
 * block; the block that completes the batch finishes it once, and the finish writes the output
 * manifest and sends BatchCompleted. This module is POST's; GET's is batch-status.ts and the
 * worker's steps are in batch-worker.ts, so that no handler loads what only another runs (the
 * manifest's schema for GET; submit and its adapters for both API handlers).
 */

export interface BatchDeps {
  config: Config;
  batches: BatchRepository;
  queue: BatchQueue;
  /** The input bucket, where a batch's manifests live. */
  objects: ObjectStore;
  /** With a bus configured, a finished batch is announced on it (BatchCompleted). */
  events?: EventPublisher;
  now?: Clock;
}

/** Where a batch's files live in the input bucket (the workers read and write only there). */
export function batchPrefix(batchId: string): string {
  return `batches/${batchId}/`;
}

export function nowOf(deps: { now?: () => Date }): Date {
  return deps.now?.() ?? new Date();
}

export interface CreateBatchRequest {
  query: Record<string, string | undefined>;
  body: Buffer;
  owner?: string;
}

/** POST /batches: check what can be checked now, store the manifest, queue the first step. */
export async function createBatch(
  req: CreateBatchRequest,
  deps: BatchDeps & { newId?: () => string },
): Promise<BatchView> {
  const { config } = deps;
  const batchId = deps.newId?.() ?? `b-${randomBytes(12).toString('hex')}`;
  const callbackUrl = req.query.callbackUrl
    ? webhookUrl(req.query.callbackUrl, config.allowLoopbackWebhooks)
    : undefined;
  const endpoint = req.query.endpoint;
  if (endpoint !== undefined && !config.endpointNames.includes(endpoint)) {
    throw new BadRequest(
      `unknown endpoint ${endpoint}; allowed: ${config.endpointNames.join(', ')}`,
    );
  }
  const now = nowOf(deps);
  let source: BatchHeader['source'];
  if (req.query.prefix !== undefined) {
    if (req.body.byteLength > 0) throw new BadRequest('send either a manifest or prefix, not both');
    const loc = inputLocation(req.query.prefix, config.inputBucket);
    if (loc.key.startsWith(config.inputPrefix) || loc.key.startsWith('batches/')) {
      throw new BadRequest(
        `prefix must be outside ${config.inputPrefix} and batches/ (the service's own objects)`,
      );
    }
    source = { kind: 'prefix', uri: s3Uri(loc) };
  } else {
    if (req.body.byteLength === 0) {
      throw new BadRequest('the manifest is empty: send JSON Lines, or pass prefix');
    }
    if (req.body.byteLength > MAX_INLINE_INPUT_BYTES) {
      throw new PayloadTooLarge('the manifest is larger than a request allows; use prefix');
    }
    checkManifest(req.body.toString('utf8'), config.inputBucket);
    const loc = { bucket: config.inputBucket, key: `${batchPrefix(batchId)}manifest.jsonl` };
    await deps.objects.put(loc, req.body, 'application/x-ndjson');
    source = { kind: 'manifest', uri: s3Uri(loc) };
  }
  const header: BatchHeader = {
    batchId,
    createdAt: now.toISOString(),
    source,
    callbackUrl,
    endpoint,
    owner: req.owner,
    expiresAt: expiresAt(now, config.jobTtlDays),
  };
  await deps.batches.create(header);
  await deps.queue.send([{ t: 'expand', batchId, block: 0, offset: 0, line: 1 }]);
  logger.info('batch created', { batchId, source: source.kind });
  return batchView(header, []);
}
