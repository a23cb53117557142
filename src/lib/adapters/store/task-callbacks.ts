import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { TaskCallback } from '../../domain/task-callback.ts';
import { recordKey } from './keys.ts';
import { isConditionFailure, type Table } from './table.ts';

/**
 * Records how a job's Step Functions callback ended and drops the token (a used or refused
 * token is of no further use, and a bearer capability is kept no longer than needed). Only
 * from PENDING: a second delivery of the outcome finds it settled and changes nothing.
 * Answers whether this call settled it.
 */
export async function settleCallback(
  t: Table,
  inferenceId: string,
  callback: TaskCallback,
): Promise<boolean> {
  try {
    await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: recordKey(inferenceId),
        UpdateExpression: 'SET taskCallback = :c REMOVE taskToken',
        // Transition of the callback PENDING -> SENT | EXPIRED | INVALID.
        ConditionExpression: 'taskCallback.#s = :pending',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':c': { M: marshall(callback, { removeUndefinedValues: true }) },
          ':pending': { S: 'PENDING' },
        },
      }),
    );
    return true;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return false;
  }
}
