import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalEventBridge, type LocalEventBridge } from '../../src/local/eventbridge.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import { lambdaContext } from '../support/lambda.ts';
import {
  ERROR_TOPIC,
  SUCCESS_TOPIC,
  completed,
  failed,
  snsEvent,
} from '../support/notifications.ts';

/*
 * Outcome events with the real EventBridge client against the local bus: one JobCompleted or
 * JobFailed per job however often its notification comes, and sent again when the first attempt
 * could not be.
 */

let b: Backends;
let bus: LocalEventBridge;
let refuse = false;
type Handler = (e: unknown, c: unknown) => Promise<unknown>;
let onSuccess: Handler;
let onError: Handler;

beforeAll(async () => {
  b = await startBackends();
  bus = await startLocalEventBridge({ refuse: () => refuse });
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = bus.url;
  process.env.EVENT_BUS_NAME = 'async-jobs-test';
  onSuccess = (await import('../../src/handlers/onSuccess.ts')).handler as never;
  onError = (await import('../../src/handlers/onError.ts')).handler as never;
});
afterAll(async () => {
  delete process.env.EVENT_BUS_NAME;
  await bus?.close();
  await b?.close();
});

const eventsOf = (id: string) => bus.events.filter((e) => e.detail.inferenceId === id);

describe('outcome events', () => {
  it('announces a completed job once, whatever the duplicates, without its result', async () => {
    const message = completed('ev-1', { responseBody: Buffer.from('{"secret":"payload"}') });
    for (let i = 0; i < 3; i++) {
      await onSuccess(snsEvent({ topic: SUCCESS_TOPIC, message }), lambdaContext('onSuccess'));
    }
    const events = eventsOf('ev-1');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      source: 'async-jobs',
      detailType: 'JobCompleted',
      eventBusName: 'async-jobs-test',
      detail: { inferenceId: 'ev-1', status: 'COMPLETED', resultBytes: 20 },
    });
    expect(events[0]!.detail).not.toHaveProperty('result');
    expect(events[0]!.detail).not.toHaveProperty('announcedAt');
    // Sent once, recorded in a marker item: the record itself (result inline) is not rewritten.
    expect(await b.store.announced('ev-1')).toBe(true);
    expect(await b.store.get('ev-1')).not.toHaveProperty('announcedAt');
  });

  it('announces a failed job as JobFailed with its reason', async () => {
    await onError(
      snsEvent({ topic: ERROR_TOPIC, message: failed('ev-2') }),
      lambdaContext('onError'),
    );
    expect(eventsOf('ev-2')).toMatchObject([
      { detailType: 'JobFailed', detail: { status: 'FAILED', failureReason: expect.any(String) } },
    ]);
  });

  it('when the bus refuses, the delivery fails and its retry announces the job', async () => {
    const message = completed('ev-3', { responseBody: Buffer.from('1') });
    refuse = true;
    await expect(
      onSuccess(snsEvent({ topic: SUCCESS_TOPIC, message }), lambdaContext('onSuccess')),
    ).rejects.toThrow();
    refuse = false;
    expect((await b.store.get('ev-3'))?.status).toBe('COMPLETED');
    expect(eventsOf('ev-3')).toHaveLength(0);
    // Lambda's retry: a duplicate for the state machine, but the event is still owed.
    await onSuccess(snsEvent({ topic: SUCCESS_TOPIC, message }), lambdaContext('onSuccess'));
    expect(eventsOf('ev-3')).toHaveLength(1);
  });
});
