import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as startJob } from '../../../src/handlers/startJob.ts';
import { lambdaContext } from '../../support/lambda.ts';

const ddb = mockClient(DynamoDBClient);
const call = (payload: unknown) =>
  (startJob as unknown as (e: unknown, c: unknown) => Promise<unknown>)(
    payload,
    lambdaContext('startJob'),
  );

beforeEach(() => ddb.reset());

describe('startJob handler', () => {
  it('throws a refused submit as its named error (a failed task), never an HTTP answer', async () => {
    await expect(call({ taskToken: 'x'.repeat(2049), body: '1' })).rejects.toMatchObject({
      name: 'BadRequest',
      message: 'taskToken must be at most 2048 characters',
    });
    await expect(call({ taskToken: 't' })).rejects.toMatchObject({ name: 'BadRequest' });
    expect(ddb.calls()).toHaveLength(0);
  });
});
