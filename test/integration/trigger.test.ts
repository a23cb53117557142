import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { SQSBatchResponse } from 'aws-lambda';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSageMaker } from '../../src/local/sagemaker.ts';
import { objectCreatedEvent } from '../../src/local/trigger.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import { lambdaContext } from '../support/lambda.ts';
import { INPUT_BUCKET } from '../support/notifications.ts';
import { startTestRuntime } from '../support/runtime.ts';

/*
 * onInputObject with the real SDK clients against s3rver, dynalite and the local SageMaker runtime:
 * the SQS records the trigger queue delivers (EventBridge "Object Created" bodies), repeated as S3
 * may repeat them, with the endpoint throttling.
 */

type Handler = (e: unknown, c: unknown) => Promise<SQSBatchResponse>;
let b: Backends;
let runtime: LocalSageMaker;
let onInputObject: Handler;
let throttle = false;

beforeAll(async () => {
  b = await startBackends();
  runtime = await startTestRuntime(b.s3, {
    region: 'us-east-1',
    endpoints: ['demo-endpoint'],
    includeResponseBody: false,
    concurrency: 2,
    publish: async () => undefined,
    faults: { throttle: () => throttle },
  });
  process.env.TRIGGER_PREFIX = 'drop/';
  onInputObject = (await import('../../src/handlers/onInputObject.ts')).handler as never;
});
afterAll(async () => {
  delete process.env.TRIGGER_PREFIX;
  await runtime?.close();
  await b?.close();
});

const record = (messageId: string, key: string, size: number) => ({
  messageId,
  receiptHandle: messageId,
  body: JSON.stringify(objectCreatedEvent(INPUT_BUCKET, key, size)),
  attributes: {},
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:trigger',
  awsRegion: 'us-east-1',
});

async function drop(key: string, body: string, contentType: string) {
  await b.s3.send(
    new PutObjectCommand({
      Bucket: INPUT_BUCKET,
      Key: key,
      Body: Buffer.from(body),
      ContentType: contentType,
    }),
  );
}

describe('onInputObject', () => {
  it('takes the sample events of events/ (serverless invoke local -f onInputObject)', async () => {
    const sample = (name: string) => JSON.parse(readFileSync(`events/${name}`, 'utf8')) as unknown;
    await drop('drop/sample.csv', '7,8\n', 'text/csv');
    const before = runtime.stats().accepted;
    const test = await onInputObject(sample('s3-test-event.json'), lambdaContext('onInputObject'));
    expect(test.batchItemFailures).toEqual([]);
    expect(runtime.stats().accepted).toBe(before);
    const created = await onInputObject(
      sample('s3-object-created.json'),
      lambdaContext('onInputObject'),
    );
    expect(created.batchItemFailures).toEqual([]);
    expect(runtime.stats().accepted).toBe(before + 1);
  });

  it('starts one job per object however often S3 repeats its event, and reports only throttled records', async () => {
    await drop('drop/a.csv', '1,2\n', 'text/csv');
    await drop('drop/b.csv', '3,4\n', 'text/csv');
    await runtime.idle();
    const start = runtime.stats();
    const first = await onInputObject(
      { Records: [record('m1', 'drop/a.csv', 4), record('m2', 'drop/a.csv', 4)] },
      lambdaContext('onInputObject'),
    );
    expect(first.batchItemFailures).toEqual([]);
    expect(runtime.stats().accepted).toBe(start.accepted + 1);

    throttle = true;
    const throttled = await onInputObject(
      { Records: [record('m3', 'drop/a.csv', 4), record('m4', 'drop/b.csv', 4)] },
      lambdaContext('onInputObject'),
    );
    throttle = false;
    // a.csv's job exists (no call to SageMaker); b.csv's was throttled: only it comes back.
    expect(throttled.batchItemFailures).toEqual([{ itemIdentifier: 'm4' }]);
    const again = await onInputObject(
      { Records: [record('m4', 'drop/b.csv', 4)] },
      lambdaContext('onInputObject'),
    );
    expect(again.batchItemFailures).toEqual([]);
    expect(runtime.stats().accepted).toBe(start.accepted + 2);
    await runtime.idle();
    expect(runtime.stats().completed).toBe(start.completed + 2);
  });

  it('acknowledges what can never be a job: an empty object, one outside the prefix, a gone one', async () => {
    await drop('drop/empty.csv', '', 'text/csv');
    const before = runtime.stats().accepted;
    const res = await onInputObject(
      {
        Records: [
          record('e1', 'drop/empty.csv', 0),
          record('e2', 'elsewhere/x.csv', 4),
          record('e3', 'drop/never-written.csv', 4),
          { ...record('e4', 'drop/x', 1), body: 'not json' },
        ],
      },
      lambdaContext('onInputObject'),
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(runtime.stats().accepted).toBe(before);
  });
});
