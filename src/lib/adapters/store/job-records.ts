import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Job } from '../../domain/jobs.ts';
import { recordKey } from './keys.ts';
import { Assignments, isConditionFailure, type Table } from './table.ts';

/*
 * A job's record read and written outside its state changes: the reads, the locations submit
 * learns from SageMaker, getJob's last look. Claims (job-claims.ts) and the terminal transition
 * (job-transitions.ts) are the writes that move the status.
 */

/**
 * The record. Consistent by default; eventually consistent (half a read unit up to 4 KiB) for
 * getJob's `?wait=` re-reads, where a stale answer only delays the next look (terminal states
 * never regress).
 */
export async function readRecord(
  t: Table,
  inferenceId: string,
  consistent = true,
): Promise<Job | undefined> {
  const res = await t.client.send(
    new GetItemCommand({
      TableName: t.name,
      Key: recordKey(inferenceId),
      ConsistentRead: consistent,
    }),
  );
  return res.Item ? (unmarshall(res.Item) as Job) : undefined;
}

/**
 * Records by id, eventually consistent (half a unit each up to 4 KiB), 25 requests at a time.
 * GetItem rather than BatchGetItem: the same units, and no further IAM action on the table.
 */
export async function readRecords(t: Table, ids: string[]): Promise<Job[]> {
  const jobs: Job[] = [];
  for (let i = 0; i < ids.length; i += 25) {
    const found = await Promise.all(ids.slice(i, i + 25).map((id) => readRecord(t, id, false)));
    for (const job of found) if (job) jobs.push(job);
  }
  return jobs;
}

/**
 * Records where SageMaker will write. A notification may already have finished the job (a fast
 * model), so the status is left alone and locations are only filled in, never replaced. Neither
 * location is projected into the index, so this write never touches it.
 */
export async function markQueued(
  t: Table,
  inferenceId: string,
  locations: { outputLocation?: string; failureLocation?: string },
): Promise<Job> {
  const update = new Assignments();
  for (const [k, v] of Object.entries(locations)) update.set(k, v || undefined, true);
  if (update.empty) return (await readRecord(t, inferenceId)) as Job;
  const res = await t.client.send(
    new UpdateItemCommand({
      TableName: t.name,
      Key: recordKey(inferenceId),
      UpdateExpression: String(update),
      ConditionExpression: 'attribute_exists(inferenceId)',
      ExpressionAttributeNames: update.names,
      ExpressionAttributeValues: update.values,
      ReturnValues: 'ALL_NEW',
    }),
  );
  return unmarshall(res.Attributes ?? {}) as Job;
}

/**
 * getJob looked in S3 and found nothing yet: the next look waits for the next check time. Only
 * while IN_PROGRESS; `checkedAt` is not projected, so the index is not written.
 */
export async function markChecked(t: Table, inferenceId: string, at: string): Promise<void> {
  try {
    await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: recordKey(inferenceId),
        UpdateExpression: 'SET checkedAt = :at',
        ConditionExpression: '#status = :p',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':at': { S: at }, ':p': { S: 'IN_PROGRESS' } },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}
