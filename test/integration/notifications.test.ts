import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetClients } from '../../src/lib/adapters/clients.ts';
import { resetConfig } from '../../src/lib/config.ts';
import { EMULATOR_CREDENTIALS } from '../../src/local/emulators.ts';
import { startLocalSqs, type LocalSqs } from '../../src/local/sqs.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import { lambdaContext } from '../support/lambda.ts';
import {
  ERROR_TOPIC,
  SUCCESS_TOPIC,
  completed,
  snsEvent,
  sqsEvent,
} from '../support/notifications.ts';

/*
 * The two kinds of record that must never be retried, through the real handlers with the real SDK
 * clients against s3rver, dynalite and the local SQS: SageMaker's test notification (acknowledged,
 * nothing written) and a record that can never succeed (sent to the dead-letter queue once, with
 * its reason, the invocation not failed).
 */

type Handler = (e: unknown, c: unknown) => Promise<unknown>;
let b: Backends;
let sqs: LocalSqs;
let onSuccess: Handler;
let onError: Handler;
const event = (name: string) => JSON.parse(readFileSync(`events/${name}`, 'utf8'));
const DLQ = 'async-jobs-local-refused';

async function tableItems(): Promise<number> {
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
    endpoint: b.dynamoUrl,
  });
  const res = await client.send(new ScanCommand({ TableName: process.env.JOBS_TABLE }));
  client.destroy();
  return res.Count ?? 0;
}

beforeAll(async () => {
  b = await startBackends();
  sqs = await startLocalSqs({ queues: [DLQ] });
  process.env.AWS_ENDPOINT_URL_SQS = sqs.url;
  process.env.DEAD_LETTER_QUEUE_URL = sqs.queueUrl(DLQ);
  resetConfig();
  resetClients();
  onSuccess = (await import('../../src/handlers/onSuccess.ts')).handler as never;
  onError = (await import('../../src/handlers/onError.ts')).handler as never;
});
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_SQS;
  delete process.env.DEAD_LETTER_QUEUE_URL;
  await sqs?.close();
  await b?.close();
});

describe('the test notification, end to end through the handlers', () => {
  it('is acknowledged on both topics over SNS and SQS; nothing is written or dead-lettered', async () => {
    await expect(
      onSuccess(event('test-notification.json'), lambdaContext('onSuccess')),
    ).resolves.toBeUndefined();
    const sns = event('test-notification.json');
    sns.Records[0].Sns.TopicArn = ERROR_TOPIC;
    await expect(onError(sns, lambdaContext('onError'))).resolves.toBeUndefined();
    await expect(
      onError(event('test-notification-sqs.json'), lambdaContext('onError')),
    ).resolves.toEqual({ batchItemFailures: [] });
    expect(await tableItems()).toBe(0);
    expect(sqs.messages).toHaveLength(0);
  });
});

describe('a refused record', () => {
  it('lands in the dead-letter queue once, with its reason; the invocation succeeds', async () => {
    const forged = completed('forged-1', { bucket: 'someone-elses-bucket' });
    await expect(
      onSuccess(snsEvent({ topic: SUCCESS_TOPIC, message: forged }), lambdaContext('onSuccess')),
    ).resolves.toBeUndefined();
    const res = await onSuccess(
      sqsEvent({ id: 'garbage-1', message: 'not json at all' }),
      lambdaContext('onSuccess'),
    );
    expect(res).toEqual({ batchItemFailures: [] });
    expect(sqs.messages.map((m) => [m.queueName, m.attributes.refusedReason])).toEqual([
      [DLQ, 'outputLocation is outside the configured OUTPUT_BUCKETS'],
      [DLQ, 'message is not JSON'],
    ]);
    expect(sqs.messages[0]!.attributes.sourceTopicArn).toBe(SUCCESS_TOPIC);
    expect(JSON.parse(sqs.messages[0]!.body)).toEqual(forged);
    expect(await b.store.get('forged-1')).toBeUndefined();
  });

  it('a missing output object is not refused: it is retried', async () => {
    const before = sqs.messages.length;
    const res = await onSuccess(
      sqsEvent({ id: 'late-1', message: completed('late-1') }),
      lambdaContext('onSuccess'),
    );
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'late-1' }] });
    expect(sqs.messages).toHaveLength(before);
  });
});
