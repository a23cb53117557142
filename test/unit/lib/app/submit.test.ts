import { ServiceUnavailable, ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../../src/lib/domain/errors.ts';
import { errorAnswer } from '../../../../src/lib/http/errors.ts';
import { invokeError } from '../../../../src/lib/adapters/sagemaker.ts';
import { submitJob } from '../../../../src/lib/app/submit.ts';
import { parseSubmitQuery } from '../../../../src/lib/domain/submission.ts';
import { submitFakes } from '../../../support/fakes/ports.ts';
import { answeringSync } from '../../../support/answers.ts';

/*
 * submitJob against the fakes of its ports (test/support/fakes): what it stores, invokes and
 * records, read back through them. How each port speaks to AWS is its adapter's test, and the
 * contract suites (test/contract) hold the fakes to the emulators.
 */

const csv = Buffer.from('1,2\n3,4\n');
const ID = '00000000-0000-4000-8000-000000000000';
const setup = () => submitFakes({ newId: () => ID });

async function status(p: Promise<unknown>): Promise<number> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return err instanceof AppError ? errorAnswer(err).status : 0;
}

describe('submitJob', () => {
  it('stores the body, invokes with every parameter, records the locations', async () => {
    const { deps, objects, endpoint, store } = setup();
    const res = await submitJob(
      {
        query: {
          inferenceId: 'job-1',
          accept: 'application/json',
          customAttributes: 'delay_ms=10',
          requestTtlSeconds: '600',
          invocationTimeoutSeconds: '120',
        },
        contentType: 'text/csv',
        body: csv,
      },
      deps,
    );
    expect(res.created).toBe(true);
    const input = { bucket: 'async-jobs-local-input', key: 'inputs/job-1' };
    expect(objects.body(input)).toEqual(csv);
    expect(objects.objects.get('async-jobs-local-input/inputs/job-1')?.contentType).toBe(
      'text/csv',
    );
    expect(endpoint.invocations).toEqual([
      {
        endpointName: 'demo-endpoint',
        input,
        inferenceId: 'job-1',
        contentType: 'text/csv',
        accept: 'application/json',
        customAttributes: 'delay_ms=10',
        requestTtlSeconds: 600,
        invocationTimeoutSeconds: 120,
      },
    ]);
    const recorded = store.records.get('job-1');
    expect(recorded?.outputLocation).toBe(
      's3://async-jobs-local-output/outputs/demo-endpoint/job-1.out',
    );
    expect(res.job.outputLocation).toBe(recorded?.outputLocation);
  });

  it('routes to an allow-listed endpoint and records it on the job', async () => {
    const { deps, endpoint, store } = setup();
    const multi = {
      ...deps,
      config: { ...deps.config, endpointNames: ['demo-endpoint', 'other-ep'] },
    };
    await submitJob({ query: { endpoint: 'other-ep' }, contentType: 'text/csv', body: csv }, multi);
    expect(endpoint.invocations[0]!.endpointName).toBe('other-ep');
    expect(store.records.get(ID)?.endpointName).toBe('other-ep');
  });

  it('answers 400 for an endpoint outside the allow-list and invokes nothing', async () => {
    const { deps, endpoint, store } = setup();
    expect(
      await status(
        submitJob({ query: { endpoint: 'not-allowed' }, contentType: 'text/csv', body: csv }, deps),
      ),
    ).toBe(400);
    expect(
      await status(
        submitJob({ query: { endpoint: 'bad name!' }, contentType: 'text/csv', body: csv }, deps),
      ),
    ).toBe(400);
    expect(endpoint.invocations).toHaveLength(0);
    expect(store.calls).toHaveLength(0);
  });

  it('claims before it uploads or invokes', async () => {
    const { deps, objects, endpoint, store } = setup();
    const claimed: boolean[] = [];
    const put = objects.put.bind(objects);
    objects.put = async (...args) => {
      claimed.push(store.records.has(ID));
      return put(...args);
    };
    const invoke = endpoint.invokeAsync.bind(endpoint);
    endpoint.invokeAsync = async (...args) => {
      claimed.push(store.records.has(ID));
      return invoke(...args);
    };
    await submitJob({ query: {}, contentType: 'text/csv', body: csv }, deps);
    expect(store.calls[0]).toBe('claim');
    expect(claimed).toEqual([true, true]);
    expect(store.records.get(ID)?.expiresAt).toBe(
      Date.parse('2026-11-24T12:00:00Z') / 1000 + 30 * 86_400,
    );
  });

  it('answers an existing id with the record and invokes nothing', async () => {
    const { deps, objects, endpoint, store } = setup();
    store.put({ inferenceId: 'dup', status: 'COMPLETED' });
    const res = await submitJob(
      { query: { inferenceId: 'dup' }, contentType: 'text/csv', body: csv },
      deps,
    );
    expect(res.created).toBe(false);
    expect(res.job).toMatchObject({ inferenceId: 'dup', status: 'COMPLETED' });
    expect(objects.count()).toBe(0);
    expect(endpoint.invocations).toHaveLength(0);
  });

  it('releases the claim when SageMaker throttles, and answers 429', async () => {
    const { deps, endpoint, store } = setup();
    endpoint.faults = [
      invokeError(
        Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottlingException',
          $metadata: { httpStatusCode: 429 },
        }),
      ),
    ];
    expect(
      await status(
        submitJob({ query: { inferenceId: 't' }, contentType: 'text/csv', body: csv }, deps),
      ),
    ).toBe(429);
    expect(store.count('release')).toBe(1);
    expect(store.records.has('t')).toBe(false);
    expect(store.count('markQueued')).toBe(0);
  });

  it('releases the claim when the upload fails, and answers 503', async () => {
    const { deps, objects, endpoint, store } = setup();
    objects.fail('put', () => new Error('socket hang up'));
    expect(await status(submitJob({ query: {}, contentType: 'text/csv', body: csv }, deps))).toBe(
      503,
    );
    expect(store.count('release')).toBe(1);
    expect(store.records.has(ID)).toBe(false);
    expect(endpoint.invocations).toHaveLength(0);
  });

  it('does not upload when the input is given by location', async () => {
    const { deps, objects, endpoint } = setup();
    await submitJob(
      {
        query: { inputLocation: 's3://async-jobs-local-input/big/x.csv' },
        contentType: 'text/csv',
        body: Buffer.alloc(0),
      },
      deps,
    );
    expect(objects.count()).toBe(0);
    expect(endpoint.invocations[0]!.input).toEqual({
      bucket: 'async-jobs-local-input',
      key: 'big/x.csv',
    });
  });

  it.each([
    [{ inferenceId: 'has space' }, 400],
    [{ inferenceId: '.starts-with-dot' }, 400],
    [{ requestTtlSeconds: '21601' }, 400],
    [{ requestTtlSeconds: '12.5' }, 400],
    [{ invocationTimeoutSeconds: '0' }, 400],
    [{ customAttributes: 'x'.repeat(1025) }, 400],
    [{ customAttributes: 'caf\u00e9' }, 400],
    [{ accept: 'not a type' }, 400],
    [{ inputLocation: 's3://async-jobs-local-input/x' }, 400], // and a body
  ])('rejects %j with %i before touching anything', async (query, code) => {
    const { deps, objects, endpoint, store } = setup();
    expect(await status(submitJob({ query, contentType: 'text/csv', body: csv }, deps))).toBe(code);
    expect(store.calls).toHaveLength(0);
    expect(objects.count()).toBe(0);
    expect(endpoint.invocations).toHaveLength(0);
  });

  it('rejects an empty body (400), a bad content type (415) and a huge body (413)', async () => {
    const { deps } = setup();
    expect(
      await status(submitJob({ query: {}, contentType: 'text/csv', body: Buffer.alloc(0) }, deps)),
    ).toBe(400);
    expect(
      await status(submitJob({ query: {}, contentType: 'text/csv;;\u0001', body: csv }, deps)),
    ).toBe(415);
    expect(
      await status(
        submitJob(
          { query: {}, contentType: 'text/csv', body: Buffer.alloc(6 * 1024 * 1024) },
          deps,
        ),
      ),
    ).toBe(413);
  });

  it('defaults the content type of a body to application/octet-stream', async () => {
    const { deps, endpoint } = setup();
    await submitJob({ query: {}, body: csv }, deps);
    expect(endpoint.invocations[0]!.contentType).toBe('application/octet-stream');
  });

  it('runs under the submit deadline, and the release under its own', async () => {
    const { deps, endpoint, deadlines } = setup();
    endpoint.faults = [invokeError(new Error('ECONNRESET'))];
    await status(submitJob({ query: {}, contentType: 'text/csv', body: csv }, deps));
    expect(deadlines.phases).toEqual(['submit', 'release']);
  });
});

describe('invokeError', () => {
  it('maps SageMaker errors to answers a client can act on', () => {
    const answer = (err: unknown) => errorAnswer(invokeError(err));
    expect(
      answer(new ValidationError({ message: 'Endpoint x not found.', $metadata: {} })).status,
    ).toBe(400);
    const unavailable = answer(new ServiceUnavailable({ message: 'down', $metadata: {} }));
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['Retry-After']).toBeDefined();
    expect(answer(Object.assign(new Error('x'), { name: 'ThrottlingException' })).status).toBe(429);
    expect(answer(new Error('ECONNRESET')).status).toBe(503);
  });

  it("never answers SageMaker's own text, which can name the account", () => {
    // InvokeEndpointAsync answers an unknown endpoint with ValidationError (HTTP 400) whose message
    // names the endpoint's account: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpointAsync.html#API_runtime_InvokeEndpointAsync_Errors
    const err = new ValidationError({
      message: 'Endpoint my-endpoint of account 123456789012 not found.',
      $metadata: { httpStatusCode: 400, requestId: 'b0e3c3a5-1111-2222-3333-444455556666' },
    });
    const answer = invokeError(err);
    expect(errorAnswer(answer).status).toBe(400);
    expect(answer.message).not.toContain('123456789012');
    expect(answer.message).not.toContain('my-endpoint of account');
    expect(answer.message).toBe(
      'SageMaker rejected the request (ValidationError): check the endpoint, the content type and the parameters; SageMaker request id b0e3c3a5-1111-2222-3333-444455556666',
    );
  });
});

describe('parseSubmitQuery', () => {
  it.each([
    ['accept', `a/b;${' '.repeat(200_000)}\u0000`, 'accept must be at most 1024 characters'],
    ['customAttributes', 'x'.repeat(1_000_000), 'customAttributes must be at most 1024 characters'],
    ['endpoint', `a${'-'.repeat(100_000)}!`, 'endpoint must be a SageMaker endpoint name'],
    ['inferenceId', 'a'.repeat(100_000), 'inferenceId must be at most 64 characters'],
  ])(
    'bounds %s before its pattern runs: one message, no regex over a long value',
    (name, value, message) => {
      expect(answeringSync(() => parseSubmitQuery({ [name]: value }))).toThrow(
        expect.objectContaining({ message, status: 400 }),
      );
    },
  );
});
