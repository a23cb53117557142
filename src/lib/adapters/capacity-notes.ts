import {
  ConditionalCheckFailedException,
  GetItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { CapacityNote } from '../domain/capacity.ts';
import { awsErrorName } from '../domain/errors.ts';

/*
 * Capacity notes live in the jobs table, one item per endpoint under a key no inferenceId can
 * take (ids are printable ASCII; this one starts with NUL), like reconcile's cursor. The item has
 * no shardKey, so it never enters the jobs index: listings and reconcile never see it. getJob's
 * role already has GetItem on the table; nothing new is granted.
 */

const NOTE_PREFIX = '\u0000capacity#';

export class CapacityNotes {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async get(endpointName: string): Promise<CapacityNote | undefined> {
    const res = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { inferenceId: { S: NOTE_PREFIX + endpointName } },
      }),
    );
    const item = res.Item;
    if (!item?.instances?.N || !item.observedAt?.S) return undefined;
    return {
      endpointName,
      instances: Number(item.instances.N),
      ...(item.backlog?.N !== undefined ? { backlog: Number(item.backlog.N) } : {}),
      observedAt: item.observedAt.S,
    };
  }

  /** Writes the note unless a newer one is already there (writers may race). */
  async save(note: CapacityNote): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { inferenceId: { S: NOTE_PREFIX + note.endpointName } },
          UpdateExpression: 'SET instances = :i, backlog = :b, observedAt = :at',
          ConditionExpression: 'attribute_not_exists(observedAt) OR observedAt <= :at',
          ExpressionAttributeValues: {
            ':i': { N: String(note.instances) },
            ':b': { N: String(note.backlog ?? 0) },
            ':at': { S: note.observedAt },
          },
        }),
      );
    } catch (err) {
      if (
        err instanceof ConditionalCheckFailedException ||
        awsErrorName(err) === 'ConditionalCheckFailedException'
      ) {
        return;
      }
      throw err;
    }
  }
}
