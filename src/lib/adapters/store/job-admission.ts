import { UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  tenantWaitKeyOf,
  waitKeyOf,
  waitSortOf,
  waitingTenantOf,
  type Job,
} from '../../domain/jobs.ts';
import { readRecord } from './job-records.ts';
import { recordKey } from './keys.ts';
import { isConditionFailure, itemOnConditionFailure, type Table } from './table.ts';

/*
 * A job's way through its lane (docs/queue.md): into the lane after its input is stored
 * (`enqueue`, or the claim itself), out of it to SageMaker (`dispatch`), back to its place when
 * the invoke failed before SageMaker had it (`requeue`), and the cancel of a job already handed
 * on (`requestCancel`). Each is one conditional UpdateItem on the record: the condition is the
 * state it leaves, so of two racers (two dispatchers, a dispatch and a cancel) exactly one wins.
 * The waiting index entries come and go with `waitKey` and `tenantWaitKey`, both in the same write. Leaving a lane as
 * CANCELLED or EXPIRED is the terminal transition's (job-transitions.ts, `from: 'waiting'`).
 */

const NAMES = { '#status': 'status' };
const IN_PROGRESS = { S: 'IN_PROGRESS' };

/** The record after a write that applied, or as the failed condition found it. */
async function found(
  t: Table,
  inferenceId: string,
  item: Record<string, AttributeValue> | undefined,
): Promise<Job | undefined> {
  // AWS answers the item on a failed condition (ALL_OLD); dynalite does not: read it then.
  return item ? (unmarshall(item) as Job) : readRecord(t, inferenceId);
}

/**
 * Claimed (lane fields written, input stored) -> waiting in its lane, once: only this submit's
 * claim, never queued, not yet in a lane and not cancel-requested, for the endpoint and lane it
 * was claimed with (the index key is derived from them). For a submit that stores the input
 * after its claim; a claim whose input is already in place enters its lane in the claim itself.
 * A repeat of the same call (its answer lost) is its own.
 */
export async function enqueue(t: Table, claim: Job, enqueuedAt: string): Promise<boolean> {
  const { inferenceId, endpointName, priority, claimToken } = claim;
  if (!endpointName || !priority || !claimToken) {
    throw new Error('enqueue needs the claim as written: endpointName, priority, claimToken');
  }
  try {
    await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: recordKey(inferenceId),
        UpdateExpression:
          'SET enqueuedAt = :at, waitKey = :key, waitSort = :sort, tenantWaitKey = :tkey',
        ConditionExpression:
          '#status = :p AND claimToken = :token AND endpointName = :endpoint AND priority = :lane' +
          ' AND attribute_exists(queueDeadline) AND attribute_not_exists(enqueuedAt)' +
          ' AND attribute_not_exists(outputLocation) AND attribute_not_exists(cancelRequested)',
        ExpressionAttributeNames: NAMES,
        ExpressionAttributeValues: {
          ':at': { S: enqueuedAt },
          ':key': { S: waitKeyOf(endpointName, priority, inferenceId) },
          ':sort': { S: waitSortOf(enqueuedAt, inferenceId) },
          ':tkey': {
            S: tenantWaitKeyOf(endpointName, priority, waitingTenantOf(claim), inferenceId),
          },
          ':p': IN_PROGRESS,
          ':token': { S: claimToken },
          ':endpoint': { S: endpointName },
          ':lane': { S: priority },
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return true;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    const job = await found(t, inferenceId, itemOnConditionFailure(err));
    return job?.claimToken === claimToken && job.enqueuedAt === enqueuedAt;
  }
}

/**
 * Waiting -> handed to SageMaker, once: only while in its lane, not cancel-requested, and `at`
 * before its queueDeadline (ISO-8601 strings of one format compare as times). Leaves the lane:
 * REMOVE waitKey and tenantWaitKey (both index entries are deleted in this write; `waitSort`
 * stays on the record for a requeue), SET dispatchedAt, slot, leaseUntil.
 */
export async function dispatch(
  t: Table,
  inferenceId: string,
  d: { slot: number; at: string; leaseUntil: string },
): Promise<{ dispatched: boolean; job?: Job }> {
  try {
    const res = await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: recordKey(inferenceId),
        UpdateExpression:
          'SET dispatchedAt = :at, #slot = :slot, leaseUntil = :lease REMOVE waitKey, tenantWaitKey',
        ConditionExpression:
          '#status = :p AND attribute_exists(waitKey) AND attribute_not_exists(cancelRequested)' +
          ' AND queueDeadline > :at',
        ExpressionAttributeNames: { ...NAMES, '#slot': 'slot' },
        ExpressionAttributeValues: {
          ':at': { S: d.at },
          ':slot': { N: String(d.slot) },
          ':lease': { S: d.leaseUntil },
          ':p': IN_PROGRESS,
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return {
      dispatched: true,
      job: res.Attributes ? (unmarshall(res.Attributes) as Job) : undefined,
    };
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return { dispatched: false, job: await found(t, inferenceId, itemOnConditionFailure(err)) };
  }
}

/**
 * Handed to SageMaker by the dispatch of `dispatchedAt` but never queued (the invoke failed, or
 * its dispatcher died before markQueued) -> back in its lane at its old place, once: only while
 * that dispatch is the record's last, no output location was recorded, and no cancel was asked
 * for (a cancel-requested job that never reached SageMaker is ended CANCELLED by the caller,
 * `from: 'cancelRequested'`). The lane key is derived from the record's endpoint and lane (read
 * first: neither ever changes), its sort key is the one it kept.
 */
export async function requeue(
  t: Table,
  inferenceId: string,
  dispatchedAt: string,
): Promise<boolean> {
  const job = await readRecord(t, inferenceId);
  if (
    !job?.endpointName ||
    !job.priority ||
    !job.waitSort ||
    job.dispatchedAt !== dispatchedAt ||
    job.outputLocation
  ) {
    return false;
  }
  try {
    await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: recordKey(inferenceId),
        UpdateExpression: 'SET waitKey = :key, tenantWaitKey = :tkey REMOVE dispatchedAt, #slot',
        ConditionExpression:
          '#status = :p AND dispatchedAt = :d AND waitSort = :sort AND attribute_not_exists(waitKey)' +
          ' AND attribute_not_exists(outputLocation) AND attribute_not_exists(cancelRequested)',
        ExpressionAttributeNames: { ...NAMES, '#slot': 'slot' },
        ExpressionAttributeValues: {
          ':key': { S: waitKeyOf(job.endpointName, job.priority, inferenceId) },
          ':tkey': {
            S: tenantWaitKeyOf(job.endpointName, job.priority, waitingTenantOf(job), inferenceId),
          },
          ':p': IN_PROGRESS,
          ':d': { S: dispatchedAt },
          ':sort': { S: job.waitSort },
        },
      }),
    );
    return true;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return false;
  }
}

/**
 * IN_PROGRESS and not in a lane (handed to SageMaker, or admission off) -> cancel-requested,
 * once: a repeat, or a job waiting, terminal or unknown, is refused and answered the record as
 * found. A waiting job is cancelled by its terminal transition instead (`from: 'waiting'`).
 */
export async function requestCancel(
  t: Table,
  inferenceId: string,
  at: string,
): Promise<{ requested: boolean; job?: Job }> {
  try {
    const res = await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: recordKey(inferenceId),
        UpdateExpression: 'SET cancelRequested = :true, cancelRequestedAt = :at',
        ConditionExpression:
          '#status = :p AND attribute_not_exists(waitKey) AND attribute_not_exists(cancelRequested)',
        ExpressionAttributeNames: NAMES,
        ExpressionAttributeValues: { ':true': { BOOL: true }, ':at': { S: at }, ':p': IN_PROGRESS },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return {
      requested: true,
      job: res.Attributes ? (unmarshall(res.Attributes) as Job) : undefined,
    };
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return { requested: false, job: await found(t, inferenceId, itemOnConditionFailure(err)) };
  }
}
