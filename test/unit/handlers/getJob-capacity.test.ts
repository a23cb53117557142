import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as getJob } from '../../../src/handlers/getJob.ts';
import { queuedAtZero } from '../../support/capacity.ts';
import { lambdaContext } from '../../support/lambda.ts';

/*
 * getJob says why an unfinished job waits, from the endpoint's capacity note (issue 15), where
 * something writes the note (CAPACITY_NOTES, the sandbox); getJob-no-capacity-notes.test.ts has
 * the deployed stack's getJob, which reads none.
 */

// Before getJob's module reads the configuration at load.
vi.hoisted(() => {
  process.env.CAPACITY_NOTES = 'true';
});

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
    queuedAtZero(ddb);
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
