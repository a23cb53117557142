import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { announcedKey } from './keys.ts';
import { Assignments, type Table } from './table.ts';

/**
 * Records that the outcome event was sent, in a marker item of its own: under 1 KiB, so one
 * write unit, where an attribute on the record would rewrite it whole (up to 65 units with a
 * 64 KiB result inline). Expires with the job.
 */
export async function markAnnounced(
  t: Table,
  inferenceId: string,
  at: string,
  expires?: number,
): Promise<void> {
  // An UpdateItem creating the marker, not a PutItem: the call the notification handlers'
  // roles already make on the table, so no role may now overwrite a record whole.
  const update = new Assignments().set('announcedAt', at).set('expiresAt', expires);
  await t.client.send(
    new UpdateItemCommand({
      TableName: t.name,
      Key: announcedKey(inferenceId),
      UpdateExpression: String(update),
      ExpressionAttributeNames: update.names,
      ExpressionAttributeValues: update.values,
    }),
  );
}

/** Whether the outcome event of a job was sent: its marker exists. */
export async function announced(t: Table, inferenceId: string): Promise<boolean> {
  const res = await t.client.send(
    new GetItemCommand({ TableName: t.name, Key: announcedKey(inferenceId), ConsistentRead: true }),
  );
  return res.Item !== undefined;
}
