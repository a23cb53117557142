import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  InvokeEndpointAsyncCommand,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as getJob } from '../../../../src/handlers/getJob.ts';
import { handler as submitJob } from '../../../../src/handlers/submitJob.ts';
import { loadConfig } from '../../../../src/lib/config.ts';
import { RefusedNotification } from '../../../../src/lib/domain/errors.ts';
import type { JobStore } from '../../../../src/lib/adapters/job-store.ts';
import { parseNotification } from '../../../../src/lib/domain/notification.ts';
import { processEvent } from '../../../../src/lib/wiring/results.ts';
import { parseS3Uri } from '../../../../src/lib/domain/locations.ts';
import { lambdaContext } from '../../../support/lambda.ts';
import { SUCCESS_TOPIC, completed, failed, sqsEvent } from '../../../support/notifications.ts';
import { endingPorts } from '../../../../src/lib/wiring/endings.ts';

/*
 * Random and mutated inputs: the parser only ever refuses (never crashes), and the HTTP handlers
 * never answer a client's mistake with a 5xx.
 */

const ddb = mockClient(DynamoDBClient);
const s3mock = mockClient(S3Client);
const sm = mockClient(SageMakerRuntimeClient);
type Answer = { statusCode: number; headers: Record<string, string>; body: string };
const call = (h: unknown, e: unknown) =>
  (h as (e: unknown, c: unknown) => Promise<Answer>)(e, lambdaContext('prop'));

beforeEach(() => {
  ddb.reset();
  s3mock.reset();
  sm.reset();
  ddb.on(PutItemCommand).resolves({});
  ddb.on(GetItemCommand).resolves({});
  ddb
    .on(UpdateItemCommand)
    .resolves({ Attributes: marshall({ inferenceId: 'x', status: 'IN_PROGRESS' }) });
  s3mock.on(PutObjectCommand).resolves({});
  sm.on(InvokeEndpointAsyncCommand).resolves({ OutputLocation: 's3://async-jobs-local-output/o' });
});

/** A valid notification with one field replaced by an arbitrary JSON value, or removed. */
const mutated = fc
  .tuple(
    fc.constantFrom(completed('a', { responseBody: Buffer.from('1') }), failed('b')),
    fc.array(
      fc.tuple(
        fc.constantFrom(
          'eventSource',
          'invocationStatus',
          'inferenceId',
          'eventTime',
          'failureReason',
          'requestParameters',
          'responseParameters',
          'responseBody',
          'failureLocation',
        ),
        fc.option(fc.jsonValue(), { nil: undefined }),
      ),
      { maxLength: 3 },
    ),
  )
  .map(([base, edits]) => {
    const m: Record<string, unknown> = structuredClone(base);
    for (const [k, v] of edits) m[k] = v;
    return m;
  });

describe('notification parser (property-based)', () => {
  it('refuses or accepts, never crashes, and what it accepts is within limits', () => {
    fc.assert(
      fc.property(fc.oneof(mutated, fc.jsonValue(), fc.string()), (message) => {
        const body = typeof message === 'string' ? message : JSON.stringify(message);
        try {
          const n = parseNotification({ id: '1', body }, undefined);
          expect(n.inferenceId.length).toBeGreaterThan(0);
          expect(n.inferenceId.length).toBeLessThanOrEqual(64);
          expect(n.eventSource).toBe('aws:sagemaker');
          const out = n.responseParameters?.outputLocation;
          if (out) expect(parseS3Uri(out) ?? out.startsWith('s3://')).toBeTruthy();
        } catch (err) {
          expect(err).toBeInstanceOf(RefusedNotification);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('an SQS batch of random records answers failures only for records it was given', async () => {
    const store = {
      transition: async () => ({ applied: true }),
    } as unknown as JobStore;
    const deps = endingPorts({
      config: loadConfig(),
      store,
      s3: () => new S3Client({ region: 'us-east-1' }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(mutated, fc.jsonValue()), { minLength: 1, maxLength: 10 }),
        async (messages) => {
          const event = sqsEvent(
            ...messages.map((message, i) => ({
              id: `m${i}`,
              message,
              topic: i % 2 ? SUCCESS_TOPIC : undefined,
            })),
          );
          const res = await processEvent(event, SUCCESS_TOPIC, deps);
          const ids = new Set(messages.map((_, i) => `m${i}`));
          for (const f of res!.batchItemFailures) expect(ids.has(f.itemIdentifier)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});

const queryValue = fc.oneof(
  fc.string(),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,70}$/),
  fc.integer({ min: -10, max: 30_000 }).map(String),
  fc.constantFrom('s3://async-jobs-local-input/x', 's3://other-bucket/x', 's3://', 'delay_ms=5'),
);

describe('HTTP input validation (property-based)', () => {
  it('submitJob never answers a client mistake with a 5xx, and errors are {message}', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom(
            'inferenceId',
            'accept',
            'customAttributes',
            'requestTtlSeconds',
            'invocationTimeoutSeconds',
            'inputLocation',
            'unknown',
          ),
          queryValue,
        ),
        fc.option(
          fc.oneof(fc.string(), fc.constantFrom('text/csv', 'application/json', 'image/png')),
          {
            nil: undefined,
          },
        ),
        fc.oneof(
          fc.string(),
          fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
        ),
        fc.boolean(),
        async (query, contentType, body, isBase64Encoded) => {
          const res = await call(submitJob, {
            version: '2.0',
            headers: contentType === undefined ? {} : { 'content-type': contentType },
            queryStringParameters: query,
            body,
            isBase64Encoded,
          });
          expect(res.statusCode).toBeLessThan(500);
          if (res.statusCode >= 400) expect(Object.keys(JSON.parse(res.body))).toEqual(['message']);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('getJob never answers a 5xx for any id', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 100 }), async (id) => {
        const res = await call(getJob, {
          version: '2.0',
          headers: {},
          pathParameters: { inferenceId: id },
        });
        expect([400, 404]).toContain(res.statusCode);
      }),
      { numRuns: 300 },
    );
  });
});
