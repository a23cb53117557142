import { vi } from 'vitest';

// Before the logger is built: this file checks what it writes.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
});

import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { handler as onError } from '../../../src/handlers/onError.ts';
import { handler as onSuccess } from '../../../src/handlers/onSuccess.ts';
import { lambdaContext } from '../../support/lambda.ts';

const ddb = mockClient(DynamoDBClient);
const event = (name: string) => JSON.parse(readFileSync(`events/${name}`, 'utf8'));

afterEach(() => vi.restoreAllMocks());

describe('logging', () => {
  it('writes JSON lines carrying the inferenceId and never the payload', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    ddb.on(UpdateItemCommand).resolves({});
    const run = onSuccess as unknown as (e: unknown, c: unknown) => Promise<unknown>;
    await run(event('success-response-body.json'), lambdaContext('onSuccess'));
    await run(event('success-sqs.json'), lambdaContext('onSuccess'));
    vi.restoreAllMocks();
    const entries = lines
      .flatMap((l) => l.split('\n'))
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.length).toBeGreaterThanOrEqual(3);
    for (const entry of entries) {
      expect(entry.inferenceId).toMatch(/^sample-/);
      expect(entry.function_name).toBe('onSuccess');
    }
    const all = lines.join('');
    for (const payload of ['0.98', '"label"', 'cat', 'dog', 'eyJ'])
      expect(all).not.toContain(payload);
  });

  it('logs the test notification as ignored in one info line, on both topics', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const sqs = event('test-notification-sqs.json');
    const sns = event('test-notification.json');
    for (const [fn, e] of [
      [onSuccess, sns],
      [onError, sqs],
    ] as const) {
      const run = fn as unknown as (e: unknown, c: unknown) => Promise<unknown>;
      await run(e, lambdaContext('fn'));
    }
    vi.restoreAllMocks();
    const entries = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.startsWith('{') && !l.includes('"_aws"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.map((e) => [e.level, e.message])).toEqual([
      ['INFO', 'test notification ignored'],
      ['INFO', 'test notification ignored'],
    ]);
    expect(entries[0]).toMatchObject({
      topicArn: 'arn:aws:sns:us-east-1:000000000000:async-jobs-local-success',
    });
  });
});
