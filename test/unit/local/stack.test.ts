import { describe, expect, it } from 'vitest';
import { StageResolver, UnresolvedVariable, localStack, rateMs } from '../../../src/local/stack.ts';

/*
 * serverless.yml's variables as the sandbox resolves them for the `local` stage (the framework's
 * own answer is checked in test/integration/stack.test.ts).
 */

const doc = {
  service: 'svc',
  params: {
    default: { a: 'default-a', b: '${param:a}-b', obj: { Ref: 'Thing' }, port: '1' },
    local: { a: 'local-a', port: '${env:PORT_X, 4567}', empty: '' },
  },
};

describe('StageResolver', () => {
  const r = new StageResolver(doc, 'local', { SET: 'yes' });

  it("takes the stage's param over the default, and resolves params inside params", () => {
    expect(r.resolve('${param:a}', 'x')).toBe('local-a');
    expect(r.resolve('${param:b}', 'x')).toBe('local-a-b');
  });

  it('takes a fallback when the variable has no value, keeping its type', () => {
    expect(r.resolve('${param:port}', 'x')).toBe(4567);
    expect(r.resolve("${env:NOPE, 'd'}", 'x')).toBe('d');
    expect(r.resolve('${env:NOPE, false}', 'x')).toBe(false);
    expect(r.resolve('http://h:${env:NOPE, 9}/p', 'x')).toBe('http://h:9/p');
    expect(r.resolve('${env:SET}', 'x')).toBe('yes');
  });

  it('keeps an empty param, and resolves sls:stage, self: and opt:stage', () => {
    expect(r.resolve('${param:empty}', 'x')).toBe('');
    expect(r.resolve('${self:service}-${sls:stage}', 'x')).toBe('svc-local');
    expect(r.resolve("${opt:stage, 'dev'} ${opt:region, 'us-east-1'}", 'x')).toBe(
      'local us-east-1',
    );
  });

  it('refuses what it cannot resolve instead of guessing', () => {
    expect(() => r.resolve('${env:NOPE}', 'provider.environment.X')).toThrow(UnresolvedVariable);
    expect(() => r.resolve('${file(./x.yml):y}', 'custom.y')).toThrow(/custom\.y/);
    expect(() => r.resolve('${ssm:/a/b}', 'x')).toThrow(/resolves param:, env:/);
    expect(() => r.resolve('arn:${param:obj}', 'x')).toThrow(/not a string/);
  });
});

describe('rateMs', () => {
  it("reads EventBridge's rate expressions, singular for 1", () => {
    expect(rateMs('rate(5 minutes)')).toBe(300_000);
    expect(rateMs('rate(1 hour)')).toBe(3_600_000);
    expect(rateMs('rate(2 days)')).toBe(172_800_000);
    expect(rateMs('rate(1 minutes)')).toBeUndefined();
    expect(rateMs('rate(5 minute)')).toBeUndefined();
    expect(rateMs('cron(0 12 * * ? *)')).toBeUndefined();
  });
});

describe("serverless.yml's local stage", () => {
  const stack = localStack({ SANDBOX_S3_PORT: '1234', SANDBOX_AUTO_RETRY_MAX_ATTEMPTS: '3' });

  it('gives each function the environment and limits the deployed stack would', () => {
    const onSuccess = stack.functions.onSuccess;
    expect(onSuccess).toMatchObject({
      name: 'async-jobs-local-onSuccess',
      entry: 'src/handlers/onSuccess.ts',
      exportName: 'handler',
      timeoutSeconds: 29,
    });
    expect(onSuccess.environment).toMatchObject({
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1234',
      AUTO_RETRY_MAX_ATTEMPTS: '3',
      DEAD_LETTER_QUEUE_URL: 'http://127.0.0.1:4571/000000000000/async-jobs-local-refused',
      POWERTOOLS_METRICS_NAMESPACE: 'AsyncJobs/local',
    });
    expect(stack.functions.reconcile).toMatchObject({ timeoutSeconds: 300, memoryMb: 256 });
    expect(stack.functions.reconcile.schedules).toEqual([
      { expression: 'rate(5 minutes)', rateMs: 300_000, input: undefined },
    ]);
  });
});
