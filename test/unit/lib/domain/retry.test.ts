import { describe, expect, it } from 'vitest';
import { CLIENT_INFERENCE_ID, type Job } from '../../../../src/lib/domain/jobs.ts';
import {
  DEFAULT_AUTO_RETRY_ON,
  attemptId,
  baseIdOf,
  parseRetryMessage,
  retryDelaySeconds,
  willAutoRetry,
  type AutoRetryPolicy,
} from '../../../../src/lib/domain/retry.ts';
import { FAILURE_REASONS } from '../../../../src/local/sagemaker.ts';

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

describe('attempt ids', () => {
  it('numbers attempts of the original, never of an attempt, and stays a client id', () => {
    expect(attemptId('job-1', 1)).toBe('job-1');
    expect(attemptId('job-1', 3)).toBe('job-1.3');
    expect(baseIdOf({ inferenceId: 'job-1.2', retryOf: 'job-1' })).toBe('job-1');
    // A client's own id with a dot is an original, not an attempt.
    expect(baseIdOf({ inferenceId: 'model.v2' })).toBe('model.v2');
    expect(CLIENT_INFERENCE_ID.test(attemptId(`a${'x'.repeat(61)}`, 2))).toBe(true); // 64
    expect(CLIENT_INFERENCE_ID.test(attemptId(`a${'x'.repeat(62)}`, 2))).toBe(false); // 65
  });
});

describe('the automatic retry policy', () => {
  it('by default retries 5xx from the container and capacity, not client errors or expiry', () => {
    expect(willAutoRetry(failed(FAILURE_REASONS.serverError(500, 'boom')), policy)).toBe(true);
    expect(willAutoRetry(failed(FAILURE_REASONS.serverError(503, 'busy')), policy)).toBe(true);
    expect(willAutoRetry(failed('ModelError: the model crashed'), policy)).toBe(true);
    expect(willAutoRetry(failed('ThrottlingException: rate exceeded'), policy)).toBe(true);
    expect(willAutoRetry(failed(FAILURE_REASONS.serverError(400, 'bad row')), policy)).toBe(false);
    expect(willAutoRetry(failed(FAILURE_REASONS.expired), policy)).toBe(false);
    expect(willAutoRetry(failed(FAILURE_REASONS.inputUnreadable), policy)).toBe(false);
  });

  it('stops at maxAttempts, counting the first', () => {
    const reason = FAILURE_REASONS.serverError(500, 'boom');
    expect(willAutoRetry(failed(reason, 2), policy)).toBe(true);
    expect(willAutoRetry(failed(reason, 3), policy)).toBe(false);
    expect(willAutoRetry({ ...failed(reason), status: 'COMPLETED' }, policy)).toBe(false);
    expect(willAutoRetry(failed(reason), undefined)).toBe(false);
  });

  it('backs off exponentially, capped at SQS DelaySeconds maximum of 900', () => {
    expect([1, 2, 3, 4].map((a) => retryDelaySeconds(a, 30))).toEqual([30, 60, 120, 240]);
    expect(retryDelaySeconds(10, 60)).toBe(900);
    expect(retryDelaySeconds(1, 0)).toBe(0);
  });

  it('reads only well-formed queue messages', () => {
    expect(parseRetryMessage('{"inferenceId":"job-1","attempt":2}')).toEqual({
      inferenceId: 'job-1',
      attempt: 2,
    });
    for (const body of ['nope', '{}', '{"inferenceId":"a","attempt":0}', '{"attempt":1}']) {
      expect(parseRetryMessage(body)).toBeUndefined();
    }
  });
});
