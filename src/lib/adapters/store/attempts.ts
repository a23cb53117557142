import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { recordKey } from './keys.ts';
import { isConditionFailure, type Table } from './table.ts';

/**
 * A retry takes the next attempt number of its original: `attempts` from `from` to `to`, and
 * `retriedBy` to the new attempt's id, only if no other retry took it first (an original never
 * retried has no `attempts`: it is its own only attempt). False when another retry won. Neither
 * field is projected into the index, so this write never touches it.
 */
export async function takeAttempt(
  t: Table,
  baseId: string,
  from: number,
  to: number,
  retriedBy: string,
): Promise<boolean> {
  try {
    await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: recordKey(baseId),
        UpdateExpression: 'SET attempts = :to, retriedBy = :by',
        // Transition "latest attempt is `from`" -> "latest attempt is `to`", once.
        ConditionExpression:
          from === 1
            ? 'attribute_exists(inferenceId) AND (attribute_not_exists(attempts) OR attempts = :from)'
            : 'attempts = :from',
        ExpressionAttributeValues: {
          ':from': { N: String(from) },
          ':to': { N: String(to) },
          ':by': { S: retriedBy },
        },
      }),
    );
    return true;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return false;
  }
}
