import { describe, expect, it } from 'vitest';
import { admissionArgs, concurrencyArgs } from '../../../src/local/admission.ts';
import { admissionEnv } from '../../../src/local/sandbox.ts';
import { localStack } from '../../../src/local/stack.ts';
import { readyBanner } from '../../../src/local/banner.ts';

/* `npm start -- --admission on`: the flag, the variables the `local` stage reads, the banner. */

describe('npm start -- --admission', () => {
  it('takes the flag (either form) out of the arguments, else SANDBOX_ADMISSION, else off', () => {
    expect(admissionArgs(['--admission', 'on', '--fresh'], {})).toEqual({
      admission: 'on',
      rest: ['--fresh'],
    });
    expect(admissionArgs(['--admission=off'], { SANDBOX_ADMISSION: 'on' }).admission).toBe('off');
    expect(admissionArgs([], { SANDBOX_ADMISSION: 'on' }).admission).toBe('on');
    expect(admissionArgs([], {}).admission).toBe('off');
    expect(() => admissionArgs(['--admission', 'yes'], {})).toThrow(/must be on or off/);
    expect(() => admissionArgs(['--admission'], {})).toThrow(/needs a value/);
  });

  it('takes --concurrency (either form) out of the arguments, 1 to 1000, else none', () => {
    expect(concurrencyArgs(['--concurrency', '1', '--fresh'])).toEqual({
      concurrency: 1,
      rest: ['--fresh'],
    });
    expect(concurrencyArgs(['--concurrency=8']).concurrency).toBe(8);
    expect(concurrencyArgs(['--fresh'])).toEqual({ rest: ['--fresh'] });
    for (const bad of ['0', '1001', '2.5', 'two']) {
      expect(() => concurrencyArgs(['--concurrency', bad])).toThrow(/1 to 1000/);
    }
    expect(() => concurrencyArgs(['--concurrency'])).toThrow(/needs a value/);
  });

  it("sets the stage's admission and the window's per-instance share from the local runtime", () => {
    const on = localStack(admissionEnv({ admission: 'on', concurrency: 3 })).functions;
    expect(on.dispatch.environment).toMatchObject({
      ADMISSION: 'on',
      PER_INSTANCE_CONCURRENCY: '3',
      DISPATCH_QUEUE_URL: 'http://127.0.0.1:4571/000000000000/async-jobs-local-dispatch',
      // DescribeEndpoint reaches the local runtime, on its port.
      AWS_ENDPOINT_URL_SAGEMAKER: 'http://127.0.0.1:4568',
    });
    expect(on.dispatch.schedules.map((s) => s.expression)).toEqual(['rate(1 minute)']);
    const off = localStack(admissionEnv({})).functions;
    // No tick with admission off, as deploy/queue.cjs disables it in a deployed stack.
    expect(off.dispatch.schedules).toEqual([]);
    expect(off.submitJob.environment).toMatchObject({
      ADMISSION: 'off',
      PER_INSTANCE_CONCURRENCY: '2',
    });
  });

  it('says in the banner whether jobs wait, and where the queue is seen', () => {
    const sandbox = {
      apiUrl: 'http://127.0.0.1:3100',
      s3Url: 's3',
      dynamodbUrl: 'ddb',
      sageMakerUrl: 'sm',
      lambdaUrl: 'lambda',
      eventBridgeUrl: 'eb',
      sqs: { url: 'sqs' },
    };
    const on = readyBanner(sandbox, { seconds: 1, admission: 'on' });
    expect(on).toMatch(/admission on: .*GET http:\/\/127\.0\.0\.1:3100\/queue shows them/);
    expect(on).toMatch(/^\s+GET\s+\/queue\s+getQueue$/m);
    expect(readyBanner(sandbox, { seconds: 1 })).toMatch(
      /admission off \(npm start -- --admission on/,
    );
  });
});
