import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '../../../src/lib/config.ts';
import { receiverKey } from '../../../src/lib/adapters/webhook-keys.ts';
import { verifyWebhook } from '../../../src/lib/adapters/webhook-verify.ts';
import { lambdaContext } from '../../support/lambda.ts';

// The sandbox's settings, before the handler reads them at import (its cold start).
process.env.WEBHOOK_SECRET = '{"current":"hook-master","previous":"old-master"}';
process.env.ALLOW_LOOPBACK_WEBHOOKS = 'true';
resetConfig();
const { handler } = await import('../../../src/handlers/deliverWebhook.ts');

const got: { headers: IncomingMessage['headers']; body: string }[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    got.push({ headers: req.headers, body });
    res.writeHead(204).end();
  });
});
let origin = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  delete process.env.WEBHOOK_SECRET;
  delete process.env.ALLOW_LOOPBACK_WEBHOOKS;
  resetConfig();
  await new Promise<void>((r) => server.close(() => r()));
});

const event = (detail: Record<string, unknown>) => ({
  version: '0',
  id: 'b5ab5b5c-1d8e-4c43-9c53-6f0d1a8e0a11',
  'detail-type': 'JobCompleted' as const,
  source: 'async-jobs',
  account: '000000000000',
  time: '2026-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: { inferenceId: 'job-1', ...detail },
});

describe('deliverWebhook', () => {
  it('POSTs the outcome, named by the event id, signed with both keys of the origin', async () => {
    await handler(event({ callbackUrl: `${origin}/hook` }), lambdaContext('deliverWebhook'));
    expect(got).toHaveLength(1);
    const { headers, body } = got[0]!;
    expect(headers['x-async-jobs-delivery-id']).toBe('b5ab5b5c-1d8e-4c43-9c53-6f0d1a8e0a11');
    expect(verifyWebhook({ headers, body }, receiverKey('hook-master', origin))).toBe(true);
    expect(verifyWebhook({ headers, body }, receiverKey('old-master', origin))).toBe(true);
    expect(JSON.parse(body)).toMatchObject({
      type: 'JobCompleted',
      id: 'b5ab5b5c-1d8e-4c43-9c53-6f0d1a8e0a11',
      job: { inferenceId: 'job-1' },
    });
  });

  it('does nothing for a job without a callbackUrl', async () => {
    const before = got.length;
    await handler(event({}), lambdaContext('deliverWebhook'));
    expect(got).toHaveLength(before);
  });
});
