import { BadRequest } from '../domain/errors.ts';
import { ANY_INFERENCE_ID, JOB_STATUSES, publicView, type JobStatus } from '../domain/jobs.ts';
import type { JobPage } from '../domain/wire.ts';
import type { JobStore } from '../adapters/job-store.ts';
import type { BatchStore } from '../adapters/batch-store.ts';
import { listBatchJobs } from './batch-listing.ts';

/*
 * GET /jobs?status=&limit=&next=: a page of jobs from the status index, newest first. The page
 * token is the index key, opaque to clients (base64url JSON) and checked on the way back in.
 */

const STATUSES = JOB_STATUSES;

export type { JobPage } from '../domain/wire.ts';

function token(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

function untoken(value: string, status: JobStatus): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const names = Object.keys(key).sort().join(',');
    // Only an index key of this listing, every value a string: nothing else can be smuggled into
    // the query, and a token of the wrong shape never reaches DynamoDB as a ValidationException.
    if (
      names === 'inferenceId,status,submittedAt' &&
      key.status === status &&
      typeof key.inferenceId === 'string' &&
      typeof key.submittedAt === 'string' &&
      ANY_INFERENCE_ID.test(key.inferenceId) &&
      key.submittedAt.length <= 64
    ) {
      return key;
    }
  } catch {
    // fall through
  }
  throw new BadRequest('next is not a page token of this listing');
}

export async function listJobs(
  query: Record<string, string | undefined>,
  store: JobStore,
  owner?: string,
  batches?: BatchStore,
): Promise<JobPage> {
  // A batch's jobs, in manifest order (src/lib/http/batch-listing.ts).
  if (query.batchId !== undefined && batches) return listBatchJobs(query, store, batches, owner);
  // Any case, as the CLI takes it (`--status failed`): the statuses are one word each.
  const status = query.status?.toUpperCase() as JobStatus | undefined;
  if (!status) throw new BadRequest(`status is required: one of ${STATUSES.join(', ')}`);
  if (!STATUSES.includes(status)) {
    throw new BadRequest(`status must be one of ${STATUSES.join(', ')}`);
  }
  const limit = query.limit === undefined ? 25 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new BadRequest('limit must be a whole number from 1 to 100');
  }
  const start = query.next ? untoken(query.next, status) : undefined;
  const page = await store.listByStatus(status, limit, start, owner);
  return {
    // Results stay out of listings (up to 64 KB each): GET /jobs/{id} or /result has them.
    jobs: page.jobs.map((j) => {
      const { result: _result, ...rest } = publicView(j);
      return rest;
    }),
    next: token(page.next),
  };
}
