import { describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../../../src/lib/config.ts';
import { dispatchRound, type DispatchDeps } from '../../../../src/lib/app/dispatch.ts';
import { endJob } from '../../../../src/lib/app/ending.ts';
import { submitJob, type SubmitDeps } from '../../../../src/lib/app/submit.ts';
import { TenantRegistrar } from '../../../../src/lib/app/tenants.ts';
import {
  FakeAdmissionQueue,
  FakeDispatchWake,
  FakeEndpointCapacity,
} from '../../../support/fakes/admission.ts';
import { FakeDeadlines, fakeClock } from '../../../support/fakes/clock.ts';
import { FakeEndpoint } from '../../../support/fakes/endpoint.ts';
import { FakeJobRepository } from '../../../support/fakes/job-repository.ts';
import { FakeMetrics } from '../../../support/fakes/metrics.ts';
import { FakeObjectStore } from '../../../support/fakes/object-store.ts';

/*
 * Found by `npm run bench -- --only queue` (bench/queue.ts): under a sustained backlog the
 * heavy tenant's jobs filled the lane's heads (LOOKAHEAD per shard, 128 per lane), a light
 * tenant's waiting job was beyond them, and the free slot went to the heavy tenant although the
 * light one held none. The heads are now read per registered tenant (the by-tenant index), so
 * the light tenant's oldest job is a candidate however many of the heavy one's are older.
 */

const EP = 'ep';

describe('fair shares under a backlog deeper than the lookahead', () => {
  it('gives a free slot to the backlogged tenant holding none, behind 200 of another', async () => {
    const config: Config = {
      ...loadConfig(),
      endpointName: EP,
      endpointNames: [EP],
      admission: true,
      perInstanceConcurrency: 1,
      admissionHeadroom: 1,
      tenantQuotas: {},
    };
    const clock = fakeClock('2026-12-01T12:00:00.000Z');
    const store = new FakeJobRepository();
    const queue = new FakeAdmissionQueue(store);
    const wake = new FakeDispatchWake();
    const capacity = new FakeEndpointCapacity();
    capacity.instances.set(EP, 1);
    const endpoint = new FakeEndpoint();
    const metrics = new FakeMetrics();
    const submitDeps: SubmitDeps = {
      config,
      store,
      objects: new FakeObjectStore(),
      endpoint,
      metrics,
      deadlines: new FakeDeadlines(),
      now: clock,
      remainingMs: () => 29_000,
      wake,
      admissionJobs: store,
      tenants: new TenantRegistrar(queue),
    };
    const deps: DispatchDeps = {
      config,
      store,
      metrics,
      now: clock,
      admission: { queue, wake },
      jobs: store,
      endpoint,
      capacity,
    };
    const submit = async (id: string, tenant: string) => {
      clock.advance(1);
      await submitJob({ query: { inferenceId: id, tenant }, body: Buffer.from('x') }, submitDeps);
    };
    // The window (1 instance + 1 head room) held by the heavy tenant.
    await submit('big-run-0', 'big');
    await submit('big-run-1', 'big');
    await dispatchRound(EP, deps);
    expect(endpoint.invocations.map((i) => i.inferenceId)).toEqual(['big-run-0', 'big-run-1']);
    for (let i = 0; i < 200; i++) await submit(`big-${String(i).padStart(3, '0')}`, 'big');
    await submit('small-0', 'small');
    // One of the heavy tenant's jobs ends: it holds 1 slot, the light tenant none.
    await endJob(
      'big-run-0',
      {
        outcome: {
          status: 'COMPLETED',
          endpointName: EP,
          completedAt: clock().toISOString(),
          expiresAt: 1,
          result: 'ok',
          resultEncoding: 'utf8',
          resultBytes: 2,
        },
        endedBy: 'notification',
      },
      { config, store, metrics, now: clock, admission: { queue, wake } },
    );
    await dispatchRound(EP, deps);
    expect(endpoint.invocations.at(-1)?.inferenceId).toBe('small-0');
  });
});
