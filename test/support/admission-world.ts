import { loadConfig, type Config } from '../../src/lib/config.ts';
import { dispatchRound, type DispatchDeps } from '../../src/lib/app/dispatch.ts';
import { endJob } from '../../src/lib/app/ending.ts';
import type { EndpointCapacity } from '../../src/lib/app/ports/endpoint.ts';
import { submitJob, type SubmitDeps } from '../../src/lib/app/submit.ts';
import { TenantRegistrar } from '../../src/lib/app/tenants.ts';
import type { Outcome } from '../../src/lib/domain/jobs.ts';
import { FakeAdmissionQueue, FakeDispatchWake, FakeEndpointCapacity } from './fakes/admission.ts';
import { FakeBatchRepository } from './fakes/batch-repository.ts';
import { MemoryQueue } from './fakes/batch-queue.ts';
import { FakeDeadlines, fakeClock } from './fakes/clock.ts';
import { FakeEndpoint } from './fakes/endpoint.ts';
import { FakeEventPublisher } from './fakes/event-publisher.ts';
import { FakeJobRepository } from './fakes/job-repository.ts';
import { FakeMetrics } from './fakes/metrics.ts';
import { FakeObjectStore } from './fakes/object-store.ts';

/*
 * Queue control's use cases wired on the fakes, for the tests that drive them (docs/queue.md):
 * one endpoint with admission on, a window of 1 instance x 1 + 1 head room unless told, a
 * simulated clock, and the submit, dispatch round and ending as production wires them.
 */

export const EP = 'ep';
export const T0 = '2026-12-01T12:00:00.000Z';

export interface WorldOptions {
  config?: Partial<Config>;
  /** Instances in service the fake DescribeEndpoint answers (1 unless told). */
  instances?: number;
  /** A capacity port of the test's own (the production client against a test server). */
  capacity?: EndpointCapacity;
  endpointName?: string;
}

export function admissionWorld(opts: WorldOptions = {}) {
  const endpointName = opts.endpointName ?? EP;
  const config: Config = {
    ...loadConfig(),
    endpointName,
    endpointNames: [endpointName],
    admission: true,
    perInstanceConcurrency: 1,
    admissionHeadroom: 1,
    tenantQuotas: {},
    ...opts.config,
  };
  const clock = fakeClock(T0);
  const store = new FakeJobRepository();
  const queue = new FakeAdmissionQueue(store);
  const wake = new FakeDispatchWake();
  const fakeCapacity = new FakeEndpointCapacity();
  fakeCapacity.instances.set(endpointName, opts.instances ?? 1);
  const endpoint = new FakeEndpoint();
  const metrics = new FakeMetrics();
  const objects = new FakeObjectStore();
  const events = new FakeEventPublisher();
  const batchRepo = new FakeBatchRepository();
  const batchQueue = new MemoryQueue();
  const batches = { batches: batchRepo, queue: batchQueue, now: clock };
  const admission = { queue, wake };
  /** A submit's ports; `tenants` is one container's registrar (each has its own cache). */
  const submitDepsOf = (tenants = new TenantRegistrar(queue)): SubmitDeps => ({
    config,
    store,
    objects,
    endpoint,
    metrics,
    deadlines: new FakeDeadlines(),
    now: clock,
    remainingMs: () => 29_000,
    wake,
    admissionJobs: store,
    tenants,
  });
  const submitDeps = submitDepsOf();
  const deps: DispatchDeps = {
    config,
    store,
    events,
    batches,
    metrics,
    now: clock,
    admission,
    jobs: store,
    endpoint,
    capacity: opts.capacity ?? fakeCapacity,
  };
  const submit = (
    id: string,
    query: Record<string, string> = {},
    owner?: string,
    through: SubmitDeps = submitDeps,
  ) => submitJob({ query: { inferenceId: id, ...query }, body: Buffer.from('x'), owner }, through);
  const round = (o?: { woken?: boolean }) => dispatchRound(endpointName, deps, o);
  const invoked = () => endpoint.invocations.map((i) => i.inferenceId);
  /** The job's notification: COMPLETED with a small result, or FAILED. */
  const notify = (id: string, status: 'COMPLETED' | 'FAILED' = 'COMPLETED') => {
    const outcome: Outcome = {
      status,
      endpointName,
      completedAt: clock().toISOString(),
      expiresAt: 1,
      outputLocation: `s3://out/${id}.out`,
      ...(status === 'COMPLETED'
        ? { result: 'the result', resultEncoding: 'utf8' as const, resultBytes: 10 }
        : { failureReason: 'boom' }),
    };
    return endJob(id, { outcome, endedBy: 'notification' }, deps);
  };
  return {
    config,
    clock,
    store,
    queue,
    wake,
    capacity: fakeCapacity,
    endpoint,
    metrics,
    objects,
    events,
    batchRepo,
    batchQueue,
    batches,
    deps,
    submitDeps,
    submitDepsOf,
    submit,
    round,
    invoked,
    notify,
  };
}
