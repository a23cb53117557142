import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/lib/config.ts';
import type { Outcome } from '../../../../src/lib/domain/jobs.ts';
import type { JobStore } from '../../../../src/lib/adapters/job-store.ts';
import { encodeResult } from '../../../../src/lib/domain/encoding.ts';
import { outcomeOf } from '../../../../src/lib/app/results.ts';
import { processEvent } from '../../../../src/lib/wiring/results.ts';
import { parseNotification } from '../../../../src/lib/domain/notification.ts';
import { endingPorts } from '../../../../src/lib/wiring/endings.ts';
import {
  ERROR_TOPIC,
  SUCCESS_TOPIC,
  completed,
  failed,
  snsEvent,
  sqsEvent,
} from '../../../support/notifications.ts';

const s3mock = mockClient(S3Client);
const sqsMock = mockClient(SQSClient);
const client = new S3Client({ region: 'us-east-1' });
const config = { ...loadConfig(), inlineResultMaxBytes: 16 };
const finished: { id: string; outcome: Outcome }[] = [];
const store = {
  transition: async (id: string, outcome: Outcome) => {
    finished.push({ id, outcome });
    return { applied: true };
  },
} as unknown as JobStore;
const now = () => new Date('2026-11-24T00:00:00Z');
const deps = endingPorts({ config, store, s3: () => client, now });
const parse = (m: unknown) => parseNotification({ id: '1', body: JSON.stringify(m) }, undefined);
const object = (text: string | Buffer, type?: string) => ({
  Body: Readable.from([Buffer.from(text)]) as never,
  ContentLength: Buffer.byteLength(text),
  ContentType: type,
});

beforeEach(() => {
  s3mock.reset();
  sqsMock.reset();
  finished.length = 0;
});

describe('encodeResult', () => {
  it.each([
    ['text/csv', 'utf8'],
    ['application/json', 'utf8'],
    ['application/vnd.result+json; charset=utf-8', 'utf8'],
    ['text/plain; charset=utf-8', 'utf8'],
    ['application/octet-stream', 'base64'],
    ['image/png', 'base64'],
    [undefined, 'base64'],
  ])('%s is stored as %s', (type, encoding) => {
    expect(encodeResult(Buffer.from('0.5\n'), type).resultEncoding).toBe(encoding);
  });

  it('keeps invalid UTF-8 declared as text byte-exact, as base64', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x41]);
    const r = encodeResult(bytes, 'text/plain');
    expect(r.resultEncoding).toBe('base64');
    expect(Buffer.from(r.result, 'base64')).toEqual(bytes);
  });
});

describe('outcomeOf', () => {
  it('uses responseBody and never calls S3', async () => {
    const o = await outcomeOf(parse(completed('a', { responseBody: Buffer.from('[1,2]') })), deps);
    expect(o).toMatchObject({
      status: 'COMPLETED',
      result: '[1,2]',
      resultEncoding: 'utf8',
      resultBytes: 5,
    });
    expect(s3mock.calls()).toHaveLength(0);
  });

  it('stores a large responseBody by location only, still without S3', async () => {
    const o = await outcomeOf(
      parse(completed('a', { responseBody: Buffer.alloc(17, 0x61) })),
      deps,
    );
    expect(o.result).toBeUndefined();
    expect(o.resultBytes).toBe(17);
    expect(o.outputLocation).toBe('s3://async-jobs-local-output/outputs/a.out');
    expect(s3mock.calls()).toHaveLength(0);
  });

  it('reads a small output from S3 in one GetObject', async () => {
    s3mock.on(GetObjectCommand).resolves(object('{"s":1}', 'application/json'));
    const o = await outcomeOf(parse(completed('a')), deps);
    expect(o).toMatchObject({ result: '{"s":1}', resultEncoding: 'utf8', resultBytes: 7 });
    expect(s3mock.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  it('stores an output above the inline limit by location with its size', async () => {
    s3mock.on(GetObjectCommand).resolves(object('x'.repeat(40), 'text/plain'));
    const o = await outcomeOf(parse(completed('a')), deps);
    expect(o.result).toBeUndefined();
    expect(o.resultBytes).toBe(40);
  });

  it('refuses a forged output bucket before any S3 call', async () => {
    await expect(
      outcomeOf(parse(completed('a', { bucket: 'attacker-bucket' })), deps),
    ).rejects.toThrow(/outside the configured OUTPUT_BUCKETS/);
    expect(s3mock.calls()).toHaveLength(0);
  });

  it('records a failure with its reason and its failure body', async () => {
    s3mock.on(GetObjectCommand).resolves(object('OOM', 'text/plain'));
    const o = await outcomeOf(parse(failed('f', { failureKey: 'failures/f.out' })), deps);
    expect(o).toMatchObject({
      status: 'FAILED',
      failureReason: 'ClientError: Received server error (500) from model.',
      failureLocation: 's3://async-jobs-local-output/failures/f.out',
      result: 'OOM',
    });
  });

  it('stores the failure reason without the account id or the console link', async () => {
    const reason =
      'ClientError: Received server error (500) from primary with message "x". See ' +
      'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1 in account 123456789012 for more information.';
    const o = await outcomeOf(parse(failed('f', { reason })), deps);
    expect(o.failureReason).toBe(
      'ClientError: Received server error (500) from primary with message "x". See <console link> in account <account> for more information.',
    );
  });

  it('takes completedAt from eventTime and submittedAt from receivedTime', async () => {
    const o = await outcomeOf(parse(completed('a', { responseBody: Buffer.from('1') })), deps);
    expect(o.completedAt).toBe('2026-11-24T19:00:05.123Z');
    expect(o.receivedAt).toBe('2026-11-24T19:00:01.456Z');
    expect(o.expiresAt).toBe(Date.parse('2026-11-24T00:00:00Z') / 1000 + 30 * 86_400);
  });
});

describe('processEvent', () => {
  it('SQS without a dead-letter queue: refused records stay on the retry path', async () => {
    const res = await processEvent(
      sqsEvent(
        {
          id: 'ok',
          message: completed('a', { responseBody: Buffer.from('1') }),
          topic: SUCCESS_TOPIC,
        },
        { id: 'bad', message: 'garbage' },
        { id: 'forged', message: completed('b', { bucket: 'attacker-bucket' }) },
      ),
      SUCCESS_TOPIC,
      deps,
    );
    expect(res).toEqual({
      batchItemFailures: [{ itemIdentifier: 'bad' }, { itemIdentifier: 'forged' }],
    });
    expect(finished.map((f) => f.id)).toEqual(['a']);
  });

  it('SNS: processes every record, then fails the invocation when one failed', async () => {
    await expect(
      processEvent(
        snsEvent(
          { topic: ERROR_TOPIC, message: failed('x') },
          { topic: SUCCESS_TOPIC, message: failed('y') },
        ),
        ERROR_TOPIC,
        deps,
      ),
    ).rejects.toThrow('1 of 2 notifications not processed');
    expect(finished.map((f) => f.id)).toEqual(['x']);
  });
});

/** SageMaker's permission check, exactly as it is published to both topics. */
const TEST_NOTIFICATION =
  '{"eventVersion":"1.0","eventSource":"aws:sagemaker","eventName":"TestNotification"}';
const DLQ = 'https://sqs.us-east-1.amazonaws.com/123456789012/async-jobs-dev-onSuccess-dlq';
const withDlq = endingPorts({
  config: { ...config, deadLetterQueueUrl: DLQ },
  store,
  s3: () => client,
  now,
  sqs: () => new SQSClient({ region: 'us-east-1' }),
});
const letters = () =>
  sqsMock.commandCalls(SendMessageCommand).map((c) => {
    const input = c.args[0].input;
    const attrs = Object.fromEntries(
      Object.entries(input.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]),
    );
    return { queue: input.QueueUrl, body: input.MessageBody, ...attrs } as Record<
      string,
      string | undefined
    >;
  });

describe('the test notification', () => {
  it.each([
    [
      'SNS, SuccessTopic',
      snsEvent({ topic: SUCCESS_TOPIC, message: TEST_NOTIFICATION }),
      SUCCESS_TOPIC,
    ],
    ['SNS, ErrorTopic', snsEvent({ topic: ERROR_TOPIC, message: TEST_NOTIFICATION }), ERROR_TOPIC],
  ])('is acknowledged over %s: nothing stored, nothing dead-lettered', async (_, event, topic) => {
    await expect(processEvent(event, topic, withDlq)).resolves.toBeUndefined();
    expect(finished).toHaveLength(0);
    expect(sqsMock.calls()).toHaveLength(0);
    expect(s3mock.calls()).toHaveLength(0);
  });

  it('is acknowledged over SQS, raw or in its SNS envelope: never a batchItemFailures entry', async () => {
    const res = await processEvent(
      sqsEvent(
        { id: 'raw', message: TEST_NOTIFICATION },
        { id: 'enveloped', message: TEST_NOTIFICATION, topic: ERROR_TOPIC },
      ),
      ERROR_TOPIC,
      deps,
    );
    expect(res).toEqual({ batchItemFailures: [] });
    expect(finished).toHaveLength(0);
  });

  it('from a foreign topic is still refused', async () => {
    await processEvent(
      snsEvent({ topic: 'arn:aws:sns:us-east-1:111111111111:other', message: TEST_NOTIFICATION }),
      SUCCESS_TOPIC,
      withDlq,
    );
    expect(letters()).toMatchObject([
      { refusedReason: 'message from an unexpected topic refused' },
    ]);
  });
});

describe('refused records go to the dead-letter queue once', () => {
  const cases: [string, { topic?: string; message: unknown }, RegExp][] = [
    ['not JSON', { message: 'garbage' }, /not JSON/],
    ['not a SageMaker message', { message: { hello: 'world' } }, /not a SageMaker notification/],
    [
      'a bucket outside OUTPUT_BUCKETS',
      { message: completed('b', { bucket: 'attacker-bucket' }) },
      /outside the configured OUTPUT_BUCKETS/,
    ],
    [
      'a foreign topic',
      { topic: 'arn:aws:sns:us-east-1:111111111111:other', message: completed('c') },
      /unexpected topic/,
    ],
    [
      'a success naming no output',
      { message: { ...completed('d'), responseParameters: {} } },
      /names no outputLocation/,
    ],
  ];

  it.each(cases)('%s: SNS does not fail the invocation', async (_, { topic, message }, reason) => {
    await expect(
      processEvent(snsEvent({ topic: topic ?? SUCCESS_TOPIC, message }), SUCCESS_TOPIC, withDlq),
    ).resolves.toBeUndefined();
    const sent = letters();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ queue: DLQ, bodyEncoding: 'utf8' });
    expect(sent[0]!.refusedReason).toMatch(reason);
    expect(sent[0]!.body).toBe(typeof message === 'string' ? message : JSON.stringify(message));
    expect(finished).toHaveLength(0);
  });

  it.each(cases)('%s: SQS answers no batchItemFailures entry', async (_, { topic, message }) => {
    const res = await processEvent(sqsEvent({ id: 'r', message, topic }), SUCCESS_TOPIC, withDlq);
    expect(res).toEqual({ batchItemFailures: [] });
    expect(letters()).toHaveLength(1);
  });

  it('names the source message and topic, and sends a body SQS cannot carry as base64', async () => {
    const body = 'bad\u0000bytes';
    await processEvent(snsEvent({ topic: SUCCESS_TOPIC, message: body }), SUCCESS_TOPIC, withDlq);
    const [letter] = letters();
    expect(letter).toMatchObject({ bodyEncoding: 'base64', sourceTopicArn: SUCCESS_TOPIC });
    expect(Buffer.from(letter!.body!, 'base64').toString()).toBe(body);
    expect(letter!.sourceMessageId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('stays on the retry path when the dead-letter queue cannot be reached', async () => {
    sqsMock
      .on(SendMessageCommand)
      .rejects(Object.assign(new Error('down'), { name: 'InternalError' }));
    const res = await processEvent(
      sqsEvent({ id: 'r', message: 'garbage' }),
      SUCCESS_TOPIC,
      withDlq,
    );
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'r' }] });
    await expect(
      processEvent(snsEvent({ topic: SUCCESS_TOPIC, message: 'garbage' }), SUCCESS_TOPIC, withDlq),
    ).rejects.toThrow('1 of 1 notifications not processed');
  });
});

describe('transient faults keep the retry path', () => {
  it('a missing output object, an S3 error, a DynamoDB error: retried, never dead-lettered', async () => {
    s3mock
      .on(GetObjectCommand, { Key: 'outputs/missing.out' })
      .rejects(Object.assign(new Error('no key'), { name: 'NoSuchKey' }))
      .on(GetObjectCommand, { Key: 'outputs/s3down.out' })
      .rejects(Object.assign(new Error('slow down'), { name: 'SlowDown' }))
      .on(GetObjectCommand, { Key: 'outputs/ok.out' })
      .resolves(object('{}', 'application/json'));
    const failing = {
      ...withDlq,
      store: {
        transition: async () => {
          throw Object.assign(new Error('throttled'), {
            name: 'ProvisionedThroughputExceededException',
          });
        },
      } as unknown as JobStore,
    };
    const res = await processEvent(
      sqsEvent(
        { id: 'missing', message: completed('missing') },
        { id: 's3down', message: completed('s3down') },
        { id: 'ok', message: completed('ok') },
      ),
      SUCCESS_TOPIC,
      failing,
    );
    expect(res).toEqual({
      batchItemFailures: [
        { itemIdentifier: 'missing' },
        { itemIdentifier: 's3down' },
        { itemIdentifier: 'ok' },
      ],
    });
    expect(sqsMock.calls()).toHaveLength(0);
  });
});

describe('the notification path announces from the transition, not from a read', () => {
  const terminal = {
    inferenceId: 'hot',
    status: 'COMPLETED' as const,
    endpointName: 'demo-endpoint',
    result: '{}',
    expiresAt: 99,
  };
  function busDeps(transition: { applied: boolean; job?: typeof terminal }, announced: boolean) {
    const calls: string[] = [];
    const fake = {
      transition: async () => {
        calls.push('transition');
        return transition;
      },
      get: async () => {
        calls.push('get');
        return terminal;
      },
      announced: async () => {
        calls.push('announced');
        return announced;
      },
      markAnnounced: async () => {
        calls.push('markAnnounced');
      },
    } as unknown as JobStore;
    const eventBridge = () =>
      ({
        send: async () => {
          calls.push('PutEvents');
          return { FailedEntryCount: 0 };
        },
      }) as never;
    return {
      calls,
      deps: endingPorts({
        config: { ...config, eventBusName: 'bus' },
        store: fake,
        s3: () => client,
        now,
        eventBridge,
      }),
    };
  }
  const event = () =>
    snsEvent({
      topic: SUCCESS_TOPIC,
      message: completed('hot', { responseBody: Buffer.from('{}') }),
    });

  it('first delivery: the transition, the event, the marker; no GetItem, no marker read', async () => {
    const { calls, deps: d } = busDeps({ applied: true, job: terminal }, false);
    await processEvent(event(), SUCCESS_TOPIC, d);
    expect(calls).toEqual(['transition', 'PutEvents', 'markAnnounced']);
  });

  it('a duplicate already announced: the transition and the marker read only', async () => {
    const { calls, deps: d } = busDeps({ applied: false, job: terminal }, true);
    await processEvent(event(), SUCCESS_TOPIC, d);
    expect(calls).toEqual(['transition', 'announced']);
  });

  it('a duplicate whose first delivery stopped before the event: sent now, from ALL_OLD', async () => {
    const { calls, deps: d } = busDeps({ applied: false, job: terminal }, false);
    await processEvent(event(), SUCCESS_TOPIC, d);
    expect(calls).toEqual(['transition', 'announced', 'PutEvents', 'markAnnounced']);
  });
});
