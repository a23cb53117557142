import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { submitJob } from '../../../../src/lib/app/submit.ts';
import { AppError, RefusedNotification } from '../../../../src/lib/domain/errors.ts';
import { parseNotification } from '../../../../src/lib/domain/notification.ts';
import { parseS3Uri } from '../../../../src/lib/domain/locations.ts';
import { bodyBytes, header, type HttpEvent } from '../../../../src/lib/http/answers.ts';
import { errorAnswer } from '../../../../src/lib/http/errors.ts';
import { processEvent } from '../../../../src/lib/wiring/results.ts';
import { endingFakes, submitFakes } from '../../../support/fakes/ports.ts';
import { SUCCESS_TOPIC, completed, failed, sqsEvent } from '../../../support/notifications.ts';

/*
 * Random and mutated inputs, on the fakes of the use cases' ports: the parser only ever refuses
 * (never crashes), and a submit never answers a client's mistake with a 5xx. getJob's own check
 * of the id, which lives in its handler, is test/unit/handlers/properties.test.ts.
 */

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
    const { deps } = endingFakes();
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

describe('submit input validation (property-based)', () => {
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
          // The request as POST /jobs reads it from API Gateway's event (src/handlers/submitJob.ts).
          const event = {
            headers: contentType === undefined ? {} : { 'content-type': contentType },
            body,
            isBase64Encoded,
          } as unknown as HttpEvent;
          const err = await submitJob(
            { query, contentType: header(event, 'content-type'), body: bodyBytes(event) },
            submitFakes().deps,
          ).then(
            () => undefined,
            (e: unknown) => e,
          );
          if (err === undefined) return;
          // Anything but an AppError is answered 500 by the edge (src/lib/http/answers.ts).
          expect(err).toBeInstanceOf(AppError);
          const answer = errorAnswer(err as AppError);
          expect(answer.status).toBeLessThan(500);
          expect(answer.status).toBeGreaterThanOrEqual(400);
          expect(Object.keys(answer.body)).toEqual(['message']);
        },
      ),
      { numRuns: 300 },
    );
  });
});
