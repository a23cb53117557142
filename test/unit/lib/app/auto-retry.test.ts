import { describe, expect, it } from 'vitest';
import { eventDetail } from '../../../../src/lib/app/announce.ts';
import { scheduleRetry } from '../../../../src/lib/app/auto-retry.ts';
import { loadConfig } from '../../../../src/lib/config.ts';
import { ConfigError } from '../../../../src/lib/domain/errors.ts';
import { publicView, type Job } from '../../../../src/lib/domain/jobs.ts';
import { DEFAULT_AUTO_RETRY_ON, type AutoRetryPolicy } from '../../../../src/lib/domain/retry.ts';
import { FAILURE_REASONS } from '../../../../src/local/sagemaker.ts';
import { FakeRetryQueue } from '../../../support/fakes/retry-queue.ts';

const policy: AutoRetryPolicy = {
  maxAttempts: 3,
  on: new RegExp(DEFAULT_AUTO_RETRY_ON, 'i'),
  baseDelaySeconds: 30,
};
const failed = (failureReason: string, attempt?: number): Job => ({
  inferenceId: attempt ? `job-1.${attempt}` : 'job-1',
  status: 'FAILED',
  failureReason,
  ...(attempt ? { attempt, retryOf: 'job-1' } : {}),
});

describe('AUTO_RETRY_* configuration', () => {
  const env = {
    ENDPOINT_NAME: 'ep',
    INPUT_BUCKET: 'in-bucket',
    OUTPUT_BUCKETS: 'out',
    JOBS_TABLE: 'jobs',
  };

  it('is off by default and with one attempt; on with its defaults otherwise', () => {
    expect(loadConfig(env).autoRetry).toBeUndefined();
    expect(loadConfig({ ...env, AUTO_RETRY_MAX_ATTEMPTS: '1' }).autoRetry).toBeUndefined();
    const on = loadConfig({ ...env, AUTO_RETRY_MAX_ATTEMPTS: '3' }).autoRetry;
    expect(on).toEqual({ maxAttempts: 3, on: expect.any(RegExp), baseDelaySeconds: 60 });
    expect(on?.on.source).toBe(DEFAULT_AUTO_RETRY_ON);
  });

  it('takes a pattern and a delay, and names the variable it refuses', () => {
    const c = loadConfig({
      ...env,
      AUTO_RETRY_MAX_ATTEMPTS: '2',
      AUTO_RETRY_ON: 'capacity',
      AUTO_RETRY_BASE_DELAY_SECONDS: '5',
    });
    expect(c.autoRetry?.on.test('Insufficient CAPACITY')).toBe(true);
    expect(c.autoRetry?.baseDelaySeconds).toBe(5);
    expect(() => loadConfig({ ...env, AUTO_RETRY_ON: '(' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...env, AUTO_RETRY_MAX_ATTEMPTS: '11' })).toThrow(
      /AUTO_RETRY_MAX_ATTEMPTS/,
    );
    expect(() => loadConfig({ ...env, AUTO_RETRY_BASE_DELAY_SECONDS: '901' })).toThrow(
      /AUTO_RETRY_BASE_DELAY_SECONDS/,
    );
  });
});

describe('attempts in the outcome event', () => {
  it('says which attempt it was and whether an automatic retry follows', () => {
    const reason = FAILURE_REASONS.serverError(500, 'boom');
    expect(eventDetail(failed(reason), policy)).toMatchObject({ attempt: 1, finalAttempt: false });
    expect(eventDetail(failed(reason, 3), policy)).toMatchObject({
      attempt: 3,
      finalAttempt: true,
      retryOf: 'job-1',
    });
    expect(eventDetail(failed(reason))).toMatchObject({ attempt: 1, finalAttempt: true });
    const completed: Job = {
      inferenceId: 'job-1.2',
      status: 'COMPLETED',
      attempt: 2,
      retryOf: 'job-1',
    };
    expect(eventDetail(completed, policy)).toMatchObject({ attempt: 2, finalAttempt: true });
  });

  it('keeps the stored invocation parameters out of the record, the event and the webhook', () => {
    const job: Job = { ...failed('x'), invocation: { customAttributes: 'secret=1' } };
    expect(publicView(job)).not.toHaveProperty('invocation');
    expect(eventDetail(job)).not.toHaveProperty('invocation');
  });
});

describe('scheduleRetry', () => {
  // The SendMessage this becomes (queue, body, DelaySeconds) is the adapter's:
  // test/unit/lib/adapters/retry-queue.test.ts and test/contract/retry-queue.contract.ts.
  const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/async-jobs-dev-RetryQueue';
  const config = {
    ...loadConfig({
      ENDPOINT_NAME: 'ep',
      INPUT_BUCKET: 'in-bucket',
      OUTPUT_BUCKETS: 'out',
      JOBS_TABLE: 'jobs',
      AUTO_RETRY_MAX_ATTEMPTS: '3',
      AUTO_RETRY_BASE_DELAY_SECONDS: '30',
      RETRY_QUEUE_URL: queueUrl,
    }),
  };

  it('queues a retryable failure with its backoff as the message delay', async () => {
    const reason = FAILURE_REASONS.serverError(500, 'boom');
    const retries = new FakeRetryQueue();
    expect(await scheduleRetry(failed(reason, 2), { config, retries })).toBe(60);
    expect(retries.scheduled).toEqual([
      { message: { inferenceId: 'job-1.2', attempt: 2 }, delaySeconds: 60 },
    ]);
  });

  it('queues nothing for a failure the policy does not retry, or the last attempt', async () => {
    const retries = new FakeRetryQueue();
    const deps = { config, retries };
    expect(await scheduleRetry(failed(FAILURE_REASONS.expired), deps)).toBeUndefined();
    const last = failed(FAILURE_REASONS.serverError(500, 'boom'), 3);
    expect(await scheduleRetry(last, deps)).toBeUndefined();
    expect(retries.scheduled).toEqual([]);
    // Retrying and nowhere to queue to: a configuration error, not a silent skip.
    await expect(
      scheduleRetry(failed(FAILURE_REASONS.serverError(500, 'boom'), 1), { config }),
    ).rejects.toThrow('RETRY_QUEUE_URL is not set');
  });
});
