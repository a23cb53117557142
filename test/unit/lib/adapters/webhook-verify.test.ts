import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { receiverKey, signatureHeader } from '../../../../src/lib/adapters/webhook-keys.ts';
import { verifyWebhook } from '../../../../src/lib/adapters/webhook-verify.ts';

const key = receiverKey('master', 'https://receiver.example');
const other = receiverKey('master', 'https://other.example');
const now = 1_800_000_000;
const body = '{"type":"JobCompleted","job":{"inferenceId":"a"}}';

function signed(keys: string[], timestamp = String(now), text = body) {
  return {
    headers: {
      'x-async-jobs-timestamp': timestamp,
      'x-async-jobs-signature': signatureHeader(keys, timestamp, text),
    },
    body: text,
  };
}

describe('verifyWebhook (the receiver sample in docs/webhooks.md)', () => {
  it('accepts a fresh delivery signed with the receiver key, as a string or raw bytes', () => {
    expect(verifyWebhook(signed([key]), key, { nowSeconds: now })).toBe(true);
    const req = signed([key]);
    expect(verifyWebhook({ ...req, body: Buffer.from(req.body) }, key, { nowSeconds: now })).toBe(
      true,
    );
  });

  it('accepts either signature during a rotation', () => {
    const old = receiverKey('old-master', 'https://receiver.example');
    expect(verifyWebhook(signed([key, old]), key, { nowSeconds: now })).toBe(true);
    expect(verifyWebhook(signed([key, old]), old, { nowSeconds: now })).toBe(true);
  });

  it('rejects another receiver key, an edited body and an edited timestamp', () => {
    expect(verifyWebhook(signed([other]), key, { nowSeconds: now })).toBe(false);
    expect(verifyWebhook({ ...signed([key]), body: `${body} ` }, key, { nowSeconds: now })).toBe(
      false,
    );
    const req = signed([key]);
    req.headers['x-async-jobs-timestamp'] = String(now - 1);
    expect(verifyWebhook(req, key, { nowSeconds: now })).toBe(false);
  });

  it('rejects a timestamp older (or newer) than five minutes', () => {
    expect(verifyWebhook(signed([key], String(now - 300)), key, { nowSeconds: now })).toBe(true);
    expect(verifyWebhook(signed([key], String(now - 301)), key, { nowSeconds: now })).toBe(false);
    expect(verifyWebhook(signed([key], String(now + 301)), key, { nowSeconds: now })).toBe(false);
    expect(
      verifyWebhook(signed([key], String(now - 600)), key, {
        nowSeconds: now,
        toleranceSeconds: 900,
      }),
    ).toBe(true);
  });

  it.each([
    ['no headers', {}],
    ['no signature', { 'x-async-jobs-timestamp': String(now) }],
    ['no timestamp', { 'x-async-jobs-signature': 'v1=00' }],
    [
      'a short signature',
      { 'x-async-jobs-timestamp': String(now), 'x-async-jobs-signature': 'v1=ab' },
    ],
    ['an empty signature', { 'x-async-jobs-timestamp': String(now), 'x-async-jobs-signature': '' }],
    [
      'no scheme',
      { 'x-async-jobs-timestamp': String(now), 'x-async-jobs-signature': 'a'.repeat(64) },
    ],
    [
      'not hex',
      { 'x-async-jobs-timestamp': String(now), 'x-async-jobs-signature': `v1=${'z'.repeat(64)}` },
    ],
    [
      'the old sha256= form',
      {
        'x-async-jobs-timestamp': String(now),
        'x-async-jobs-signature': `sha256=${'0'.repeat(64)}`,
      },
    ],
    [
      'a non-numeric timestamp',
      { 'x-async-jobs-timestamp': 'now', 'x-async-jobs-signature': 'v1=00' },
    ],
    ['repeated headers', { 'x-async-jobs-timestamp': [String(now)], 'x-async-jobs-signature': [] }],
  ])('returns false, without throwing, for %s', (_what, headers) => {
    expect(verifyWebhook({ headers, body }, key, { nowSeconds: now })).toBe(false);
  });

  it('is the code docs/webhooks.md shows, verbatim', () => {
    const source = readFileSync('src/lib/adapters/webhook-verify.ts', 'utf8').trim();
    const doc = readFileSync('docs/webhooks.md', 'utf8');
    expect(doc).toContain(`\`\`\`ts\n${source}\n\`\`\``);
  });
});
