import { ModelNotReadyException } from '@aws-sdk/client-sagemaker-runtime';
import { describe, expect, it } from 'vitest';
import { invokeError } from '../../../../src/lib/adapters/sagemaker.ts';
import { errorAnswer } from '../../../../src/lib/http/errors.ts';

describe('invokeError', () => {
  it('says the model is not ready, not that the endpoint throttles, for ModelNotReadyException', () => {
    // SageMaker answers it (HTTP 429) while the model loads; the local runtime while the container
    // of --model-url has not passed /ping.
    const err = new ModelNotReadyException({
      message: 'not ready',
      $metadata: { httpStatusCode: 429 },
    });
    const answer = invokeError(err);
    expect(errorAnswer(answer).status).toBe(429);
    expect(answer.retryable).toBe(true);
    expect(answer.message).toBe(
      "the endpoint's model is not ready (its container has not answered /ping yet); retry with the same inferenceId",
    );
    expect(errorAnswer(answer).headers['Retry-After']).toBe('10');
    expect(
      invokeError(Object.assign(new Error('x'), { name: 'ThrottlingException' })).message,
    ).toBe('the endpoint is throttling requests; retry with the same inferenceId');
  });
});
