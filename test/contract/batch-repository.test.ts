import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { BatchStore } from '../../src/lib/adapters/batch-store.ts';
import { localClientOptions, startDynamo } from '../../src/local/emulators.ts';
import { FakeBatchRepository } from '../support/fakes/batch-repository.ts';
import { batchRepositoryContract } from './batch-repository.contract.ts';

batchRepositoryContract('in-memory fake', async () => {
  const repo = new FakeBatchRepository();
  return {
    repo,
    blockExpiresAt: async (batchId, block) => repo.counters.get(`${batchId}#${block}`)?.expiresAt,
    idsExpiresAt: async (batchId, block) => repo.lineIds.get(`${batchId}#${block}`)?.expiresAt,
    close: async () => {},
  };
});

batchRepositoryContract('DynamoDB adapter on dynalite', async () => {
  const table = 'contract-batches';
  const ddb = await startDynamo({ table });
  const client = new DynamoDBClient(localClientOptions(ddb.url));
  // The block items' keys (src/lib/adapters/store/keys.ts): their TTL attribute as stored.
  const expiresAt = async (key: string) => {
    const res = await client.send(
      new GetItemCommand({ TableName: table, Key: { inferenceId: { S: key } } }),
    );
    const n = res.Item?.expiresAt?.N;
    return n === undefined ? undefined : Number(n);
  };
  return {
    repo: new BatchStore(client, table),
    blockExpiresAt: (batchId, block) => expiresAt(`\u0000batch\u0000${batchId}#${block}`),
    idsExpiresAt: (batchId, block) => expiresAt(`\u0000batch\u0000${batchId}#${block}#ids`),
    async close() {
      client.destroy();
      await ddb.close();
    },
  };
});
