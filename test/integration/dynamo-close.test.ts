import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { localClientOptions, startDynamo } from '../../src/local/emulators.ts';

/*
 * The sandbox's stop closes dynalite while calls may still be in flight (Ctrl-C with work under
 * way). dynalite closes its LevelDB once its HTTP server has closed: had the connections been cut
 * at once, a query it had already taken in ran on the closed database and threw from a timer,
 * killing the process with LEVEL_DATABASE_NOT_OPEN. A close lets those calls end first.
 */

describe('the local DynamoDB closing under load', () => {
  it('ends the calls in flight (answered or refused), and the process lives on', async () => {
    const table = 'close-under-load';
    const ddb = await startDynamo({ table });
    const client = new DynamoDBClient({ ...localClientOptions(ddb.url), maxAttempts: 1 });
    const query = () =>
      client
        .send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'inferenceId = :id',
            ExpressionAttributeValues: { ':id': { S: 'x' } },
          }),
        )
        .then(
          () => 'answered',
          () => 'refused',
        );
    // Queries keep coming until the close: some are taken in just before it.
    let open = true;
    const calls: Promise<string>[] = [];
    const feed = (async () => {
      while (open) {
        calls.push(query());
        await new Promise((r) => setImmediate(r));
      }
    })();
    await calls[0];
    await Promise.race(calls.slice(1, 50));
    const closed = ddb.close();
    open = false;
    await feed;
    await closed;
    const outcomes = await Promise.all(calls);
    expect(outcomes).toContain('answered');
    client.destroy();
  }, 60_000);
});
