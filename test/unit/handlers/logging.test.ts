import { vi } from 'vitest';

// Before the logger is built: this file checks what it writes.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
});

import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
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
});
