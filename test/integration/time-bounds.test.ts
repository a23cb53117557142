import { GetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  dynamo,
  eventBridge,
  resetClients,
  s3,
  sageMaker,
  sqs,
} from '../../src/lib/adapters/clients.ts';
import { invokeAsync } from '../../src/lib/adapters/sagemaker.ts';
import { putObject, readBounded } from '../../src/lib/adapters/storage.ts';
import { resetStepFunctions, stepFunctions } from '../../src/lib/adapters/step-functions.ts';
import {
  TIME_BOUNDS,
  useTimeBounds,
  type AttemptBounds,
  type TimeBounds,
} from '../../src/lib/adapters/time-bounds.ts';
import { resetSecretsManager, secretsManager } from '../../src/lib/adapters/webhook-keys.ts';
import { resetConfig } from '../../src/lib/config.ts';
import { localClientOptions } from '../../src/local/emulators.ts';
import { opsLambda, opsSqs } from '../../src/ops/clients.ts';
import { startHangingServer, type HangingServer } from '../support/hanging-server.ts';
import { sageMakerControl } from '../../src/lib/adapters/clients.ts';
import { describeEndpointCapacity } from '../../src/lib/adapters/endpoint-capacity.ts';
import { dispatchRound, type DispatchDeps } from '../../src/lib/app/dispatch.ts';
import { submitJob } from '../../src/lib/app/submit.ts';
import { loadConfig, type Config } from '../../src/lib/config.ts';
import type { QueueSnapshot } from '../../src/lib/domain/admission.ts';
import { FakeAdmissionQueue, FakeDispatchWake } from '../support/fakes/admission.ts';
import { TenantRegistrar } from '../../src/lib/app/tenants.ts';
import { FakeDeadlines } from '../support/fakes/clock.ts';
import { FakeEndpoint } from '../support/fakes/endpoint.ts';
import { FakeJobRepository } from '../support/fakes/job-repository.ts';
import { FakeMetrics } from '../support/fakes/metrics.ts';
import { FakeObjectStore } from '../support/fakes/object-store.ts';
import { answering } from '../support/answers.ts';

/*
 * Every SDK client the project builds, against a loopback server that accepts and never answers,
 * and one that answers its headers and stalls mid-body: each call must end with an error while the
 * server still hangs. The bounds are shrunk through the same table the clients are built from
 * (useTimeBounds), so what is tested is the production construction with smaller numbers; vitest's
 * timeout is the only clock. Without `throwOnRequestTimeout` and `socketTimeout` in the clients'
 * request handler, every one of these calls waits until the test times out.
 */

/** One table for every client. */
function every(b: AttemptBounds): TimeBounds {
  return {
    dynamo: b,
    s3: b,
    sageMaker: b,
    eventBridge: b,
    sqs: b,
    sfn: b,
    secretsManager: b,
    local: b,
    ops: b,
    opsLambda: b,
    submit: TIME_BOUNDS.submit,
  };
}

// Never answering: the headers bound (and the idle bound before them) ends each attempt.
const SILENT = every({ connectMs: 1_000, headersMs: 200, idleMs: 200 });
// Stalling mid-body: the headers come at once, so only the idle bound can end the call.
const STALLED = every({ connectMs: 1_000, headersMs: 60_000, idleMs: 200 });

const ENDPOINT_VARIABLES = [
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME',
  'AWS_ENDPOINT_URL_SAGEMAKER',
  'AWS_ENDPOINT_URL_EVENTBRIDGE',
  'AWS_ENDPOINT_URL_SQS',
  'AWS_ENDPOINT_URL_SFN',
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  'AWS_ENDPOINT_URL_LAMBDA',
];

let silent: HangingServer;
let stalled: HangingServer;
let stalledObject: HangingServer;
const saved = Object.fromEntries(ENDPOINT_VARIABLES.map((k) => [k, process.env[k]]));

beforeAll(async () => {
  [silent, stalled, stalledObject] = await Promise.all([
    startHangingServer({ mode: 'silent' }),
    startHangingServer({ mode: 'mid-body' }),
    startHangingServer({
      mode: 'mid-body',
      contentType: 'application/octet-stream',
      head: 'the first bytes of an output',
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([silent?.close(), stalled?.close(), stalledObject?.close()]);
});

function pointAt(server: HangingServer, bounds: TimeBounds): void {
  for (const k of ENDPOINT_VARIABLES) process.env[k] = server.url;
  useTimeBounds(bounds);
  resetConfig();
  resetClients();
  resetStepFunctions();
  resetSecretsManager();
}

afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  useTimeBounds();
  resetConfig();
  resetClients();
  resetStepFunctions();
  resetSecretsManager();
});

/** The call ended with the SDK's TimeoutError while the server still hangs. */
async function endsWhileHanging(
  server: HangingServer,
  call: () => Promise<unknown>,
  expected: Record<string, unknown> = { name: 'TimeoutError' },
): Promise<void> {
  const before = server.requests;
  await expect(call()).rejects.toMatchObject(expected);
  expect(server.requests).toBeGreaterThan(before);
  expect(server.finished).toBe(0);
}

/** A body read (the call answered its headers already) ended while the server still hangs. */
async function bodyEndsWhileHanging(server: HangingServer, read: () => Promise<unknown>) {
  await expect(read()).rejects.toMatchObject({ name: 'TimeoutError' });
  expect(server.finished).toBe(0);
}

/** Headers were in (status 200), the body stalled: ended by the idle bound. */
const MID_BODY = { name: 'TimeoutError', $metadata: { httpStatusCode: 200 } };

const key = { TableName: 'jobs', Key: { inferenceId: { S: 'job-1' } } };
const loc = { bucket: 'async-jobs-local-output', key: 'out/job-1.out' };
const invocation = {
  endpointName: 'demo-endpoint',
  input: { bucket: 'async-jobs-local-input', key: 'inputs/job-1' },
  inferenceId: 'job-1',
};
const event = { Entries: [{ Source: 'test', DetailType: 'x', Detail: '{}' }] };
// The SDK sends to the queue URL's host itself (SQS useQueueUrlAsEndpoint).
const message = (server: HangingServer) => ({
  QueueUrl: `${server.url}/000000000000/q`,
  MessageBody: '{}',
});

describe('the functions’ clients (src/lib/adapters/clients.ts)', () => {
  it('DynamoDB: a table that never answers', async () => {
    pointAt(silent, SILENT);
    await endsWhileHanging(silent, () => dynamo().send(new GetItemCommand(key)));
  });

  it('DynamoDB: an answer that stalls mid-body', async () => {
    pointAt(stalled, STALLED);
    await endsWhileHanging(stalled, () => dynamo().send(new GetItemCommand(key)), MID_BODY);
  });

  it('S3: a PutObject (the submit’s input upload) that is never answered', async () => {
    pointAt(silent, SILENT);
    const client = await s3();
    await endsWhileHanging(silent, () => putObject(client, loc, Buffer.from('1,2,3'), 'text/csv'));
  });

  it('S3: a GetObject whose body stalls halfway, read by readBounded as the result handlers do', async () => {
    pointAt(stalledObject, STALLED);
    const client = await s3();
    // The headers are in: the call itself answers, its body is what stalls.
    const res = await client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    await bodyEndsWhileHanging(stalledObject, () => res.Body!.transformToByteArray());
    await endsWhileHanging(stalledObject, () => readBounded(client, loc, 1 << 20));
  });

  it('SageMaker runtime: an InvokeEndpointAsync never answered, also as submit maps it (503)', async () => {
    pointAt(silent, SILENT);
    await endsWhileHanging(silent, () =>
      sageMaker().send(
        new InvokeEndpointAsyncCommand({
          EndpointName: 'demo-endpoint',
          InputLocation: 's3://async-jobs-local-input/inputs/job-1',
        }),
      ),
    );
    await endsWhileHanging(silent, () => answering(invokeAsync(sageMaker(), invocation)), {
      name: 'Unavailable',
      status: 503,
    });
  });

  it('SageMaker runtime: an answer that stalls mid-body', async () => {
    pointAt(stalled, STALLED);
    await endsWhileHanging(
      stalled,
      () =>
        sageMaker().send(
          new InvokeEndpointAsyncCommand({
            EndpointName: 'demo-endpoint',
            InputLocation: 's3://async-jobs-local-input/inputs/job-1',
          }),
        ),
      MID_BODY,
    );
  });

  it('EventBridge: never answered, and stalled mid-body', async () => {
    pointAt(silent, SILENT);
    await endsWhileHanging(silent, async () =>
      (await eventBridge()).send(new PutEventsCommand(event)),
    );
    pointAt(stalled, STALLED);
    await endsWhileHanging(
      stalled,
      async () => (await eventBridge()).send(new PutEventsCommand(event)),
      MID_BODY,
    );
  });

  it('SQS: never answered, and stalled mid-body', async () => {
    pointAt(silent, SILENT);
    await endsWhileHanging(silent, async () =>
      (await sqs()).send(new SendMessageCommand(message(silent))),
    );
    pointAt(stalled, STALLED);
    await endsWhileHanging(
      stalled,
      async () => (await sqs()).send(new SendMessageCommand(message(stalled))),
      MID_BODY,
    );
  });
});

describe('the other clients of src/lib', () => {
  const success = new SendTaskSuccessCommand({ taskToken: 'token', output: '{}' });
  const secret = new GetSecretValueCommand({
    SecretId: 'arn:aws:secretsmanager:us-east-1:1:secret:x',
  });

  it('Step Functions (task callbacks): never answered, and stalled mid-body', async () => {
    pointAt(silent, SILENT);
    await endsWhileHanging(silent, () => stepFunctions().send(success));
    pointAt(stalled, STALLED);
    await endsWhileHanging(stalled, () => stepFunctions().send(success), MID_BODY);
  });

  it('Secrets Manager (the webhook secret): never answered, and stalled mid-body', async () => {
    pointAt(silent, SILENT);
    await endsWhileHanging(silent, async () => (await secretsManager()).send(secret));
    pointAt(stalled, STALLED);
    await endsWhileHanging(stalled, async () => (await secretsManager()).send(secret), MID_BODY);
  });
});

describe('the sandbox’s own clients of its emulators (localClientOptions)', () => {
  it('DynamoDB (table setup, capacity notes, restore): never answered, and stalled mid-body', async () => {
    pointAt(silent, SILENT);
    const a = new DynamoDBClient(localClientOptions(silent.url));
    await endsWhileHanging(silent, () => a.send(new ScanCommand({ TableName: 'jobs' })));
    a.destroy();
    pointAt(stalled, STALLED);
    const b = new DynamoDBClient(localClientOptions(stalled.url));
    await endsWhileHanging(stalled, () => b.send(new ScanCommand({ TableName: 'jobs' })), MID_BODY);
    b.destroy();
  });

  it('S3 (seeding, the local runtime’s reads and writes): never answered, and stalled mid-body', async () => {
    pointAt(silent, SILENT);
    const a = new S3Client({ ...localClientOptions(silent.url), forcePathStyle: true });
    await endsWhileHanging(silent, () =>
      a.send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: 'x' })),
    );
    a.destroy();
    pointAt(stalledObject, STALLED);
    const b = new S3Client({ ...localClientOptions(stalledObject.url), forcePathStyle: true });
    const res = await b.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    await bodyEndsWhileHanging(stalledObject, () => res.Body!.transformToByteArray());
    b.destroy();
  });

  it('EventBridge (restore’s announcements): never answered', async () => {
    pointAt(silent, SILENT);
    const client = new EventBridgeClient(localClientOptions(silent.url));
    await endsWhileHanging(silent, () => client.send(new PutEventsCommand(event)));
    client.destroy();
  });
});

describe('the operator scripts’ clients (src/ops/clients.ts)', () => {
  it('SQS and Lambda: never answered', async () => {
    pointAt(silent, SILENT);
    const [q, l] = [opsSqs(), opsLambda()];
    await endsWhileHanging(silent, () =>
      q.send(new ReceiveMessageCommand({ QueueUrl: message(silent).QueueUrl, WaitTimeSeconds: 1 })),
    );
    await endsWhileHanging(silent, () =>
      l.send(new InvokeCommand({ FunctionName: 'onSuccess', Payload: Buffer.from('{}') })),
    );
    for (const c of [q, l]) c.destroy();
  });

  it('Lambda (a synchronous invoke of a handler): an answer that stalls mid-body', async () => {
    pointAt(stalled, STALLED);
    const l = opsLambda();
    await endsWhileHanging(
      stalled,
      () => l.send(new InvokeCommand({ FunctionName: 'onSuccess', Payload: Buffer.from('{}') })),
      MID_BODY,
    );
    l.destroy();
  });
});

describe('the dispatcher’s DescribeEndpoint (src/lib/adapters/endpoint-capacity.ts)', () => {
  const EP = 'demo-endpoint';

  /**
   * A dispatch round on the fakes but for its capacity, read through the production client:
   * the last capacity seen (2 instances of 1 + 1 head room, older than the 60 s it is reused)
   * must be read again, and three jobs wait.
   */
  async function roundWithStaleCapacity() {
    const config: Config = {
      ...loadConfig(),
      endpointName: EP,
      endpointNames: [EP],
      admission: true,
      perInstanceConcurrency: 1,
      admissionHeadroom: 1,
      tenantQuotas: {},
    };
    const store = new FakeJobRepository();
    const queue = new FakeAdmissionQueue(store);
    const wake = new FakeDispatchWake();
    const endpoint = new FakeEndpoint();
    const metrics = new FakeMetrics();
    const seen: QueueSnapshot['capacity'] = {
      instances: 2,
      perInstanceConcurrency: 1,
      headroom: 1,
      observedAt: new Date(Date.now() - 120_000).toISOString(),
    };
    await queue.saveSnapshot({
      endpointName: EP,
      computedAt: seen.observedAt,
      lanes: {
        high: { depth: 0, exact: true },
        normal: { depth: 0, exact: true },
        low: { depth: 0, exact: true },
      },
      inFlight: 0,
      inFlightByTenant: {},
      window: 3,
      capacity: seen,
    });
    for (const id of ['w-1', 'w-2', 'w-3']) {
      await submitJob(
        { query: { inferenceId: id }, body: Buffer.from('x') },
        {
          config,
          store,
          objects: new FakeObjectStore(),
          endpoint,
          metrics,
          deadlines: new FakeDeadlines(),
          remainingMs: () => 29_000,
          wake,
          admissionJobs: store,
          tenants: new TenantRegistrar(queue),
        },
      );
    }
    const deps: DispatchDeps = {
      config,
      store,
      metrics,
      admission: { queue, wake },
      jobs: store,
      endpoint,
      capacity: describeEndpointCapacity(sageMakerControl),
    };
    const report = await dispatchRound(EP, deps);
    return { report, seen, snapshot: await queue.snapshot(EP), endpoint };
  }

  it('never answered, and stalled mid-body: the call ends within its bound', async () => {
    pointAt(silent, SILENT);
    await endsWhileHanging(silent, () => describeEndpointCapacity(sageMakerControl).describe(EP));
    pointAt(stalled, STALLED);
    await endsWhileHanging(
      stalled,
      () => describeEndpointCapacity(sageMakerControl).describe(EP),
      MID_BODY,
    );
  });

  it.each([
    ['never answered', () => silent, SILENT],
    ['stalled mid-body', () => stalled, STALLED],
  ] as const)('%s: the round goes on with the last capacity seen', async (_, server, bounds) => {
    pointAt(server(), bounds);
    const before = server().requests;
    const { report, seen, snapshot, endpoint } = await roundWithStaleCapacity();
    expect(server().requests).toBeGreaterThan(before);
    expect(server().finished).toBe(0);
    expect(report).toMatchObject({ window: 3, dispatched: 3 });
    expect(endpoint.invocations.map((i) => i.inferenceId).sort()).toEqual(['w-1', 'w-2', 'w-3']);
    // Kept as it was observed, so the next round asks DescribeEndpoint again.
    expect(snapshot?.capacity).toEqual(seen);
  });
});
