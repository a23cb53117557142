import { BadRequest, NotFound } from '../domain/errors.ts';
import { BLOCK_LINES, blockOf } from '../domain/batch-blocks.ts';
import { BATCH_ID, lineInferenceId } from '../domain/batches.ts';
import { publicView, type PublicJob } from '../domain/jobs.ts';
import type { JobStore } from '../adapters/job-store.ts';
import type { BatchStore } from '../adapters/batch-store.ts';

/*
 * GET /jobs?batchId=&limit=&next=: the batch's jobs in manifest order. No index: a line's job id
 * is its own (kept per block) or derived from the line number, so a page is a range of lines read
 * by primary key, spread over the table's partitions however large the batch. The page token is
 * the last line number answered (base64url JSON, checked on the way back in).
 */

function untoken(value: string): number {
  try {
    const key = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
    if (
      key &&
      typeof key === 'object' &&
      Object.keys(key).join(',') === 'line' &&
      Number.isInteger((key as { line: unknown }).line) &&
      (key as { line: number }).line >= 0
    ) {
      return (key as { line: number }).line;
    }
  } catch {
    // fall through
  }
  throw new BadRequest('next is not a page token of this listing');
}

export async function listBatchJobs(
  query: Record<string, string | undefined>,
  jobs: JobStore,
  batches: BatchStore,
  owner?: string,
): Promise<{ jobs: Omit<PublicJob, 'result'>[]; next?: string }> {
  const batchId = query.batchId ?? '';
  if (!BATCH_ID.test(batchId)) throw new BadRequest('batchId is not a batch id');
  if (query.status !== undefined) throw new BadRequest('give either status or batchId');
  const limit = query.limit === undefined ? 25 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new BadRequest('limit must be a whole number from 1 to 100');
  }
  const header = await batches.header(batchId);
  if (!header || (owner !== undefined && header.owner !== owner)) {
    throw new NotFound('no such batch');
  }
  const after = query.next ? untoken(query.next) : 0;
  // Lines known so far: all of them once expanded, else those of the blocks opened.
  const known = header.total ?? (header.cursor ?? 0) * BLOCK_LINES;
  const last = Math.min(known, after + limit);
  const lines = Array.from({ length: Math.max(0, last - after) }, (_, i) => after + 1 + i);
  const ids = new Map<number, Record<string, string>>();
  for (const block of new Set(lines.map(blockOf)))
    ids.set(block, await batches.ids(batchId, block));
  const wanted = lines.map((l) => lineInferenceId(batchId, l, ids.get(blockOf(l))?.[String(l)]));
  const found = new Map((await jobs.getMany(wanted)).map((j) => [j.inferenceId, j]));
  return {
    // Refused lines and lines not yet submitted have no job: the page holds fewer.
    jobs: wanted.flatMap((id) => {
      const job = found.get(id);
      if (!job || job.batchId !== batchId) return [];
      const { result: _result, ...rest } = publicView(job);
      return [rest];
    }),
    next:
      last < known || !header.total
        ? Buffer.from(JSON.stringify({ line: last })).toString('base64url')
        : undefined,
  };
}
