import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardKey } from '../../src/lib/domain/jobs.ts';
import { JobStore } from '../../src/lib/adapters/job-store.ts';
import { EMULATOR_CREDENTIALS, startDynamo, type Emulator } from '../../src/local/emulators.ts';
import { backfillShardKeys } from '../../src/ops/backfill.ts';

/*
 * Migration step 2 (docs/store.md) against dynalite: records from before the sharded index get
 * the key of their status, and then answer in the listing and in reconcile's shards.
 */

const TABLE = 'backfill-jobs';
let ddb: Emulator;
let client: DynamoDBClient;

beforeAll(async () => {
  ddb = await startDynamo({ table: TABLE });
  client = new DynamoDBClient({
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
    endpoint: ddb.url,
  });
});
afterAll(async () => {
  client?.destroy();
  await ddb?.close();
});

const put = (item: Record<string, unknown>) =>
  client.send(new PutItemCommand({ TableName: TABLE, Item: marshall(item) }));

describe('backfillShardKeys', () => {
  it('keys every old record by its status, once, and leaves the rest alone', async () => {
    const at = '2026-11-24T00:00:00.000Z';
    await put({
      inferenceId: 'old-pending',
      status: 'IN_PROGRESS',
      pending: 'IN_PROGRESS',
      submittedAt: at,
    });
    await put({ inferenceId: 'old-done', status: 'COMPLETED', submittedAt: at, announcedAt: at });
    await put({
      inferenceId: 'new-done',
      status: 'COMPLETED',
      submittedAt: at,
      shardKey: shardKey('COMPLETED', 'new-done'),
    });
    await put({ inferenceId: '\u0000announced\u0000new-done', announcedAt: at });

    const store = new JobStore(client, TABLE);
    expect((await store.listByStatus('COMPLETED', 10)).jobs.map((j) => j.inferenceId)).toEqual([
      'new-done',
    ]);

    expect(await backfillShardKeys(client, TABLE)).toMatchObject({ updated: 2 });
    expect(await backfillShardKeys(client, TABLE)).toMatchObject({ updated: 0 });

    const listed = (await store.listByStatus('COMPLETED', 10)).jobs.map((j) => j.inferenceId);
    expect(listed.sort()).toEqual(['new-done', 'old-done']);
    const pending: string[] = [];
    for await (const e of store.entries(shardKey('IN_PROGRESS', 'old-pending'))) {
      pending.push(e.inferenceId);
    }
    expect(pending).toEqual(['old-pending']);
    // The old record's announcement still counts: no second event after the migration.
    expect(await store.announced('old-done', await store.get('old-done'))).toBe(true);
  });
});
