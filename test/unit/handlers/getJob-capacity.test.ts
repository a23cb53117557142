import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as getJob } from '../../../src/handlers/getJob.ts';
import { lambdaContext } from '../../support/lambda.ts';

/* getJob says why an unfinished job waits, from the endpoint's capacity note (issue 15). */

const ddb = mockClient(DynamoDBClient);
const s3mock = mockClient(S3Client);
const event = JSON.parse(readFileSync('events/get.json', 'utf8'));
type Answer = { statusCode: number; body: string };
const call = async () =>
  (await (getJob as unknown as (e: unknown, c: unknown) => Promise<Answer>)(
    event,
    lambdaContext('getJob'),
  )) as Answer;

beforeEach(() => {
  ddb.reset();
  s3mock.reset();
});

describe('getJob and capacity', () => {
  it('answers waitingForCapacity for a young queued job while its endpoint is at zero', async () => {
    const now = Date.now();
    // GetItem answers Item when the key exists, no Item otherwise
    // (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html).
    ddb.on(GetItemCommand, { Key: { inferenceId: { S: 'sample-success-1' } } }).resolves({
      Item: marshall({
        inferenceId: 'sample-success-1',
        status: 'IN_PROGRESS',
        endpointName: 'demo-endpoint',
        outputLocation: 's3://async-jobs-local-output/outputs/o.out',
        submittedAt: new Date(now - 1_000).toISOString(),
        expectedBy: new Date(now + 3_600_000).toISOString(),
      }),
    });
    ddb
      .on(GetItemCommand, { Key: { inferenceId: { S: '\u0000capacity#demo-endpoint' } } })
      .resolves({
        Item: marshall({
          inferenceId: '\u0000capacity#demo-endpoint',
          instances: 0,
          backlog: 1,
          observedAt: new Date(now - 2_000).toISOString(),
        }),
      });
    const res = await call();
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({
      status: 'IN_PROGRESS',
      waitingForCapacity: true,
    });
    expect(s3mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    // A finished job costs no note read.
    ddb.reset();
    ddb.on(GetItemCommand).resolves({
      Item: marshall({ inferenceId: 'sample-success-1', status: 'COMPLETED' }),
    });
    expect(JSON.parse((await call()).body)).not.toHaveProperty('waitingForCapacity');
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(1);
  });
});
