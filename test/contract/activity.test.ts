import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { activityLog } from '../../src/lib/adapters/store/activity.ts';
import { activityKey } from '../../src/lib/adapters/store/keys.ts';
import { localClientOptions, startDynamo } from '../../src/local/emulators.ts';
import { FakeActivityLog } from '../support/fakes/activity.ts';
import { activityContract } from './activity.contract.ts';

activityContract('in-memory fake', async () => ({
  log: new FakeActivityLog(),
  expiresAt: async () => undefined,
  close: async () => {},
}));

activityContract('DynamoDB adapter on dynalite', async () => {
  const table = 'contract-activity';
  const ddb = await startDynamo({ table });
  const client = new DynamoDBClient(localClientOptions(ddb.url));
  return {
    log: activityLog({ client, name: table }),
    async expiresAt(endpointName, minute, shard) {
      const res = await client.send(
        new GetItemCommand({ TableName: table, Key: activityKey(endpointName, minute, shard) }),
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
