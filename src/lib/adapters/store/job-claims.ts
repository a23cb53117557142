import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { shardKey, waitingKeys, type Job } from '../../domain/jobs.ts';
import { recordKey } from './keys.ts';
import { readRecord } from './job-records.ts';
import { isConditionFailure, itemOnConditionFailure, type Table } from './table.ts';

/*
 * The claim: the IN_PROGRESS record a submit writes before anything is uploaded or invoked, taken
 * over when its submit is surely gone (src/lib/domain/claims.ts), released when it never got as
 * far as SageMaker. A claim enters its status's shard of the jobs index; a claim marked to wait
 * (`enqueuedAt`, under admission) enters its lane of the waiting index too, in the same write.
 * A record that entered a lane is no longer a claim to take over or release: it waits for the
 * dispatcher, or was handed to SageMaker by it.
 */

function claimItem(job: Job) {
  return marshall(
    { ...job, shardKey: shardKey(job.status, job.inferenceId), ...waitingKeys(job) },
    { removeUndefinedValues: true },
  );
}

/** Never queued by its submit, and never in a lane (so never dispatched). */
const UNQUEUED_CLAIM =
  '#status = :inProgress AND attribute_not_exists(outputLocation) AND attribute_not_exists(enqueuedAt)';

/**
 * (none) -> IN_PROGRESS, before anything is uploaded or invoked, so two submits of one id can
 * never both invoke. Returns the existing record when the id is taken.
 */
export async function claim(t: Table, job: Job): Promise<Job | undefined> {
  try {
    await t.client.send(
      new PutItemCommand({
        TableName: t.name,
        Item: claimItem(job),
        ConditionExpression: 'attribute_not_exists(inferenceId)',
      }),
    );
    return undefined;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    const existing = await readRecord(t, job.inferenceId);
    // Our own claim, written by an attempt whose answer was lost and then retried by the SDK:
    // the id is ours to go on with.
    if (existing?.claimToken !== undefined && existing.claimToken === job.claimToken) {
      return undefined;
    }
    // Taken: by an earlier submit or by a notification for a job queued elsewhere.
    return existing ?? job;
  }
}

/**
 * IN_PROGRESS (a claim never queued, its submit gone) -> IN_PROGRESS under `claim`: the new
 * claim replaces the dead one whole, so nothing of the old submit (its callbackUrl, checkedAt,
 * task token) carries over. Answers `taken`, or the record as it is when another write came
 * first: another submit's takeover, the old submit's markQueued, a notification, a release.
 */
export async function takeOver(
  t: Table,
  claimed: Job,
  staleToken: string,
): Promise<{ taken: true } | { taken: false; current?: Job }> {
  try {
    await t.client.send(
      new PutItemCommand({
        TableName: t.name,
        Item: claimItem(claimed),
        // Transition "claimed by the submit whose token was read, never queued" -> "claimed by
        // this submit", once: of two takeovers of one dead claim the second finds a token it
        // did not read and fails here, so only one goes on to invoke. The caller decided from
        // that claim's lease that its submit is gone (src/lib/domain/claims.ts).
        ConditionExpression: `${UNQUEUED_CLAIM} AND claimToken = :stale`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':inProgress': { S: 'IN_PROGRESS' },
          ':stale': { S: staleToken },
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { taken: true };
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    const old = itemOnConditionFailure(err);
    const current = old ? (unmarshall(old) as Job) : await readRecord(t, claimed.inferenceId);
    // Our own takeover, applied by an attempt whose answer was lost and then retried by the
    // SDK: the claim is ours.
    if (current?.claimToken !== undefined && current.claimToken === claimed.claimToken) {
      return { taken: true };
    }
    return { taken: false, current };
  }
}

/**
 * Undoes a claim whose job was never queued (upload or invoke failed), so no IN_PROGRESS record
 * is left for a job SageMaker does not know. Only an untouched claim is removed; answers
 * whether this call removed it.
 */
export async function release(t: Table, inferenceId: string, claimToken: string): Promise<boolean> {
  try {
    await t.client.send(
      new DeleteItemCommand({
        TableName: t.name,
        Key: recordKey(inferenceId),
        // Transition "claimed by this submit, never queued" -> (none).
        ConditionExpression: `${UNQUEUED_CLAIM} AND claimToken = :token`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':inProgress': { S: 'IN_PROGRESS' },
          ':token': { S: claimToken },
        },
      }),
    );
    return true;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return false;
  }
}
