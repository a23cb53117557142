import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { handler as getJob } from '../../../src/handlers/getJob.ts';
import { lambdaContext } from '../../support/lambda.ts';

/* GET /jobs/{id}?wait=N through the handler: the parameter, the re-reads and the S3 check. */

const ddb = mockClient(DynamoDBClient);
const s3mock = mockClient(S3Client);
type Answer = { statusCode: number; body: string };

function get(query?: Record<string, string>): Promise<Answer> {
  const e = JSON.parse(readFileSync('events/get.json', 'utf8'));
  if (query) e.queryStringParameters = query;
  return (getJob as unknown as (e: unknown, c: unknown) => Promise<Answer>)(
    e,
    lambdaContext('getJob'),
  );
}

// GetItem answers `{ Item }` in attribute-value form, no Item for an unknown key:
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html
const item = (fields: Record<string, unknown>) => ({
  Item: marshall({ inferenceId: 'sample-success-1', ...fields }),
});

beforeEach(() => {
  ddb.reset();
  s3mock.reset();
});

describe('getJob with ?wait=', () => {
  it('refuses a wait outside 0..20 with a 400 {"message"}, before reading anything', async () => {
    for (const wait of ['21', '', 'abc', '2.5']) {
      const res = await get({ wait });
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body)).toEqual({
        message: 'wait must be a whole number of seconds from 0 to 20',
      });
    }
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(0);
  });

  it('answers the moment a re-read sees the job finished; re-reads are eventually consistent', async () => {
    ddb
      .on(GetItemCommand)
      .resolvesOnce(item({ status: 'IN_PROGRESS', submittedAt: new Date().toISOString() }))
      .resolves(item({ status: 'COMPLETED', result: '0.5' }));
    // A clock that moves only when the test moves it: one second of it is enough for the answer
    // (the first re-read is due at 250 ms), where a wait to the end would take 20.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    onTestFinished(() => void vi.useRealTimers());
    let res: Answer | undefined;
    const answer = get({ wait: '20' }).then((a) => (res = a));
    await vi.advanceTimersByTimeAsync(1000);
    expect(res).toBeDefined();
    await answer;
    expect(JSON.parse(res!.body)).toMatchObject({ status: 'COMPLETED', result: '0.5' });
    const reads = ddb.commandCalls(GetItemCommand).map((c) => c.args[0].input.ConsistentRead);
    expect(reads).toEqual([true, false]);
  });

  it('with wait=0 or none, reads once as before', async () => {
    ddb.on(GetItemCommand).resolves(item({ status: 'IN_PROGRESS' }));
    expect(JSON.parse((await get({ wait: '0' })).body).status).toBe('IN_PROGRESS');
    expect(JSON.parse((await get()).body).status).toBe('IN_PROGRESS');
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(2);
  });

  it('looks in S3 for a stale job no more often than without wait (once per request)', async () => {
    const stale = item({
      status: 'IN_PROGRESS',
      submittedAt: new Date(Date.now() - 3_600_000).toISOString(),
      outputLocation: 's3://async-jobs-local-output/outputs/o.out',
      failureLocation: 's3://async-jobs-local-output/failures/o.out',
    });
    ddb.on(GetItemCommand).resolves(stale);
    ddb.on(UpdateItemCommand).resolves({});
    // GetObject of a missing key, to a caller that may list the bucket: 404 NoSuchKey
    // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
    s3mock.onAnyCommand().rejects(
      new NoSuchKey({
        message: 'The specified key does not exist.',
        $metadata: { httpStatusCode: 404 },
      }),
    );
    expect((await get()).statusCode).toBe(200);
    const plain = s3mock.calls().length;
    expect(plain).toBeGreaterThan(0);
    s3mock.resetHistory();
    ddb.resetHistory();
    // The whole second of the wait, on a clock the test moves.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    onTestFinished(() => void vi.useRealTimers());
    const answer = get({ wait: '1' });
    await vi.advanceTimersByTimeAsync(1000);
    const res = await answer;
    expect(res.statusCode).toBe(200);
    expect(s3mock.calls().length).toBe(plain);
    // The first (strong) read, then at most the schedule's re-reads within 1 s: 250, 750, 1000.
    expect(ddb.commandCalls(GetItemCommand).length - 1).toBeLessThanOrEqual(1 + 3);
  });
});
