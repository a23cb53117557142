import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { modelUrlFrom } from '../../../src/local/container.ts';
import {
  TEST_NOTIFICATION,
  startLocalSageMaker,
  type LocalSageMaker,
  type LocalSageMakerOptions,
} from '../../../src/local/sagemaker.ts';

const SUCCESS = 'arn:aws:sns:us-east-1:000000000000:success';
const ERROR = 'arn:aws:sns:us-east-1:000000000000:error';

let runtime: LocalSageMaker | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

function start(opts: Partial<LocalSageMakerOptions>) {
  return startLocalSageMaker({
    // Never called: nothing is invoked in these tests.
    s3: new S3Client({ region: 'us-east-1' }),
    outputBucket: 'out',
    outputPrefix: 'outputs/',
    failurePrefix: 'failures/',
    successTopicArn: SUCCESS,
    errorTopicArn: ERROR,
    publish: async () => undefined,
    ...opts,
  });
}

describe('the test notification at start', () => {
  it('is published to both topics with exactly the body SageMaker sends, and logged', async () => {
    const publish = vi.fn(async (_topicArn: string, _message: string) => undefined);
    const log = vi.fn();
    runtime = await start({ publish, log, testNotification: true });
    expect(publish.mock.calls).toEqual([
      [SUCCESS, TEST_NOTIFICATION],
      [ERROR, TEST_NOTIFICATION],
    ]);
    expect(JSON.parse(TEST_NOTIFICATION)).toEqual({
      eventVersion: '1.0',
      eventSource: 'aws:sagemaker',
      eventName: 'TestNotification',
    });
    expect(TEST_NOTIFICATION).toBe(
      '{"eventVersion":"1.0","eventSource":"aws:sagemaker","eventName":"TestNotification"}',
    );
    expect(log).toHaveBeenCalledWith('test notification published', {
      topics: [SUCCESS, ERROR],
    });
  });

  it('is not published unless asked for (tests that count notifications stay exact)', async () => {
    const publish = vi.fn(async () => undefined);
    runtime = await start({ publish });
    expect(publish).not.toHaveBeenCalled();
  });
});

describe('--model-url / SANDBOX_MODEL_URL', () => {
  it('takes the flag first, then the variable, else the demo model', () => {
    const env = { SANDBOX_MODEL_URL: 'http://127.0.0.1:9000' };
    expect(modelUrlFrom(['--model-url', 'http://127.0.0.1:8080'], env)).toBe(
      'http://127.0.0.1:8080',
    );
    expect(modelUrlFrom(['--model-url=http://localhost:8081'], {})).toBe('http://localhost:8081');
    expect(modelUrlFrom([], env)).toBe('http://127.0.0.1:9000');
    expect(modelUrlFrom([], {})).toBeUndefined();
    expect(modelUrlFrom([], { SANDBOX_MODEL_URL: '' })).toBeUndefined();
  });

  it('refuses what is not an http URL, and unknown flags', () => {
    expect(() => modelUrlFrom(['--model-url', '127.0.0.1:8080'], {})).toThrow(/http:\/\//);
    expect(() => modelUrlFrom(['--model-url', 'https://example.com'], {})).toThrow(/http:\/\//);
    expect(() => modelUrlFrom(['--modle-url', 'http://x'], {})).toThrow(/modle-url/);
  });
});

describe('DescribeEndpoint (the dispatcher learns its window from it)', () => {
  /** The call as the SDK's awsJson1_1 protocol makes it (X-Amz-Target, a JSON body). */
  const describe_ = async (url: string, EndpointName: string) => {
    const res = await fetch(`${url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'SageMaker.DescribeEndpoint',
      },
      body: JSON.stringify({ EndpointName }),
    });
    return {
      status: res.status,
      type: res.headers.get('x-amzn-errortype'),
      body: (await res.json()) as { ProductionVariants: unknown[] } & Record<string, unknown>,
    };
  };

  it('answers the instances in service and the per-instance concurrency', async () => {
    runtime = await start({ endpoints: ['demo-endpoint'], concurrency: 3 });
    const { status, body } = await describe_(runtime.url, 'demo-endpoint');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      EndpointName: 'demo-endpoint',
      EndpointStatus: 'InService',
      ProductionVariants: [
        { VariantName: 'AllTraffic', CurrentInstanceCount: 1, DesiredInstanceCount: 1 },
      ],
      AsyncInferenceConfig: { ClientConfig: { MaxConcurrentInvocationsPerInstance: 3 } },
    });
  });

  it('answers no instance for an endpoint scaled to zero, and refuses an unknown endpoint', async () => {
    runtime = await start({
      endpoints: ['demo-endpoint'],
      capacity: { minInstances: 0, maxInstances: 2 },
    });
    const { body } = await describe_(runtime.url, 'demo-endpoint');
    expect(body.ProductionVariants[0]).toMatchObject({
      CurrentInstanceCount: 0,
      DesiredInstanceCount: 0,
    });
    // As SageMaker answers for a name it does not have.
    expect(await describe_(runtime.url, 'other')).toMatchObject({
      status: 400,
      type: 'ValidationException',
      body: { message: 'Could not find endpoint "other".' },
    });
  });
});
