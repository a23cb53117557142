import { QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  JOBS_INDEX,
  OWNER_PAGE_QUERIES,
  shardKeys,
  type IndexEntry,
  type Job,
  type JobStatus,
} from '../../domain/jobs.ts';
import { readRecords } from './job-records.ts';
import type { Table } from './table.ts';

/*
 * Reads of the jobs index (`jobs-by-status`, partition key `<status>#<NN>`, sort key
 * `submittedAt`, projecting `owner`): reconcile's windows of one shard key, and the listing's
 * merge of a status's SHARDS keys into one page, newest first.
 */

/**
 * Index entries of one shard key with `from <= submittedAt < to` (either end open), oldest
 * first: reconcile's window of one check time, reading nothing outside it.
 */
export async function* entries(
  t: Table,
  key: string,
  from?: string,
  to?: string,
  pageSize = 500,
): AsyncGenerator<IndexEntry> {
  let start: Record<string, AttributeValue> | undefined;
  const range =
    from !== undefined && to !== undefined
      ? ' AND submittedAt BETWEEN :from AND :to'
      : to !== undefined
        ? ' AND submittedAt <= :to'
        : from !== undefined
          ? ' AND submittedAt >= :from'
          : '';
  do {
    const res = await t.client.send(
      new QueryCommand({
        TableName: t.name,
        IndexName: JOBS_INDEX,
        KeyConditionExpression: `shardKey = :k${range}`,
        ExpressionAttributeValues: {
          ':k': { S: key },
          ...(from !== undefined ? { ':from': { S: from } } : {}),
          ...(to !== undefined ? { ':to': { S: to } } : {}),
        },
        ExclusiveStartKey: start,
        Limit: pageSize,
      }),
    );
    for (const item of res.Items ?? []) {
      const entry = unmarshall(item) as IndexEntry;
      // BETWEEN includes its upper end; the window is half-open so windows never overlap.
      if (to !== undefined && entry.submittedAt === to) continue;
      yield entry;
    }
    start = res.LastEvaluatedKey;
  } while (start);
}

/**
 * One page of the jobs in a status, newest submit first: each of the status's SHARDS keys is
 * queried from the page token down, the answers merged by (submittedAt, inferenceId), and the
 * records read for the page. With an owner, only that owner's jobs: a filter applied after
 * DynamoDB's Limit, so a few queries per shard (at most OWNER_PAGE_QUERIES) fill the page. The
 * page token is the index key of the last job answered.
 */
export async function listByStatus(
  t: Table,
  status: JobStatus,
  limit: number,
  startKey?: Record<string, unknown>,
  owner?: string,
): Promise<{ jobs: Job[]; next?: Record<string, unknown> }> {
  const after = startKey as { inferenceId: string; submittedAt: string } | undefined;
  // Newest first: submittedAt, then inferenceId, both by code unit (as DynamoDB orders keys).
  const newer = (a: IndexEntry, b: Pick<IndexEntry, 'inferenceId' | 'submittedAt'>) =>
    (a.submittedAt as string) > (b.submittedAt as string) ||
    (a.submittedAt === b.submittedAt && a.inferenceId > b.inferenceId);
  let more = false;
  // A shard that stopped before filling the page (owner mode's query budget) was examined only
  // down to its last evaluated key: nothing older than that may be answered from any shard yet.
  let horizon: IndexEntry | undefined;
  const perShard = await Promise.all(
    shardKeys(status).map(async (key) => {
      const found: IndexEntry[] = [];
      let start: Record<string, AttributeValue> | undefined;
      for (let round = 0; round < (owner ? OWNER_PAGE_QUERIES : 1); round++) {
        const res = await t.client.send(
          new QueryCommand({
            TableName: t.name,
            IndexName: JOBS_INDEX,
            KeyConditionExpression: `shardKey = :k${after ? ' AND submittedAt <= :t' : ''}`,
            ...(owner ? { FilterExpression: '#owner = :owner' } : {}),
            ...(owner ? { ExpressionAttributeNames: { '#owner': 'owner' } } : {}),
            ExpressionAttributeValues: {
              ':k': { S: key },
              ...(after ? { ':t': { S: after.submittedAt } } : {}),
              ...(owner ? { ':owner': { S: owner } } : {}),
            },
            ScanIndexForward: false,
            // The page token's own submittedAt may come back: ask for one more than the page.
            Limit: limit + 1,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of res.Items ?? []) {
          const entry = unmarshall(item) as IndexEntry;
          if (!after || newer(after as IndexEntry, entry)) found.push(entry);
        }
        start = res.LastEvaluatedKey;
        if (found.length >= limit || !start) break;
      }
      if (start) {
        more = true;
        const last = unmarshall(start) as IndexEntry;
        if (found.length < limit && (!horizon || newer(last, horizon))) horizon = last;
      }
      return found;
    }),
  );
  const merged = perShard
    .flat()
    .filter((e) => !horizon || !newer(horizon, e))
    .sort((a, b) => (newer(a, b) ? -1 : newer(b, a) ? 1 : 0));
  const page = merged.slice(0, limit);
  if (merged.length > limit) more = true;
  const records = new Map(
    (
      await readRecords(
        t,
        page.map((e) => e.inferenceId),
      )
    ).map((j) => [j.inferenceId, j]),
  );
  // The index is eventually consistent: a record that has moved on since is left out.
  const jobs = page.flatMap((e) => {
    const job = records.get(e.inferenceId);
    return job && job.status === status ? [job] : [];
  });
  const last = page.at(-1) ?? horizon;
  return {
    jobs,
    next:
      more && last
        ? { inferenceId: last.inferenceId, status, submittedAt: last.submittedAt }
        : undefined,
  };
}
