import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  InvokeEndpointAsyncCommand,
  SageMakerRuntimeClient,
  ServiceUnavailable,
} from '@aws-sdk/client-sagemaker-runtime';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/lib/config.ts';
import { AppError } from '../../../../src/lib/domain/errors.ts';
import { errorAnswer } from '../../../../src/lib/http/errors.ts';
import { LEASE_MARGIN_MS } from '../../../../src/lib/domain/claims.ts';
import { publicView, type Job } from '../../../../src/lib/domain/jobs.ts';
import { JobStore } from '../../../../src/lib/adapters/job-store.ts';
import { submitJob, type SubmitDeps } from '../../../../src/lib/app/submit.ts';
import { assignments } from '../../../support/expressions.ts';

/*
 * Claims, leases and takeovers (docs/reliability.md), replayed: the lost release, the retry inside
 * and after the lease, the lost SageMaker answer, two takeovers at once. DynamoDB is a small table
 * in memory that evaluates the job store's own claim conditions, so the real JobStore runs.
 */

const s3mock = mockClient(S3Client);
const ddb = mockClient(DynamoDBClient);
const sm = mockClient(SageMakerRuntimeClient);
const T0 = Date.parse('2026-11-24T12:00:00Z');
const at = (seconds: number) => () => new Date(T0 + seconds * 1000);

let items: Map<string, Job>;
let releaseFails: boolean;
/** What the next invokes answer instead of accepting the job, in order. */
let invokeFaults: Error[];

function deps(seconds: number, extra: Partial<SubmitDeps> = {}): SubmitDeps {
  return {
    config: loadConfig(),
    store: new JobStore(new DynamoDBClient({ region: 'us-east-1' }), 'jobs'),
    s3: () => new S3Client({ region: 'us-east-1' }),
    sageMaker: () => new SageMakerRuntimeClient({ region: 'us-east-1' }),
    now: at(seconds),
    remainingMs: () => 29_000,
    ...extra,
  };
}

const csv = Buffer.from('1,2\n');
const request = (inferenceId = 'job-1', owner?: string) => ({
  query: { inferenceId },
  contentType: 'text/csv',
  body: csv,
  owner,
});

/** The refusal, with the status and headers the API answers it with (src/lib/http/errors.ts). */
async function failure(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  const { name, message, retryable } = err;
  return { name, message, retryable, ...errorAnswer(err) };
}

const invokes = () => sm.commandCalls(InvokeEndpointAsyncCommand).map((c) => c.args[0].input);
const takeovers = () =>
  ddb.commandCalls(PutItemCommand).filter((c) => c.args[0].input.ConditionExpression !== CLAIM);
const CLAIM = 'attribute_not_exists(inferenceId)';

function conditionFailed(item?: Job): ConditionalCheckFailedException {
  const err = new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
  });
  return item ? Object.assign(err, { Item: marshall(item, { removeUndefinedValues: true }) }) : err;
}

const value = (input: { ExpressionAttributeValues?: Record<string, AttributeValue> }, k: string) =>
  input.ExpressionAttributeValues?.[k]?.S;
const unqueuedBy = (job: Job | undefined, token: string | undefined) =>
  job?.status === 'IN_PROGRESS' && job.claimToken === token && job.outputLocation === undefined;

beforeEach(() => {
  s3mock.reset();
  ddb.reset();
  sm.reset();
  items = new Map();
  releaseFails = false;
  invokeFaults = [];
  ddb.on(PutItemCommand).callsFake(async (input) => {
    const item = unmarshall(input.Item) as Job;
    const old = items.get(item.inferenceId);
    if (input.ConditionExpression === CLAIM) {
      if (old) throw conditionFailed();
    } else if (/claimToken = :stale/.test(input.ConditionExpression ?? '')) {
      if (!unqueuedBy(old, value(input, ':stale'))) throw conditionFailed(old);
    } else {
      throw new Error(`unexpected condition ${input.ConditionExpression}`);
    }
    items.set(item.inferenceId, item);
    return {};
  });
  ddb.on(GetItemCommand).callsFake(async (input) => {
    const job = items.get(input.Key.inferenceId.S);
    return job ? { Item: marshall(job, { removeUndefinedValues: true }) } : {};
  });
  ddb.on(DeleteItemCommand).callsFake(async (input) => {
    if (releaseFails) throw new InternalServerError({ message: 'injected', $metadata: {} });
    const id = input.Key.inferenceId.S as string;
    if (!unqueuedBy(items.get(id), value(input, ':token'))) throw conditionFailed();
    items.delete(id);
    return {};
  });
  // markQueued: fills in the locations.
  ddb.on(UpdateItemCommand).callsFake(async (input) => {
    const job = items.get(input.Key.inferenceId.S) as Job & Record<string, unknown>;
    for (const [name, a] of Object.entries(assignments(input))) {
      if (!a.onlyIfAbsent || job[name] === undefined) job[name] = a.value.S;
    }
    return { Attributes: marshall(job, { removeUndefinedValues: true }) };
  });
  s3mock.on(PutObjectCommand).resolves({});
  sm.on(InvokeEndpointAsyncCommand).callsFake(async (input) => {
    const fault = invokeFaults.shift();
    if (fault) throw fault;
    return {
      InferenceId: input.InferenceId,
      OutputLocation: `s3://async-jobs-local-output/outputs/${input.Filename}`,
      FailureLocation: `s3://async-jobs-local-output/failures/${input.Filename}-error.out`,
    };
  });
});

/** SageMaker refuses every invoke of the first submit, and DynamoDB fails its release. */
async function lostRelease(): Promise<Job> {
  invokeFaults.push(
    new ServiceUnavailable({ message: 'down', $metadata: { httpStatusCode: 503 } }),
  );
  releaseFails = true;
  expect((await failure(submitJob(request(), deps(0)))).status).toBe(503);
  releaseFails = false;
  const dead = items.get('job-1') as Job;
  expect(dead).toMatchObject({ status: 'IN_PROGRESS' });
  expect(dead.outputLocation).toBeUndefined();
  return dead;
}

describe('submitJob: claims, leases and takeovers', () => {
  it('leases a claim for the invocation left plus a margin, and never answers the lease', async () => {
    const { job } = await submitJob(request(), deps(0, { remainingMs: () => 12_000 }));
    const claim = items.get('job-1') as Job;
    expect(Date.parse(claim.leaseUntil as string)).toBe(T0 + 12_000 + LEASE_MARGIN_MS);
    expect(claim.claimToken).toBeDefined();
    expect(job.leaseUntil).toBeDefined();
    expect(publicView(job)).not.toHaveProperty('leaseUntil');
    expect(publicView(job)).not.toHaveProperty('claimToken');
  });

  it('a lost release, retried inside the lease: 503 with the seconds left, nothing invoked', async () => {
    const dead = await lostRelease();
    expect(Date.parse(dead.leaseUntil as string)).toBe(T0 + 29_000 + LEASE_MARGIN_MS);
    const err = await failure(submitJob(request(), deps(10)));
    expect(err.status).toBe(503);
    expect(err.retryable).toBe(true);
    // As every outage is named: a state machine's Retry on Unavailable takes it too.
    expect(err.name).toBe('Unavailable');
    expect(err.headers['Retry-After']).toBe('24');
    expect(err.message).toBe(
      'a submit with inferenceId job-1 is still running; retry with the same inferenceId in 24 s',
    );
    // Only the first submit's refused invoke; the claim is left as it was.
    expect(invokes()).toHaveLength(1);
    expect(takeovers()).toHaveLength(0);
    expect(items.get('job-1')).toEqual(dead);
  });

  it('a lost release, retried after the lease: taken over in one conditional write, invoked once', async () => {
    const dead = await lostRelease();
    const res = await submitJob(request(), deps(35));
    expect(res.created).toBe(true);
    expect(res.job.outputLocation).toBe('s3://async-jobs-local-output/outputs/job-1.out');
    expect(invokes()).toHaveLength(2);
    const [takeover] = takeovers();
    expect(takeover!.args[0].input.ConditionExpression).toBe(
      '#status = :inProgress AND claimToken = :stale AND attribute_not_exists(outputLocation)',
    );
    expect(value(takeover!.args[0].input, ':stale')).toBe(dead.claimToken);
    const now = items.get('job-1') as Job;
    expect(now.claimToken).not.toBe(dead.claimToken);
    expect(now.submittedAt).toBe(new Date(T0 + 35_000).toISOString());
    // The id now answers its job, and never invokes again.
    const again = await submitJob(request(), deps(36));
    expect(again).toMatchObject({
      created: false,
      job: { outputLocation: res.job.outputLocation },
    });
    expect(invokes()).toHaveLength(2);
  });

  it('a claim from before leases holds for the longest invocation Lambda allows', async () => {
    items.set('job-1', {
      inferenceId: 'job-1',
      status: 'IN_PROGRESS',
      submittedAt: new Date(T0).toISOString(),
      claimToken: 'old',
    });
    expect((await failure(submitJob(request(), deps(600)))).headers['Retry-After']).toBe('305');
    expect((await submitJob(request(), deps(906))).created).toBe(true);
    expect(invokes()).toHaveLength(1);
  });

  it('a lost SageMaker answer: the claim is released, a retry invokes again to the same output', async () => {
    // SageMaker accepted the job; the submit heard only a timeout.
    invokeFaults.push(Object.assign(new Error('Request timed out'), { name: 'TimeoutError' }));
    expect((await failure(submitJob(request(), deps(0)))).status).toBe(503);
    expect(items.has('job-1')).toBe(false);
    const res = await submitJob(request(), deps(1));
    expect(res.created).toBe(true);
    // InvokeEndpointAsync is not idempotent on InferenceId: two runs, one output location.
    const [first, second] = invokes();
    expect(second).toEqual(first);
    expect(second!.Filename).toBe('job-1.out');
  });

  it('two takeovers of one dead claim at once: exactly one invokes, the other is told to wait', async () => {
    await lostRelease();
    const answers = await Promise.allSettled([
      submitJob(request(), deps(40)),
      submitJob(request(), deps(40)),
    ]);
    const won = answers.filter((a) => a.status === 'fulfilled');
    const lost = answers.flatMap((a) => (a.status === 'rejected' ? [a.reason as AppError] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(errorAnswer(lost[0]!).status).toBe(503);
    expect(lost[0]!.message).toMatch(/still running/);
    expect(takeovers()).toHaveLength(2);
    expect(invokes()).toHaveLength(2);
  });

  it("owner mode: another caller's dead claim is a 409, never taken over", async () => {
    items.set('job-1', {
      inferenceId: 'job-1',
      status: 'IN_PROGRESS',
      submittedAt: new Date(T0).toISOString(),
      leaseUntil: new Date(T0).toISOString(),
      claimToken: 'theirs',
      owner: 'alice',
    });
    expect((await failure(submitJob(request('job-1', 'bob'), deps(60)))).status).toBe(409);
    expect(takeovers()).toHaveLength(0);
    expect(invokes()).toHaveLength(0);
  });

  it('starts no upload and no invoke too close to the end of the invocation, and releases', async () => {
    const err = await failure(submitJob(request(), deps(0, { remainingMs: () => 2_500 })));
    expect(err.status).toBe(503);
    expect(s3mock.calls()).toHaveLength(0);
    expect(invokes()).toHaveLength(0);
    expect(items.has('job-1')).toBe(false);
    // Time for the upload, not for the invoke after it.
    let left = 5_000;
    const late = await failure(
      submitJob(request('job-2'), deps(0, { remainingMs: () => (left -= 1_000) })),
    );
    expect(late.status).toBe(503);
    expect(s3mock.calls()).toHaveLength(1);
    expect(invokes()).toHaveLength(0);
    expect(items.has('job-2')).toBe(false);
  });

  it('gives the invoke a signal that ends it before the invocation does', async () => {
    await submitJob(request(), deps(0));
    const options = (sm.commandCalls(InvokeEndpointAsyncCommand)[0]!.args as unknown[])[1] as {
      abortSignal?: AbortSignal;
    };
    expect(options.abortSignal).toBeInstanceOf(AbortSignal);
    expect(options.abortSignal!.aborted).toBe(false);
  });
});
