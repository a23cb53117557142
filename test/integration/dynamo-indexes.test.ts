import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listenLocal } from '../../src/local/listen.ts';
import { localClientOptions, startDynamo } from '../../src/local/emulators.ts';

/*
 * A sandbox state folder (`.sandbox/state/dynamodb`) kept from before queue control had its index:
 * the restored table gains `jobs-waiting` and keeps its items (dynalite cannot add an index to a
 * table, so the emulator makes the table again).
 */

const require = createRequire(import.meta.url);
const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('the local DynamoDB restored from a state folder', () => {
  it('adds an index the folder predates, keeping the items and the older index', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'async-jobs-ddb-'));
    dirs.push(dir);
    const table = 'old-jobs';
    // The table as the sandbox created it before: one index.
    const dynalite = require('dynalite') as (o: Record<string, unknown>) => Server;
    const old = dynalite({ createTableMs: 0, path: dir });
    const port = await listenLocal(old, 0);
    const oldClient = new DynamoDBClient(localClientOptions(`http://127.0.0.1:${port}`));
    await oldClient.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: ['inferenceId', 'shardKey', 'submittedAt'].map((AttributeName) => ({
          AttributeName,
          AttributeType: 'S' as const,
        })),
        KeySchema: [{ AttributeName: 'inferenceId', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'jobs-by-status',
            KeySchema: [
              { AttributeName: 'shardKey', KeyType: 'HASH' },
              { AttributeName: 'submittedAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['owner'] },
          },
        ],
      }),
    );
    const item = {
      inferenceId: { S: 'kept' },
      status: { S: 'COMPLETED' },
      shardKey: { S: 'COMPLETED#07' },
      submittedAt: { S: '2026-11-24T00:00:00.000Z' },
    };
    // The table turns ACTIVE on a timer: retried until the put is taken.
    for (let i = 0; ; i++) {
      try {
        await oldClient.send(new PutItemCommand({ TableName: table, Item: item }));
        break;
      } catch (err) {
        if (i >= 200) throw err;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    oldClient.destroy();
    await new Promise<void>((resolve) => old.close(() => resolve()));

    const ddb = await startDynamo({ table, path: dir });
    const client = new DynamoDBClient(localClientOptions(ddb.url));
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
      expect(Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName).sort()).toEqual([
        'jobs-by-status',
        'jobs-waiting',
        'jobs-waiting-by-tenant',
      ]);
      const got = await client.send(
        new GetItemCommand({ TableName: table, Key: { inferenceId: { S: 'kept' } } }),
      );
      expect(got.Item).toEqual(item);
      const listed = await client.send(
        new QueryCommand({
          TableName: table,
          IndexName: 'jobs-by-status',
          KeyConditionExpression: 'shardKey = :k',
          ExpressionAttributeValues: { ':k': { S: 'COMPLETED#07' } },
        }),
      );
      expect(listed.Items?.map((i) => i.inferenceId?.S)).toEqual(['kept']);
    } finally {
      client.destroy();
      await ddb.close();
    }
  });
});
