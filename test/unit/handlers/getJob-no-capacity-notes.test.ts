import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { handler as getJob } from '../../../src/handlers/getJob.ts';
import { queuedAtZero } from '../../support/capacity.ts';
import { lambdaContext } from '../../support/lambda.ts';

/*
 * The deployed stack's getJob (CAPACITY_NOTES unset or 'false'): nothing in AWS writes a capacity
 * note, so it reads none, costs no call for one, and never answers `waitingForCapacity`.
 */

const ddb = mockClient(DynamoDBClient);
const event = JSON.parse(readFileSync('events/get.json', 'utf8'));
type Answer = { statusCode: number; body: string };

describe('getJob without capacity notes', () => {
  it('reads only the job, even for a young queued job whose endpoint a stale note puts at zero', async () => {
    expect(process.env.CAPACITY_NOTES).toBeUndefined();
    queuedAtZero(ddb);
    const res = (await (getJob as unknown as (e: unknown, c: unknown) => Promise<Answer>)(
      event,
      lambdaContext('getJob'),
    )) as Answer;
    expect(res.statusCode).toBe(200);
    const body = JSON.parse(res.body);
    expect(body.status).toBe('IN_PROGRESS');
    expect(body).not.toHaveProperty('waitingForCapacity');
    expect(
      ddb.commandCalls(GetItemCommand).map((c) => c.args[0].input.Key?.inferenceId?.S),
    ).toEqual(['sample-success-1']);
  });
});
