import { QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Lane, WaitingEntry } from '../../domain/admission.ts';
import {
  TENANT_WAITING_INDEX,
  WAITING_INDEX,
  tenantWaitKeys,
  waitKeys,
} from '../../domain/jobs.ts';
import type { Table } from './table.ts';

/*
 * Reads of the waiting index (`jobs-waiting`, partition key `<endpointName>#<lane>#<NN>`, sort
 * key `<enqueuedAt>#<inferenceId>`, projecting tenant and queueDeadline): a lane is SHARDS keys,
 * read in parallel and merged. A global index is eventually consistent: an entry may outlive its
 * dispatch or cancel by a moment, which the dispatch's own condition refuses; nothing here decides
 * a race.
 */

type Item = Record<string, AttributeValue>;

function entryOf(
  item: Item,
  endpointName: string,
  lane: Lane,
  tenant?: string,
): WaitingEntry | undefined {
  const sort = item.waitSort?.S;
  const inferenceId = item.inferenceId?.S;
  if (!sort || !inferenceId) return undefined;
  return {
    inferenceId,
    endpointName,
    lane,
    tenant: tenant ?? item.tenant?.S ?? '',
    // ISO-8601 has no '#': the sort key's first field is the time it entered the lane.
    enqueuedAt: sort.slice(0, sort.indexOf('#')),
    queueDeadline: item.queueDeadline?.S ?? '',
  };
}

/** Up to `limit` oldest entries of each shard of the lane, merged oldest first. */
export async function heads(
  t: Table,
  endpointName: string,
  lane: Lane,
  limit: number,
): Promise<WaitingEntry[]> {
  const pages = await Promise.all(
    waitKeys(endpointName, lane).map((key) =>
      t.client.send(
        new QueryCommand({
          TableName: t.name,
          IndexName: WAITING_INDEX,
          KeyConditionExpression: 'waitKey = :k',
          ExpressionAttributeValues: { ':k': { S: key } },
          Limit: limit,
        }),
      ),
    ),
  );
  const items = pages.flatMap((p) => p.Items ?? []);
  items.sort((a, b) => ((a.waitSort?.S ?? '') < (b.waitSort?.S ?? '') ? -1 : 1));
  return items.flatMap((item) => entryOf(item, endpointName, lane) ?? []);
}

/**
 * Up to `limit` oldest entries of each of one tenant's shards of the lane (the by-tenant index,
 * `jobs-waiting-by-tenant`), merged oldest first.
 */
export async function tenantHeads(
  t: Table,
  endpointName: string,
  lane: Lane,
  tenant: string,
  limit: number,
): Promise<WaitingEntry[]> {
  const pages = await Promise.all(
    tenantWaitKeys(endpointName, lane, tenant).map((key) =>
      t.client.send(
        new QueryCommand({
          TableName: t.name,
          IndexName: TENANT_WAITING_INDEX,
          KeyConditionExpression: 'tenantWaitKey = :k',
          ExpressionAttributeValues: { ':k': { S: key } },
          Limit: limit,
        }),
      ),
    ),
  );
  const items = pages.flatMap((p) => p.Items ?? []);
  items.sort((a, b) => ((a.waitSort?.S ?? '') < (b.waitSort?.S ?? '') ? -1 : 1));
  return items.flatMap((item) => entryOf(item, endpointName, lane, tenant) ?? []);
}

/**
 * The entries of a lane before `before` (a waitSort; all when absent), reading at most `cap`
 * of them over all shards: `Select: COUNT` Queries, the budget left shared out among the shards
 * that still have entries, round after round, so the read units stay bounded whatever the queue
 * (about cap x 0.1 KiB, eventually consistent). `exact` is false when a shard still had more.
 */
export async function count(
  t: Table,
  endpointName: string,
  lane: Lane,
  cap: number,
  before?: string,
): Promise<{ count: number; exact: boolean }> {
  let total = 0;
  let open: { key: string; start?: Item }[] = waitKeys(endpointName, lane).map((key) => ({ key }));
  while (open.length > 0 && total < cap) {
    const budget = cap - total;
    const round = open.slice(0, budget);
    const each = Math.max(1, Math.floor(budget / round.length));
    const answers = await Promise.all(
      round.map(async (shard) => {
        const res = await t.client.send(
          new QueryCommand({
            TableName: t.name,
            IndexName: WAITING_INDEX,
            Select: 'COUNT',
            KeyConditionExpression: `waitKey = :k${before !== undefined ? ' AND waitSort < :b' : ''}`,
            ExpressionAttributeValues: {
              ':k': { S: shard.key },
              ...(before !== undefined ? { ':b': { S: before } } : {}),
            },
            ExclusiveStartKey: shard.start,
            Limit: each,
          }),
        );
        total += res.Count ?? 0;
        return { key: shard.key, start: res.LastEvaluatedKey };
      }),
    );
    open = [...answers.filter((s) => s.start !== undefined), ...open.slice(round.length)];
  }
  return { count: Math.min(total, cap), exact: open.length === 0 };
}
