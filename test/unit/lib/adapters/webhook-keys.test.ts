import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  describeKeys,
  keyOrigin,
  parseWebhookSecret,
  receiverKey,
  receiverKeys,
  signatureHeader,
  webhookSecretSource,
} from '../../../../src/lib/adapters/webhook-keys.ts';

describe('the master secret', () => {
  it('is a plain string, or JSON with a current and a previous key while rotating', () => {
    expect(parseWebhookSecret('s3cret')).toEqual({ current: 's3cret' });
    expect(parseWebhookSecret('{"current":"new","previous":"old"}')).toEqual({
      current: 'new',
      previous: 'old',
    });
    expect(parseWebhookSecret('{"current":"new"}')).toEqual({ current: 'new' });
    expect(parseWebhookSecret('{"current":"same","previous":"same"}')).toEqual({
      current: 'same',
    });
    // A generated password that happens to start with "{" is still a key.
    expect(parseWebhookSecret('{x$y')).toEqual({ current: '{x$y' });
  });

  it.each(['', '  ', '{"previous":"old"}', '{"current":""}', '{"current":"a","previous":1}'])(
    'refuses %j',
    (raw) => {
      expect(() => parseWebhookSecret(raw)).toThrow(/webhook secret/);
    },
  );
});

describe('receiver keys', () => {
  it('are HMAC-SHA256(master, "async-jobs-webhook-v1:" + origin), in hex', () => {
    expect(receiverKey('master', 'https://receiver.example')).toBe(
      createHmac('sha256', 'master')
        .update('async-jobs-webhook-v1:https://receiver.example')
        .digest('hex'),
    );
  });

  it('differ per origin and per master, and ignore path, query and case', () => {
    expect(keyOrigin('https://Receiver.Example:443/a/b?c=1')).toBe('https://receiver.example');
    expect(keyOrigin('https://receiver.example:8443/x')).toBe('https://receiver.example:8443');
    const [a] = receiverKeys({ current: 'm' }, 'https://a.example/hook');
    const [a2] = receiverKeys({ current: 'm' }, 'https://A.example/other?x=1');
    const [b] = receiverKeys({ current: 'm' }, 'https://b.example/hook');
    const [a3] = receiverKeys({ current: 'm2' }, 'https://a.example/hook');
    expect(a).toBe(a2);
    expect(new Set([a, b, a3]).size).toBe(3);
  });

  it('sign with both masters during a rotation, the current one first', () => {
    const keys = receiverKeys({ current: 'new', previous: 'old' }, 'https://r.example/');
    expect(keys).toEqual([
      receiverKey('new', 'https://r.example'),
      receiverKey('old', 'https://r.example'),
    ]);
    const header = signatureHeader(keys, '1700000000', '{"a":1}');
    const mac = (k: string) => createHmac('sha256', k).update('1700000000.{"a":1}').digest('hex');
    expect(header).toBe(`v1=${mac(keys[0]!)},v1=${mac(keys[1]!)}`);
  });

  it('are printed for the operator per origin', () => {
    expect(describeKeys({ current: 'm' }, 'https://r.example/hook')).toEqual([
      'origin: https://r.example',
      `key: ${receiverKey('m', 'https://r.example')}`,
    ]);
    expect(describeKeys({ current: 'n', previous: 'm' }, 'https://r.example')[2]).toBe(
      `previous key (valid until the rotation ends): ${receiverKey('m', 'https://r.example')}`,
    );
  });
});

describe('webhookSecretSource', () => {
  it('reads WEBHOOK_SECRET as is', async () => {
    const source = webhookSecretSource({ WEBHOOK_SECRET: '{"current":"a","previous":"b"}' });
    expect(await source()).toEqual({ current: 'a', previous: 'b' });
  });

  it('reads the Secrets Manager secret once per TTL, so a rotation reaches warm functions', async () => {
    let now = 0;
    const values = ['one', '{"current":"two","previous":"one"}'];
    const asked: string[] = [];
    const source = webhookSecretSource(
      { WEBHOOK_SECRET_ARN: 'arn:secret' },
      {
        ttlMs: 1000,
        now: () => now,
        fetch: async (arn) => {
          asked.push(arn);
          return values[asked.length - 1]!;
        },
      },
    );
    expect(await source()).toEqual({ current: 'one' });
    now = 999;
    expect(await source()).toEqual({ current: 'one' });
    now = 1000;
    expect(await source()).toEqual({ current: 'two', previous: 'one' });
    expect(asked).toEqual(['arn:secret', 'arn:secret']);
  });

  it('names the variable when neither is set', async () => {
    await expect(webhookSecretSource({})()).rejects.toThrow('WEBHOOK_SECRET_ARN');
  });
});
