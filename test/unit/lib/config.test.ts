import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/lib/config.ts';
import { ConfigError } from '../../../src/lib/domain/errors.ts';

const base = {
  ENDPOINT_NAME: 'ep',
  INPUT_BUCKET: 'in-bucket',
  OUTPUT_BUCKETS: 'out-a, out-b',
  JOBS_TABLE: 'jobs',
};

describe('loadConfig', () => {
  it('reads the environment with its defaults', () => {
    expect(loadConfig(base)).toEqual({
      endpointName: 'ep',
      endpointNames: ['ep'],
      inputBucket: 'in-bucket',
      inputPrefix: 'inputs/',
      outputBuckets: ['out-a', 'out-b'],
      jobsTable: 'jobs',
      successTopicArn: undefined,
      errorTopicArn: undefined,
      inlineResultMaxBytes: 65_536,
      jobTtlDays: 30,
      reconcileAfterSeconds: 900,
      eventBusName: undefined,
      deadLetterQueueUrl: undefined,
      ownerMode: false,
      allowLoopbackWebhooks: false,
      capacityNotes: false,
      s3EndpointOverride: false,
      emulatorCredentials: undefined,
      triggerPrefix: '',
      triggerMaxBytes: 1_000_000_000,
      triggerContentTypes: [],
      admission: false,
      perInstanceConcurrency: 1,
      admissionHeadroom: 1,
      tenantQuotas: {},
      dispatchQueueUrl: undefined,
    });
  });

  it('reads queue control, and names the variable it refuses', () => {
    const c = loadConfig({
      ...base,
      ADMISSION: 'on',
      PER_INSTANCE_CONCURRENCY: '4',
      TENANT_QUOTAS: 'teamA=3:20, teamB=1',
      DISPATCH_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dispatch',
    });
    expect([c.admission, c.perInstanceConcurrency, c.tenantQuotas, c.dispatchQueueUrl]).toEqual([
      true,
      4,
      { teamA: { weight: 3, maxInFlight: 20 }, teamB: { weight: 1 } },
      'https://sqs.eu-west-1.amazonaws.com/123456789012/dispatch',
    ]);
    expect(() => loadConfig({ ...base, ADMISSION: 'yes' })).toThrow(/ADMISSION/);
    expect(() => loadConfig({ ...base, PER_INSTANCE_CONCURRENCY: '0' })).toThrow(
      /PER_INSTANCE_CONCURRENCY/,
    );
    expect(() => loadConfig({ ...base, TENANT_QUOTAS: 'teamA' })).toThrow(/TENANT_QUOTAS/);
    expect(() => loadConfig({ ...base, DISPATCH_QUEUE_URL: 'nope' })).toThrow(/DISPATCH_QUEUE_URL/);
  });

  it('reads the trigger prefix, and refuses one that overlaps the inputs POST /jobs writes', () => {
    const c = loadConfig({
      ...base,
      TRIGGER_PREFIX: 'drop/',
      TRIGGER_MAX_BYTES: '5000',
      TRIGGER_CONTENT_TYPES: 'text/csv, image/*',
    });
    expect([c.triggerPrefix, c.triggerMaxBytes, c.triggerContentTypes]).toEqual([
      'drop/',
      5000,
      ['text/csv', 'image/*'],
    ]);
    for (const bad of ['inputs/drop/', 'in', 'drop', '/drop/', '../drop/']) {
      expect(() => loadConfig({ ...base, TRIGGER_PREFIX: bad }), bad).toThrow(/TRIGGER_PREFIX/);
    }
    expect(() => loadConfig({ ...base, TRIGGER_MAX_BYTES: '2000000000' })).toThrow(
      /TRIGGER_MAX_BYTES/,
    );
  });

  it('takes emulator credentials only when every service endpoint is on loopback', () => {
    const local = {
      ...base,
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4569',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:4567',
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: 'http://127.0.0.1:4568',
      AWS_ENDPOINT_URL_SAGEMAKER: 'http://127.0.0.1:4568',
      AWS_ENDPOINT_URL_EVENTBRIDGE: 'http://localhost:4570',
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:4571',
      AWS_ENDPOINT_URL_SFN: 'http://127.0.0.1:4572',
      EMULATOR_CREDENTIALS: 'S3RVER:S3RVER',
    };
    expect(loadConfig(local).emulatorCredentials).toEqual({
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    });
    expect(() => loadConfig({ ...local, AWS_ENDPOINT_URL_SQS: '' })).toThrow(
      'EMULATOR_CREDENTIALS is only for the local emulators, but AWS_ENDPOINT_URL_SQS is not a loopback URL',
    );
    expect(() =>
      loadConfig({
        ...local,
        AWS_ENDPOINT_URL_SAGEMAKER: 'https://api.sagemaker.us-east-1.amazonaws.com',
      }),
    ).toThrow(/AWS_ENDPOINT_URL_SAGEMAKER is not a loopback URL/);
    expect(() =>
      loadConfig({ ...local, AWS_ENDPOINT_URL_SFN: 'https://states.us-east-1.amazonaws.com' }),
    ).toThrow(/AWS_ENDPOINT_URL_SFN is not a loopback URL/);
    expect(() =>
      loadConfig({ ...local, AWS_ENDPOINT_URL_S3: 'https://s3.us-east-1.amazonaws.com' }),
    ).toThrow(/AWS_ENDPOINT_URL_S3 is not a loopback URL/);
    expect(() => loadConfig({ ...local, EMULATOR_CREDENTIALS: 'only-a-key' })).toThrow(
      'EMULATOR_CREDENTIALS must be <access key id>:<secret access key>',
    );
  });

  it('reads the dead-letter queue of refused notifications and owner mode', () => {
    const url = 'https://sqs.us-east-1.amazonaws.com/123456789012/async-jobs-dev-refused';
    expect(loadConfig({ ...base, DEAD_LETTER_QUEUE_URL: url, OWNER_MODE: 'true' })).toMatchObject({
      deadLetterQueueUrl: url,
      ownerMode: true,
    });
    expect(() => loadConfig({ ...base, DEAD_LETTER_QUEUE_URL: 'arn:aws:sqs:x' })).toThrow(
      'DEAD_LETTER_QUEUE_URL: "arn:aws:sqs:x" is not an SQS queue URL',
    );
  });

  it('reads capacity notes only when CAPACITY_NOTES is true (the sandbox)', () => {
    expect(loadConfig({ ...base, CAPACITY_NOTES: 'true' }).capacityNotes).toBe(true);
    expect(loadConfig({ ...base, CAPACITY_NOTES: 'false' }).capacityNotes).toBe(false);
  });

  it.each(['ENDPOINT_NAME', 'INPUT_BUCKET', 'OUTPUT_BUCKETS', 'JOBS_TABLE'])(
    'fails with one message naming a missing %s',
    (name) => {
      const env: Record<string, string> = { ...base };
      delete env[name];
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(name);
    },
  );

  it('rejects malformed values, naming the variable', () => {
    expect(() => loadConfig({ ...base, OUTPUT_BUCKETS: 'Bad_Bucket' })).toThrow(/OUTPUT_BUCKETS/);
    expect(() => loadConfig({ ...base, SUCCESS_TOPIC_ARN: 'my-topic' })).toThrow(
      /SUCCESS_TOPIC_ARN/,
    );
    expect(() => loadConfig({ ...base, INLINE_RESULT_MAX_BYTES: '1e9' })).toThrow(
      /INLINE_RESULT_MAX_BYTES/,
    );
    expect(() => loadConfig({ ...base, JOB_TTL_DAYS: '0' })).toThrow(/JOB_TTL_DAYS/);
    expect(() => loadConfig({ ...base, INPUT_PREFIX: '../x/' })).toThrow(/INPUT_PREFIX/);
  });

  it('builds the endpoint allow-list around ENDPOINT_NAME', () => {
    expect(loadConfig({ ...base, ENDPOINT_NAMES: 'a-1, ep ,b2' }).endpointNames).toEqual([
      'ep',
      'a-1',
      'b2',
    ]);
    expect(() => loadConfig({ ...base, ENDPOINT_NAMES: 'ok,not_ok' })).toThrow(/ENDPOINT_NAMES/);
  });

  it('uses path-style S3 when an S3 endpoint override is set', () => {
    const cfg = loadConfig({ ...base, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' });
    expect(cfg.s3EndpointOverride).toBe(true);
  });
});
