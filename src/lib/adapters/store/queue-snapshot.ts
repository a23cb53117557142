import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { QueueSnapshot } from '../../domain/admission.ts';
import { queueSnapshotKey } from './keys.ts';
import type { Table } from './table.ts';

/*
 * What the dispatcher saw on its last round for one endpoint (GET /queue): one item per
 * endpoint, `\0queue\0<endpointName>`, replaced whole each round (newest wins; rounds are safe
 * to run side by side, so neither condition nor merge).
 */

export async function readSnapshot(
  t: Table,
  endpointName: string,
): Promise<QueueSnapshot | undefined> {
  const res = await t.client.send(
    new GetItemCommand({ TableName: t.name, Key: queueSnapshotKey(endpointName) }),
  );
  const snapshot = res.Item?.snapshot?.M;
  return snapshot ? (unmarshall(snapshot) as QueueSnapshot) : undefined;
}

export async function saveSnapshot(t: Table, snapshot: QueueSnapshot): Promise<void> {
  await t.client.send(
    new PutItemCommand({
      TableName: t.name,
      Item: {
        ...queueSnapshotKey(snapshot.endpointName),
        snapshot: { M: marshall(snapshot, { removeUndefinedValues: true }) },
      },
    }),
  );
}
