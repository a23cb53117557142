import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BadRequest } from '../../../src/lib/errors.ts';
import {
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  deliver,
  isPrivateAddress,
  signature,
  webhookUrl,
} from '../../../src/lib/webhooks.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A receiver answering the given statuses in turn, recording what it got. */
async function receiver(statuses: number[]) {
  const got: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(statuses[Math.min(got.length - 1, statuses.length - 1)] ?? 200).end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hook`, got };
}

const opts = { secret: 's3cret', allowLoopback: true, backoffMs: () => 1 };

describe('webhook URLs', () => {
  it('accepts https and, in the sandbox only, loopback http', () => {
    expect(webhookUrl('https://example.com/hook?x=1', false)).toBe('https://example.com/hook?x=1');
    expect(webhookUrl('http://127.0.0.1:9/hook', true)).toBe('http://127.0.0.1:9/hook');
  });

  it.each([
    ['plain http', 'http://example.com/hook', false],
    ['loopback when not allowed', 'http://127.0.0.1/hook', false],
    ['credentials in the URL', 'https://user:pw@example.com/', false],
    ['the instance metadata address', 'https://169.254.169.254/latest', false],
    ['a private address', 'https://10.1.2.3/hook', false],
    ['not a URL', 'example.com/hook', false],
    ['another scheme', 'ftp://example.com/x', false],
  ])('refuses %s', (_what, url, loopback) => {
    expect(() => webhookUrl(url, loopback)).toThrow(BadRequest);
  });

  it('knows private addresses', () => {
    for (const a of [
      '10.0.0.1',
      '172.16.0.1',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.169.254',
      '::1',
      'fd00::1',
      '::ffff:10.0.0.1',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '2001:4860::8888'])
      expect(isPrivateAddress(a), a).toBe(false);
  });
});

describe('deliver', () => {
  it('signs the body with HMAC-SHA256 over "<timestamp>.<body>"', async () => {
    const r = await receiver([200]);
    expect(await deliver(r.url, { type: 'JobCompleted', job: { inferenceId: 'a' } }, opts)).toBe(
      'delivered',
    );
    const { headers, body } = r.got[0]!;
    const expected = `sha256=${createHmac('sha256', 's3cret').update(`${headers[TIMESTAMP_HEADER]}.${body}`).digest('hex')}`;
    expect(headers[SIGNATURE_HEADER]).toBe(expected);
    expect(signature('s3cret', String(headers[TIMESTAMP_HEADER]), body)).toBe(expected);
    expect(JSON.parse(body)).toEqual({ type: 'JobCompleted', job: { inferenceId: 'a' } });
  });

  it('retries 5xx and 429, then succeeds', async () => {
    const r = await receiver([503, 429, 200]);
    expect(await deliver(r.url, {}, opts)).toBe('delivered');
    expect(r.got).toHaveLength(3);
  });

  it('takes a 4xx as the final answer, without retrying', async () => {
    const r = await receiver([410]);
    expect(await deliver(r.url, {}, opts)).toBe('refused');
    expect(r.got).toHaveLength(1);
  });

  it('throws after the last failed attempt, so the platform retries and dead-letters', async () => {
    const r = await receiver([500]);
    await expect(deliver(r.url, {}, { ...opts, attempts: 2 })).rejects.toThrow(
      'after 2 attempts (HTTP 500)',
    );
  });

  it('refuses to call a loopback receiver outside the sandbox', async () => {
    const r = await receiver([200]);
    await expect(deliver(r.url, {}, { ...opts, allowLoopback: false })).rejects.toThrow(
      /private address/,
    );
    expect(r.got).toHaveLength(0);
  });
});
