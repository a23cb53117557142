import { ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import { describe, expect, it } from 'vitest';
import { invokeError } from '../../../../src/lib/adapters/sagemaker.ts';
import { jobsFromMessage, type TriggerDeps } from '../../../../src/lib/app/trigger.ts';
import { loadConfig } from '../../../../src/lib/config.ts';
import { S3AccessDenied } from '../../../../src/lib/domain/errors.ts';
import { answering } from '../../../support/answers.ts';
import { submitFakes } from '../../../support/fakes/ports.ts';

/*
 * S3-triggered jobs on the fakes of a submit's ports: what is looked up, claimed, invoked and
 * refused. How S3 answers a HeadObject (404 NotFound as no object, 403 as S3AccessDenied) is the
 * S3 adapter's test (test/unit/lib/adapters/storage.test.ts, headObject); how SageMaker's
 * refusals become AppErrors is the SageMaker adapter's (sagemaker.test.ts, invokeError).
 */

const config = loadConfig({ ...process.env, TRIGGER_PREFIX: 'drop/' });
const rules = {
  inputBucket: config.inputBucket,
  prefix: 'drop/',
  inputPrefix: 'inputs/',
  maxBytes: 1_000_000,
  contentTypes: [] as string[],
};
const at = (key: string) => ({ bucket: config.inputBucket, key });

/** A submit's ports on their fakes, with `objects` already in the input bucket. */
function setup(objects: [key: string, body: string | Buffer, contentType?: string][] = []) {
  const fakes = submitFakes({ config, now: () => new Date('2026-11-26T12:00:00Z') });
  for (const [key, body, type] of objects) fakes.objects.seed(at(key), body, type);
  const deps: TriggerDeps = { ...fakes.deps, rules };
  return { ...fakes, deps };
}

const created = (key: string, size = 5) => ({
  source: 'aws.s3',
  'detail-type': 'Object Created',
  detail: { bucket: { name: config.inputBucket }, object: { key, size, etag: 'abc' } },
});

describe('jobsFromMessage', () => {
  it('submits the dropped object where it lies, with its own Content-Type, under an id derived from it', async () => {
    const { deps, objects, endpoint } = setup([['drop/scan 1.png', 'image', 'image/png']]);
    const [outcome] = await jobsFromMessage(created('drop/scan 1.png'), deps);
    expect(outcome).toMatchObject({
      result: 'submitted',
      inferenceId: expect.stringMatching(/^s3-scan-1\.png-/),
    });
    expect(endpoint.invocations).toMatchObject([
      {
        input: at('drop/scan 1.png'),
        contentType: 'image/png',
        inferenceId: (outcome as { inferenceId: string }).inferenceId,
      },
    ]);
    // The input is already in the bucket: nothing is copied, it is only looked at.
    expect(objects.calls).toEqual([{ method: 'head', loc: at('drop/scan 1.png') }]);
  });

  it('answers a repeated event with the existing job and never invokes twice', async () => {
    const { deps, endpoint } = setup([['drop/a.csv', '1,2\n', 'text/csv']]);
    const [first] = await jobsFromMessage(created('drop/a.csv'), deps);
    const [outcome] = await jobsFromMessage(created('drop/a.csv'), deps);
    expect(outcome!.result).toBe('duplicate');
    expect(outcome).toMatchObject({ inferenceId: (first as { inferenceId: string }).inferenceId });
    expect(endpoint.invocations).toHaveLength(1);
  });

  it('refuses, once and without retry, an object deleted before it was read', async () => {
    const { deps, endpoint } = setup();
    const [outcome] = await jobsFromMessage(created('drop/a.csv'), deps);
    expect(outcome).toMatchObject({ result: 'refused', reason: 'gone' });
    expect(endpoint.invocations).toHaveLength(0);
  });

  it('finds a key it was sent encoded ("+" for a space) by its decoded form', async () => {
    // Only the decoded key exists: the key as sent is not found first.
    const { deps, objects, endpoint } = setup([['drop/red flower.jpg', 'jpg', 'image/jpeg']]);
    const [outcome] = await jobsFromMessage(created('drop/red+flower.jpg'), deps);
    expect(outcome!.result).toBe('submitted');
    expect(objects.calls.map((c) => c.loc.key)).toEqual([
      'drop/red+flower.jpg',
      'drop/red flower.jpg',
    ]);
    expect(endpoint.invocations[0]!.input).toEqual(at('drop/red flower.jpg'));
  });

  it('refuses a type outside the allow-list, a folder marker type, and an object grown too large', async () => {
    const { deps, endpoint } = setup([
      ['drop/a.png', 'image', 'image/png'],
      ['drop/b', 'x', 'application/x-directory'],
      ['drop/c.csv', Buffer.alloc(2_000_000), 'text/csv'],
    ]);
    const only = { ...deps, rules: { ...rules, contentTypes: ['text/csv'] } };
    expect((await jobsFromMessage(created('drop/a.png'), only))[0]).toMatchObject({
      result: 'refused',
      reason: 'unsupported-type',
    });
    expect((await jobsFromMessage(created('drop/b'), deps))[0]).toMatchObject({
      reason: 'unsupported-type',
    });
    expect((await jobsFromMessage(created('drop/c.csv'), deps))[0]).toMatchObject({
      reason: 'too-large',
    });
    expect(endpoint.invocations).toHaveLength(0);
  });

  it('refuses what SageMaker rejects as invalid (it would fail the same way every time) and releases the claim', async () => {
    const { deps, endpoint, store } = setup([['drop/a.csv', '1,2\n', 'text/csv']]);
    endpoint.faults.push(
      invokeError(
        new ValidationError({
          message: 'Input location is invalid',
          $metadata: { httpStatusCode: 400 },
        }),
      ),
    );
    const [outcome] = await jobsFromMessage(created('drop/a.csv'), deps);
    expect(outcome).toMatchObject({ result: 'refused', reason: 'rejected' });
    expect(store.count('release')).toBe(1);
    expect(store.records.size).toBe(0);
  });

  it('throws what a retry can fix: throttling, and a 403 that says a permission is missing', async () => {
    const { deps, endpoint, objects } = setup([['drop/a.csv', '1,2\n', 'text/csv']]);
    // InvokeEndpointAsync answers 429 ThrottlingException when throttled
    // (https://docs.aws.amazon.com/sagemaker/latest/APIReference/CommonErrors.html).
    endpoint.faults.push(
      invokeError(
        Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottlingException',
          $metadata: { httpStatusCode: 429 },
        }),
      ),
    );
    await expect(answering(jobsFromMessage(created('drop/a.csv'), deps))).rejects.toMatchObject({
      status: 429,
    });
    // What the S3 adapter throws for a 403 (storage.test.ts, headObject).
    objects.fail(
      'head',
      () =>
        new S3AccessDenied(
          'S3 denied reading the object (AccessDenied): the function role lacks s3:GetObject or s3:ListBucket',
        ),
    );
    await expect(jobsFromMessage(created('drop/b.csv'), deps)).rejects.toThrow(/AccessDenied/);
  });

  it("acknowledges S3's test event and anything that is not an object-created event, calling nothing", async () => {
    const { deps, objects, endpoint, store } = setup();
    expect(
      await jobsFromMessage({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' }, deps),
    ).toEqual([{ result: 'test' }]);
    expect((await jobsFromMessage(undefined, deps))[0]!.result).toBe('unknown');
    expect(objects.count()).toBe(0);
    expect(endpoint.invocations).toHaveLength(0);
    expect(store.calls).toEqual([]);
  });
});
