import { BATCH_ID, batchView } from '../domain/batches.ts';
import { NotFound } from '../domain/errors.ts';
import { parseS3Uri } from '../domain/locations.ts';
import type { BatchRecord } from '../domain/wire.ts';
import type { BatchDeps } from './batches.ts';

/** GET /batches/{batchId}: counts from every block, and once finished a link to the manifest. */
export async function getBatch(
  batchId: string,
  deps: Pick<BatchDeps, 'batches' | 'objects'> & { owner?: string },
): Promise<BatchRecord> {
  if (!BATCH_ID.test(batchId)) throw new NotFound('no such batch');
  const header = await deps.batches.header(batchId);
  if (!header || (deps.owner !== undefined && header.owner !== deps.owner)) {
    throw new NotFound('no such batch');
  }
  const blocks = await deps.batches.blocks(batchId, header.blocks ?? header.cursor ?? 0);
  const view = batchView(header, blocks);
  const loc = header.manifestLocation ? parseS3Uri(header.manifestLocation) : undefined;
  // Only a finished batch has a manifest to link: with the S3 adapter loaded on demand
  // (src/lib/adapters/lazy.ts), polls of a running one never load S3.
  return loc ? { ...view, manifestUrl: await deps.objects.presignGet(loc, 900) } : view;
}
