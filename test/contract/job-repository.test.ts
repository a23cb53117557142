import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { JobStore } from '../../src/lib/adapters/job-store.ts';
import { localClientOptions, startDynamo } from '../../src/local/emulators.ts';
import { FakeJobRepository } from '../support/fakes/job-repository.ts';
import { jobRepositoryContract } from './job-repository.contract.ts';

jobRepositoryContract('in-memory fake', async () => {
  const repo = new FakeJobRepository();
  return {
    repo,
    markerExpiresAt: async (id) => repo.markers.get(id)?.expiresAt,
    close: async () => {},
  };
});

jobRepositoryContract('DynamoDB adapter on dynalite', async () => {
  const table = 'contract-jobs';
  const ddb = await startDynamo({ table });
  const client = new DynamoDBClient(localClientOptions(ddb.url));
  return {
    repo: new JobStore(client, table),
    // The marker's own item (job-store.ts): its TTL attribute as DynamoDB holds it.
    async markerExpiresAt(id) {
      const res = await client.send(
        new GetItemCommand({
          TableName: table,
          Key: { inferenceId: { S: `\u0000announced\u0000${id}` } },
        }),
      );
      const n = res.Item?.expiresAt?.N;
      return n === undefined ? undefined : Number(n);
    },
    async close() {
      client.destroy();
      await ddb.close();
    },
  };
});
