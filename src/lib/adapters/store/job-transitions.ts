import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { shardKey, type Job, type Outcome, type Transition } from '../../domain/jobs.ts';
import { recordKey } from './keys.ts';
import { Assignments, isConditionFailure, itemOnConditionFailure, type Table } from './table.ts';

/**
 * IN_PROGRESS (or no record yet) -> COMPLETED | FAILED, in one conditional write. A terminal
 * record never changes again: a duplicate or late notification fails the condition and answers
 * `applied: false`. Fields a submit would have written are only filled in when absent. Answers
 * the record too: ALL_NEW when it applied (what the outcome event is made of, so no GetItem
 * follows), ALL_OLD when its condition failed (whether the first delivery got as far as
 * announcing). Neither costs read units.
 */
export async function transition(
  t: Table,
  inferenceId: string,
  outcome: Outcome,
): Promise<Transition> {
  const { endpointName, inputLocation, inputContentType, receivedAt, expiresAt, ...terminal } =
    outcome;
  const update = new Assignments();
  for (const [k, v] of Object.entries(terminal)) update.set(k, v);
  update
    // The record moves from its IN_PROGRESS shard to the same shard of its terminal status.
    .set('shardKey', shardKey(outcome.status, inferenceId))
    .set('endpointName', endpointName, true)
    .set('inputLocation', inputLocation, true)
    .set('inputContentType', inputContentType, true)
    .set('submittedAt', receivedAt, true)
    .set('expiresAt', expiresAt, true);
  try {
    const res = await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: recordKey(inferenceId),
        UpdateExpression: String(update),
        // Transition IN_PROGRESS -> terminal, or create the terminal record when the
        // notification outran the submit (or the job was queued by another client).
        ConditionExpression: `attribute_not_exists(inferenceId) OR ${update.nameOf('status')} = :p`,
        ExpressionAttributeNames: update.names,
        ExpressionAttributeValues: { ...update.values, ':p': { S: 'IN_PROGRESS' } },
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
