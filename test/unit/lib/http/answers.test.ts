import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { BadRequest, Throttled } from '../../../../src/lib/domain/errors.ts';
import {
  bodyBytes,
  header,
  httpErrors,
  isDependencyFailure,
  type HttpEvent,
} from '../../../../src/lib/http/answers.ts';
import { lambdaContext } from '../../../support/lambda.ts';

const event = (patch: Partial<HttpEvent> = {}) => ({ headers: {}, ...patch }) as HttpEvent;
const run = (
  err: unknown,
): Promise<{ statusCode: number; headers: Record<string, string>; body: string }> =>
  middy<HttpEvent, never>(async () => {
    throw err;
  }).use(httpErrors())(event(), lambdaContext('t'));

describe('http', () => {
  it('decodes base64 bodies byte-exact and text bodies as UTF-8', () => {
    const bytes = Buffer.from([0, 255, 128]);
    expect(bodyBytes(event({ body: bytes.toString('base64'), isBase64Encoded: true }))).toEqual(
      bytes,
    );
    expect(bodyBytes(event({ body: 'é', isBase64Encoded: false }))).toEqual(Buffer.from('é'));
    expect(bodyBytes(event())).toHaveLength(0);
  });

  it('finds headers whatever their case', () => {
    expect(header(event({ headers: { 'Content-Type': 'text/csv' } }), 'content-type')).toBe(
      'text/csv',
    );
  });

  it('answers a named error with its status, headers and a {message} body', async () => {
    expect(await run(new BadRequest('bad id'))).toEqual({
      statusCode: 400,
      headers: { 'content-type': 'application/json', 'x-content-type-options': 'nosniff' },
      body: '{"message":"bad id"}',
    });
    const throttled = await run(new Throttled('slow down', 7));
    expect(throttled.statusCode).toBe(429);
    expect(throttled.headers['Retry-After']).toBe('7');
  });

  it('answers an unexpected error with 500 and nothing of its cause', async () => {
    const res = await run(new TypeError('Cannot read properties of undefined (reading "secret")'));
    expect(res.statusCode).toBe(500);
    expect(res.body).toBe('{"message":"internal error"}');
  });

  it('answers a failing dependency with 503 and Retry-After', async () => {
    const err = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(isDependencyFailure(err)).toBe(true);
    const res = await run(err);
    expect(res.statusCode).toBe(503);
    expect(res.headers['Retry-After']).toBe('5');
    expect(isDependencyFailure(new TypeError('x'))).toBe(false);
  });
});
