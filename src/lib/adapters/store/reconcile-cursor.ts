import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { reconcileCursorKey } from './keys.ts';
import type { Table } from './table.ts';

/** Reconcile's progress: for each check time, the submittedAt up to which it was read. */
export async function readCursor(t: Table): Promise<Record<string, string>> {
  const res = await t.client.send(
    new GetItemCommand({ TableName: t.name, Key: reconcileCursorKey(), ConsistentRead: true }),
  );
  const done = res.Item?.done?.M ?? {};
  return Object.fromEntries(
    Object.entries(done).flatMap(([k, v]) => (v.S !== undefined ? [[k, v.S]] : [])),
  );
}

/** An UpdateItem that creates the item: the same call every role that finishes jobs has. */
export async function saveCursor(t: Table, done: Record<string, string>): Promise<void> {
  await t.client.send(
    new UpdateItemCommand({
      TableName: t.name,
      Key: reconcileCursorKey(),
      UpdateExpression: 'SET done = :d',
      ExpressionAttributeValues: {
        ':d': { M: Object.fromEntries(Object.entries(done).map(([k, v]) => [k, { S: v }])) },
      },
    }),
  );
}
