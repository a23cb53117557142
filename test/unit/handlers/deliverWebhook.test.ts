import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetConfig } from '../../../src/lib/config.ts';
import { receiverKey } from '../../../src/lib/adapters/webhook-keys.ts';
import { verifyWebhook } from '../../../src/lib/adapters/webhook-verify.ts';
import { WebhookNotDelivered, deliveryId } from '../../../src/lib/adapters/webhooks.ts';
import {
  startLocalEventBridge,
  wantsWebhook,
  type LocalEventBridge,
} from '../../../src/local/eventbridge.ts';
import { lambdaContext } from '../../support/lambda.ts';
import { readYaml } from '../../support/openapi.ts';

// The sandbox's settings, before the handler reads them at import (its cold start).
process.env.WEBHOOK_SECRET = '{"current":"hook-master","previous":"old-master"}';
process.env.ALLOW_LOOPBACK_WEBHOOKS = 'true';
resetConfig();
const { handler } = await import('../../../src/handlers/deliverWebhook.ts');

/** What Lambda's asynchronous retries of deliverWebhook are set to: the layer that retries. */
const maximumRetryAttempts = readYaml('serverless.yml').functions.deliverWebhook
  .maximumRetryAttempts as number;

const got: { headers: IncomingMessage['headers']; body: string }[] = [];
let status = 204;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    got.push({ headers: req.headers, body });
    res.writeHead(status).end();
  });
});
let origin = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
beforeEach(() => {
  got.length = 0;
  status = 204;
});
afterAll(async () => {
  delete process.env.WEBHOOK_SECRET;
  delete process.env.ALLOW_LOOPBACK_WEBHOOKS;
  resetConfig();
  await new Promise<void>((r) => server.close(() => r()));
});

const event = (detail: Record<string, unknown>, id = 'b5ab5b5c-1d8e-4c43-9c53-6f0d1a8e0a11') => ({
  version: '0',
  id,
  'detail-type': 'JobCompleted' as const,
  source: 'async-jobs',
  account: '000000000000',
  time: '2026-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: { inferenceId: 'job-1', ...detail },
});

const invoke = (e: unknown) =>
  handler(e as ReturnType<typeof event>, lambdaContext('deliverWebhook')) as Promise<void>;

describe('deliverWebhook', () => {
  it('POSTs the outcome, named by its outcome, signed with both keys of the origin', async () => {
    await invoke(event({ callbackUrl: `${origin}/hook` }));
    expect(got).toHaveLength(1);
    const { headers, body } = got[0]!;
    expect(headers['x-async-jobs-delivery-id']).toBe(deliveryId('JobCompleted', 'job-1'));
    expect(verifyWebhook({ headers, body }, receiverKey('hook-master', origin))).toBe(true);
    expect(verifyWebhook({ headers, body }, receiverKey('old-master', origin))).toBe(true);
    expect(JSON.parse(body)).toMatchObject({
      type: 'JobCompleted',
      id: 'b5ab5b5c-1d8e-4c43-9c53-6f0d1a8e0a11',
      job: { inferenceId: 'job-1' },
    });
  });

  it('does nothing for a job without a callbackUrl', async () => {
    await invoke(event({}));
    expect(got).toHaveLength(0);
  });

  it.each([408, 429, 500, 503])(
    'makes one POST per invocation and throws on %i, for Lambda to retry',
    async (answer) => {
      status = answer;
      await expect(invoke(event({ callbackUrl: `${origin}/hook` }))).rejects.toThrow(
        WebhookNotDelivered,
      );
      expect(got).toHaveLength(1);
    },
  );

  it('ends without an error on a definitive refusal (410): nothing retries it', async () => {
    status = 410;
    await invoke(event({ callbackUrl: `${origin}/hook` }));
    expect(got).toHaveLength(1);
  });
});

describe('deliverWebhook under the retry layer (the local bus retries as Lambda does)', () => {
  let bus: LocalEventBridge;
  beforeEach(async () => {
    bus = await startLocalEventBridge({
      rules: [
        {
          matches: wantsWebhook,
          invoke,
          functionName: 'deliverWebhook',
          maximumRetryAttempts,
        },
      ],
      retryDelayMs: () => 0,
    });
    return () => bus.close();
  });

  /** PutEvents of one outcome, as `announce` sends it; resolves once every delivery ended. */
  async function announce(detail: Record<string, unknown>, type = 'JobCompleted') {
    const res = await fetch(bus.url, {
      method: 'POST',
      headers: {
        'x-amz-target': 'AWSEvents.PutEvents',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: JSON.stringify({
        Entries: [{ Source: 'async-jobs', DetailType: type, Detail: JSON.stringify(detail) }],
      }),
    });
    expect(res.status).toBe(200);
    await bus.idle();
  }

  it('POSTs 1 + maximumRetryAttempts times to a receiver that keeps failing, then dead-letters', async () => {
    expect(maximumRetryAttempts).toBe(2);
    status = 503;
    await announce({ inferenceId: 'job-2', callbackUrl: `${origin}/hook` });
    expect(got).toHaveLength(1 + maximumRetryAttempts);
    expect(new Set(got.map((g) => g.headers['x-async-jobs-delivery-id']))).toEqual(
      new Set([deliveryId('JobCompleted', 'job-2')]),
    );
    expect(bus.deadLetters).toMatchObject([
      { functionName: 'deliverWebhook', attempts: 3, reason: 'webhook not delivered (HTTP 503)' },
    ]);
  });

  it('POSTs once to a receiver that refuses for good (422): no retry, no dead letter', async () => {
    status = 422;
    await announce({ inferenceId: 'job-3', callbackUrl: `${origin}/hook` });
    expect(got).toHaveLength(1);
    expect(bus.deadLetters).toEqual([]);
  });

  it('keeps one delivery id when the outcome is announced twice (two event ids)', async () => {
    await announce({ inferenceId: 'job-4', callbackUrl: `${origin}/hook` });
    await announce({ inferenceId: 'job-4', callbackUrl: `${origin}/hook` });
    const events = bus.events.map((e) => e.id);
    expect(new Set(events).size).toBe(2);
    expect(got).toHaveLength(2);
    expect(new Set(got.map((g) => g.headers['x-async-jobs-delivery-id'])).size).toBe(1);
  });

  it('delivers BatchCompleted to a batch callbackUrl, as the stack rule does', async () => {
    await announce({ batchId: 'b-1', callbackUrl: `${origin}/hook` }, 'BatchCompleted');
    expect(got).toHaveLength(1);
    expect(got[0]!.headers['x-async-jobs-delivery-id']).toBe(deliveryId('BatchCompleted', 'b-1'));
    expect(JSON.parse(got[0]!.body)).toMatchObject({
      type: 'BatchCompleted',
      batch: { batchId: 'b-1' },
    });
  });
});
