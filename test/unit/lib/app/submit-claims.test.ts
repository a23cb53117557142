import { ServiceUnavailable } from '@aws-sdk/client-sagemaker-runtime';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/lib/config.ts';
import { AppError } from '../../../../src/lib/domain/errors.ts';
import { errorAnswer } from '../../../../src/lib/http/errors.ts';
import { LEASE_MARGIN_MS } from '../../../../src/lib/domain/claims.ts';
import { publicView, type Job } from '../../../../src/lib/domain/jobs.ts';
import { invokeError } from '../../../../src/lib/adapters/sagemaker.ts';
import { submitJob, type SubmitDeps } from '../../../../src/lib/app/submit.ts';
import { FakeDeadlines } from '../../../support/fakes/clock.ts';
import { FakeEndpoint } from '../../../support/fakes/endpoint.ts';
import { FakeJobRepository } from '../../../support/fakes/job-repository.ts';
import { FakeMetrics } from '../../../support/fakes/metrics.ts';
import { FakeObjectStore } from '../../../support/fakes/object-store.ts';

/*
 * Claims, leases and takeovers (docs/reliability.md), replayed: the lost release, the retry inside
 * and after the lease, the lost SageMaker answer, two takeovers at once. The job repository is its
 * fake, whose claim conditions the contract suite holds to the DynamoDB adapter's
 * (test/contract/job-repository.contract.ts: of two takeovers exactly one wins).
 */

const T0 = Date.parse('2026-11-24T12:00:00Z');
const at = (seconds: number) => () => new Date(T0 + seconds * 1000);

let store: FakeJobRepository;
let objects: FakeObjectStore;
let endpoint: FakeEndpoint;

function deps(seconds: number, extra: Partial<SubmitDeps> = {}): SubmitDeps {
  return {
    config: loadConfig(),
    store,
    objects,
    endpoint,
    metrics: new FakeMetrics(),
    deadlines: new FakeDeadlines(),
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

const invokes = () => endpoint.invocations;
const takeovers = () => store.count('takeOver');

beforeEach(() => {
  store = new FakeJobRepository();
  objects = new FakeObjectStore();
  endpoint = new FakeEndpoint();
});

/** SageMaker refuses every invoke of the first submit, and DynamoDB fails its release. */
async function lostRelease(): Promise<Job> {
  endpoint.faults.push(
    invokeError(new ServiceUnavailable({ message: 'down', $metadata: { httpStatusCode: 503 } })),
  );
  store.fail('release');
  expect((await failure(submitJob(request(), deps(0)))).status).toBe(503);
  store.heal('release');
  const dead = store.records.get('job-1') as Job;
  expect(dead).toMatchObject({ status: 'IN_PROGRESS' });
  expect(dead.outputLocation).toBeUndefined();
  return dead;
}

describe('submitJob: claims, leases and takeovers', () => {
  it('leases a claim for the invocation left plus a margin, and never answers the lease', async () => {
    const { job } = await submitJob(request(), deps(0, { remainingMs: () => 12_000 }));
    const claim = store.records.get('job-1') as Job;
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
    expect(takeovers()).toBe(0);
    expect(store.records.get('job-1')).toEqual(dead);
  });

  it('a lost release, retried after the lease: taken over in one conditional write, invoked once', async () => {
    const dead = await lostRelease();
    const res = await submitJob(request(), deps(35));
    expect(res.created).toBe(true);
    expect(res.job.outputLocation).toBe(
      's3://async-jobs-local-output/outputs/demo-endpoint/job-1.out',
    );
    expect(invokes()).toHaveLength(2);
    // One conditional write on the token read (the condition itself: the contract suite).
    expect(takeovers()).toBe(1);
    const now = store.records.get('job-1') as Job;
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
    store.put({
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
    endpoint.faults.push(
      invokeError(Object.assign(new Error('Request timed out'), { name: 'TimeoutError' })),
    );
    expect((await failure(submitJob(request(), deps(0)))).status).toBe(503);
    expect(store.records.has('job-1')).toBe(false);
    const res = await submitJob(request(), deps(1));
    expect(res.created).toBe(true);
    // InvokeEndpointAsync is not idempotent on InferenceId: two runs, one output location.
    const [first, second] = invokes();
    expect(second).toEqual(first);
    expect(res.job.outputLocation).toBe(
      's3://async-jobs-local-output/outputs/demo-endpoint/job-1.out',
    );
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
    expect(takeovers()).toBe(2);
    expect(invokes()).toHaveLength(2);
  });

  it("owner mode: another caller's dead claim is a 409, never taken over", async () => {
    store.put({
      inferenceId: 'job-1',
      status: 'IN_PROGRESS',
      submittedAt: new Date(T0).toISOString(),
      leaseUntil: new Date(T0).toISOString(),
      claimToken: 'theirs',
      owner: 'alice',
    });
    expect((await failure(submitJob(request('job-1', 'bob'), deps(60)))).status).toBe(409);
    expect(takeovers()).toBe(0);
    expect(invokes()).toHaveLength(0);
  });

  it('starts no upload and no invoke too close to the end of the invocation, and releases', async () => {
    const err = await failure(submitJob(request(), deps(0, { remainingMs: () => 2_500 })));
    expect(err.status).toBe(503);
    expect(objects.count()).toBe(0);
    expect(invokes()).toHaveLength(0);
    expect(store.records.has('job-1')).toBe(false);
    // Time for the upload, not for the invoke after it.
    let left = 5_000;
    const late = await failure(
      submitJob(request('job-2'), deps(0, { remainingMs: () => (left -= 1_000) })),
    );
    expect(late.status).toBe(503);
    expect(objects.count()).toBe(1);
    expect(invokes()).toHaveLength(0);
    expect(store.records.has('job-2')).toBe(false);
  });

  it('gives the invoke a signal that ends it before the invocation does', async () => {
    await submitJob(request(), deps(0));
    const [signal] = endpoint.signals;
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal!.aborted).toBe(false);
  });
});
