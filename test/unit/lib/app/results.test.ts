import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/lib/config.ts';
import { encodeResult } from '../../../../src/lib/domain/encoding.ts';
import type { Job } from '../../../../src/lib/domain/jobs.ts';
import type { S3Location } from '../../../../src/lib/domain/locations.ts';
import { outcomeOf, type ResultDeps } from '../../../../src/lib/app/results.ts';
import { processEvent } from '../../../../src/lib/wiring/results.ts';
import { parseNotification } from '../../../../src/lib/domain/notification.ts';
import { FakeDeadLetters } from '../../../support/fakes/dead-letters.ts';
import { FakeEventPublisher } from '../../../support/fakes/event-publisher.ts';
import { FakeJobRepository } from '../../../support/fakes/job-repository.ts';
import type { FakeObjectStore } from '../../../support/fakes/object-store.ts';
import { endingFakes } from '../../../support/fakes/ports.ts';
import {
  ERROR_TOPIC,
  OUTPUT_BUCKET,
  SUCCESS_TOPIC,
  completed,
  failed,
  snsEvent,
  sqsEvent,
} from '../../../support/notifications.ts';

/*
 * The notification path (outcomeOf, processEvent) on the fakes of its ports: what it reads,
 * stores, dead-letters and announces, read back through them. How each adapter speaks to AWS is
 * its own test: the bounded GetObject and NoSuchKey -> OutputMissing in
 * test/unit/lib/adapters/storage.test.ts, the dead letter's SendMessage in deadletter.test.ts.
 */

const config = { ...loadConfig(), inlineResultMaxBytes: 16 };
const now = () => new Date('2026-11-24T00:00:00Z');
const parse = (m: unknown) => parseNotification({ id: '1', body: JSON.stringify(m) }, undefined);
const output = (key: string): S3Location => ({ bucket: OUTPUT_BUCKET, key });

let store: FakeJobRepository;
let objects: FakeObjectStore;
let deadLetters: FakeDeadLetters;
/** Without a dead-letter queue: refused records stay on the retry path. */
let deps: ResultDeps;
/** With one: a refused record is sent there once. */
let withDlq: ResultDeps;
/** The ids of the jobs the path ended (the fake store creates a terminal record for each). */
const finished = () => [...store.records.keys()];

beforeEach(() => {
  const fakes = endingFakes({ now }, config);
  ({ store, objects, deps } = fakes);
  deadLetters = new FakeDeadLetters();
  withDlq = { ...deps, deadLetters };
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
    expect(objects.count()).toBe(0);
  });

  it('stores a large responseBody by location only, still without S3', async () => {
    const o = await outcomeOf(
      parse(completed('a', { responseBody: Buffer.alloc(17, 0x61) })),
      deps,
    );
    expect(o.result).toBeUndefined();
    expect(o.resultBytes).toBe(17);
    expect(o.outputLocation).toBe('s3://async-jobs-local-output/outputs/a.out');
    expect(objects.count()).toBe(0);
  });

  it('reads a small output from S3 in one bounded read', async () => {
    objects.seed(output('outputs/a.out'), '{"s":1}', 'application/json');
    const o = await outcomeOf(parse(completed('a')), deps);
    expect(o).toMatchObject({ result: '{"s":1}', resultEncoding: 'utf8', resultBytes: 7 });
    expect(objects.calls).toEqual([{ method: 'read', loc: output('outputs/a.out') }]);
  });

  it('stores an output above the inline limit by location with its size', async () => {
    objects.seed(output('outputs/a.out'), 'x'.repeat(40), 'text/plain');
    const o = await outcomeOf(parse(completed('a')), deps);
    expect(o.result).toBeUndefined();
    expect(o.resultBytes).toBe(40);
  });

  it('refuses a forged output bucket before any S3 call', async () => {
    await expect(
      outcomeOf(parse(completed('a', { bucket: 'attacker-bucket' })), deps),
    ).rejects.toThrow(/outside the configured OUTPUT_BUCKETS/);
    expect(objects.count()).toBe(0);
  });

  it('records a failure with its reason and its failure body', async () => {
    objects.seed(output('failures/f.out'), 'OOM', 'text/plain');
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
    expect(finished()).toEqual(['a']);
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
    expect(finished()).toEqual(['x']);
  });
});

/** SageMaker's permission check, exactly as it is published to both topics. */
const TEST_NOTIFICATION =
  '{"eventVersion":"1.0","eventSource":"aws:sagemaker","eventName":"TestNotification"}';

describe('the test notification', () => {
  it.each([
    [
      'SNS, SuccessTopic',
      () => snsEvent({ topic: SUCCESS_TOPIC, message: TEST_NOTIFICATION }),
      SUCCESS_TOPIC,
    ],
    [
      'SNS, ErrorTopic',
      () => snsEvent({ topic: ERROR_TOPIC, message: TEST_NOTIFICATION }),
      ERROR_TOPIC,
    ],
  ])('is acknowledged over %s: nothing stored, nothing dead-lettered', async (_, event, topic) => {
    await expect(processEvent(event(), topic, withDlq)).resolves.toBeUndefined();
    expect(store.calls).toEqual([]);
    expect(deadLetters.letters).toEqual([]);
    expect(objects.count()).toBe(0);
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
    expect(store.calls).toEqual([]);
  });

  it('from a foreign topic is still refused', async () => {
    await processEvent(
      snsEvent({ topic: 'arn:aws:sns:us-east-1:111111111111:other', message: TEST_NOTIFICATION }),
      SUCCESS_TOPIC,
      withDlq,
    );
    expect(deadLetters.letters).toMatchObject([
      { reason: 'message from an unexpected topic refused' },
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
    const sent = deadLetters.letters;
    expect(sent).toHaveLength(1);
    expect(sent[0]!.reason).toMatch(reason);
    // The body as received: the adapter sends it as is, or as base64 (deadletter.test.ts).
    expect(sent[0]!.record.body).toBe(
      typeof message === 'string' ? message : JSON.stringify(message),
    );
    expect(finished()).toEqual([]);
  });

  it.each(cases)('%s: SQS answers no batchItemFailures entry', async (_, { topic, message }) => {
    const res = await processEvent(sqsEvent({ id: 'r', message, topic }), SUCCESS_TOPIC, withDlq);
    expect(res).toEqual({ batchItemFailures: [] });
    expect(deadLetters.letters).toHaveLength(1);
  });

  it('names the source message and topic, and hands on a body SQS cannot carry as received', async () => {
    const body = 'bad\u0000bytes';
    await processEvent(snsEvent({ topic: SUCCESS_TOPIC, message: body }), SUCCESS_TOPIC, withDlq);
    const [letter] = deadLetters.letters;
    expect(letter!.record.topicArn).toBe(SUCCESS_TOPIC);
    expect(letter!.record.body).toBe(body);
    expect(letter!.record.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('stays on the retry path when the dead-letter queue cannot be reached', async () => {
    deadLetters.fails = () => Object.assign(new Error('down'), { name: 'InternalError' });
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
    // outputs/missing.out is never written: the object store answers OutputMissing.
    objects
      .fail(
        'read',
        () => Object.assign(new Error('slow down'), { name: 'SlowDown' }),
        output('outputs/s3down.out'),
      )
      .seed(output('outputs/ok.out'), '{}', 'application/json');
    store.fail('transition', () =>
      Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }),
    );
    const res = await processEvent(
      sqsEvent(
        { id: 'missing', message: completed('missing') },
        { id: 's3down', message: completed('s3down') },
        { id: 'ok', message: completed('ok') },
      ),
      SUCCESS_TOPIC,
      withDlq,
    );
    expect(res).toEqual({
      batchItemFailures: [
        { itemIdentifier: 'missing' },
        { itemIdentifier: 's3down' },
        { itemIdentifier: 'ok' },
      ],
    });
    expect(store.count('transition')).toBe(1);
    expect(deadLetters.letters).toEqual([]);
  });
});

describe('the notification path announces from the transition, not from a read', () => {
  const terminal: Job = {
    inferenceId: 'hot',
    status: 'COMPLETED',
    endpointName: 'demo-endpoint',
    result: '{}',
    expiresAt: 99,
  };
  /** The store holding `job`, the bus's publishes logged among the store's calls, in order. */
  function busDeps(job: Job | undefined, announced: boolean) {
    const repo = new FakeJobRepository(job ? [job] : []);
    if (announced) repo.markers.set('hot', { announcedAt: '2026-11-24T00:00:00.000Z' });
    const events = new FakeEventPublisher();
    const calls = repo.calls as string[];
    const publish = events.publish.bind(events);
    events.publish = async (e) => {
      calls.push('PutEvents');
      return publish(e);
    };
    return { calls, deps: { ...endingFakes({ store: repo, events, now }, config).deps } };
  }
  const event = () =>
    snsEvent({
      topic: SUCCESS_TOPIC,
      message: completed('hot', { responseBody: Buffer.from('{}') }),
    });

  it('first delivery: the transition, the event, the marker; no GetItem, no marker read', async () => {
    const { calls, deps: d } = busDeps({ ...terminal, status: 'IN_PROGRESS' }, false);
    await processEvent(event(), SUCCESS_TOPIC, d);
    expect(calls).toEqual(['transition', 'PutEvents', 'markAnnounced']);
  });

  it('a duplicate already announced: the transition and the marker read only', async () => {
    const { calls, deps: d } = busDeps(terminal, true);
    await processEvent(event(), SUCCESS_TOPIC, d);
    expect(calls).toEqual(['transition', 'announced']);
  });

  it('a duplicate whose first delivery stopped before the event: sent now, from ALL_OLD', async () => {
    const { calls, deps: d } = busDeps(terminal, false);
    await processEvent(event(), SUCCESS_TOPIC, d);
    expect(calls).toEqual(['transition', 'announced', 'PutEvents', 'markAnnounced']);
  });
});
