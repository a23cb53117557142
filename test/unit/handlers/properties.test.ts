import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { handler as getJob } from '../../../src/handlers/getJob.ts';
import { lambdaContext } from '../../support/lambda.ts';

/*
 * getJob checks the id itself, before it reads the process's JobStore (the adapter the contract
 * suite holds on dynalite): whatever the id, the answer is 400 or, for an id it may look up and
 * there is no record of, 404; never a 5xx. DynamoDB answers GetItem of an unknown key with no
 * Item (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html).
 */

const ddb = mockClient(DynamoDBClient);
type Answer = { statusCode: number; body: string };
const call = (e: unknown) =>
  (getJob as unknown as (e: unknown, c: unknown) => Promise<Answer>)(e, lambdaContext('prop'));

describe('getJob input validation (property-based)', () => {
  it('never answers a 5xx for any id', async () => {
    ddb.reset();
    ddb.on(GetItemCommand).resolves({});
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 100 }), async (id) => {
        const res = await call({
          version: '2.0',
          headers: {},
          pathParameters: { inferenceId: id },
        });
        expect([400, 404]).toContain(res.statusCode);
      }),
      { numRuns: 300 },
    );
  });
});
