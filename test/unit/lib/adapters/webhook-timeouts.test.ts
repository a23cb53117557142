import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliver, type Resolver } from '../../../../src/lib/adapters/webhooks.ts';
import { startHangingServer, type HangingServer } from '../../../support/hanging-server.ts';

/*
 * deliverWebhook's own bound (`timeoutMs`, 5 s by default: docs/webhooks.md "no answer within 5
 * seconds") against receivers that hang: every attempt ends while the receiver still hangs, the
 * name's resolution included. Small bounds through the same option production passes; vitest's
 * timeout is the only clock.
 */

let silent: HangingServer;
let stalled: HangingServer;
beforeAll(async () => {
  [silent, stalled] = await Promise.all([
    startHangingServer({ mode: 'silent' }),
    startHangingServer({ mode: 'mid-body', contentType: 'text/plain', head: 'thanks, ' }),
  ]);
});
afterAll(async () => {
  await Promise.all([silent?.close(), stalled?.close()]);
});

const opts = {
  secret: { current: 'test-master-secret' },
  deliveryId: 'delivery-1',
  allowLoopback: true,
  timeoutMs: 300,
};

describe('webhook delivery against a receiver that hangs', () => {
  it('accepts and never answers: the POST is cut (ETIMEDOUT), for Lambda to retry', async () => {
    const before = silent.requests;
    await expect(deliver(`${silent.url}/hook`, {}, opts)).rejects.toMatchObject({
      name: 'WebhookNotDelivered',
      reason: 'ETIMEDOUT',
    });
    expect(silent.requests - before).toBe(1);
    expect(silent.finished).toBe(0);
  });

  it('answers 200 and stalls mid-body: the POST is cut, and the 200 it heard counts', async () => {
    expect(await deliver(`${stalled.url}/hook`, {}, opts)).toBe('delivered');
    expect(stalled.finished).toBe(0);
  });

  it('a callback host whose name never resolves: the attempt is cut too', async () => {
    const never: Resolver = () => new Promise(() => undefined);
    await expect(
      deliver('https://hook.example.com/x', {}, { ...opts, allowLoopback: false, resolve: never }),
    ).rejects.toMatchObject({ name: 'WebhookNotDelivered', reason: 'ETIMEDOUT' });
  });
});
