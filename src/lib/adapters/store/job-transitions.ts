import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { shardKey, type Job, type Outcome, type Transition } from '../../domain/jobs.ts';
import { recordKey } from './keys.ts';
import { Assignments, isConditionFailure, itemOnConditionFailure, type Table } from './table.ts';

/** What a CANCELLED job never keeps, whatever its notification carried: its result is not kept. */
const RESULT_FIELDS = new Set(['result', 'resultEncoding', 'resultBytes', 'outputContentType']);

/**
 * IN_PROGRESS (or no record yet) -> a terminal status, in one conditional write. A terminal
 * record never changes again: a duplicate or late notification fails the condition and answers
 * `applied: false`. Fields a submit would have written are only filled in when absent. Answers
 * the record too: ALL_NEW when it applied (what the outcome event is made of, so no GetItem
 * follows), ALL_OLD when its condition failed (whether the first delivery got as far as
 * announcing). Neither costs read units.
 *
 * Queue control's endings (`outcome.from`) decide their races in the same condition: `waiting`
 * applies only to a job still in its lane and takes it out (REMOVE waitKey, tenantWaitKey: both
 * index entries go in this write, so a dispatcher's `dispatch` of the same job fails);
 * `cancelRequested` only to
 * a job marked so. Without `from` (a notification's or reconcile's ending) the write applies only
 * to a job neither waiting nor cancel-requested: a cancel-requested job's notification is refused
 * and ended CANCELLED instead (endJob), so a late COMPLETED never overtakes the cancel.
 */
export async function transition(
  t: Table,
  inferenceId: string,
  outcome: Outcome,
): Promise<Transition> {
  const {
    endpointName,
    inputLocation,
    inputContentType,
    receivedAt,
    expiresAt,
    from,
    ...terminal
  } = outcome;
  const cancelled = outcome.status === 'CANCELLED';
  const update = new Assignments();
  for (const [k, v] of Object.entries(terminal)) {
    if (!(cancelled && RESULT_FIELDS.has(k))) update.set(k, v);
  }
  update
    // The record moves from its IN_PROGRESS shard to the same shard of its terminal status.
    .set('shardKey', shardKey(outcome.status, inferenceId))
    .set('endpointName', endpointName, true)
    .set('inputLocation', inputLocation, true)
    .set('inputContentType', inputContentType, true)
    .set('submittedAt', receivedAt, true)
    .set('expiresAt', expiresAt, true);
  const status = update.nameOf('status');
  const condition =
    from === 'waiting'
      ? // Transition waiting (in its lane, never handed to SageMaker) -> CANCELLED | EXPIRED.
        `${status} = :p AND attribute_exists(waitKey)`
      : from === 'cancelRequested'
        ? // Transition handed to SageMaker and cancel-requested -> CANCELLED.
          `${status} = :p AND cancelRequested = :true`
        : // Transition IN_PROGRESS -> terminal, or create the terminal record when the
          // notification outran the submit (or the job was queued by another client); never
          // for a job in its lane or one whose cancel was asked for.
          `(attribute_not_exists(inferenceId) OR ${status} = :p) AND attribute_not_exists(waitKey) AND attribute_not_exists(cancelRequested)`;
  try {
    const res = await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: recordKey(inferenceId),
        UpdateExpression: `${String(update)}${from === 'waiting' ? ' REMOVE waitKey, tenantWaitKey' : ''}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: update.names,
        ExpressionAttributeValues: {
          ...update.values,
          ':p': { S: 'IN_PROGRESS' },
          ...(from === 'cancelRequested' ? { ':true': { BOOL: true } } : {}),
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return {
      applied: true,
      job: res.Attributes ? (unmarshall(res.Attributes) as Job) : undefined,
    };
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    const old = itemOnConditionFailure(err);
    return { applied: false, job: old ? (unmarshall(old) as Job) : undefined };
  }
}
