import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../../src/lib/config.ts';
import { cancelBatch, cancelJob } from '../../../../src/lib/app/cancel.ts';
import { handleMessage, type WorkerDeps } from '../../../../src/lib/app/batch-worker.ts';
import { processBatchEvent } from '../../../../src/lib/wiring/batch-worker.ts';
import { queueAnswer, queueView } from '../../../../src/lib/app/queue.ts';
import { checkJob } from '../../../../src/lib/app/reconcile.ts';
import { RetryConflict, retryJob } from '../../../../src/lib/app/retry.ts';
import { submitJob } from '../../../../src/lib/app/submit.ts';
import { sendTaskResult } from '../../../../src/lib/app/task-callback.ts';
import { BadRequest, Conflict, Unavailable } from '../../../../src/lib/domain/errors.ts';
import { willAutoRetry } from '../../../../src/lib/domain/retry.ts';
import { FakeJobRepository } from '../../../support/fakes/job-repository.ts';
import { EP, T0, admissionWorld } from '../../../support/admission-world.ts';
import { FakeTaskCallbacks } from '../../../support/fakes/task-callbacks.ts';

/*
 * Queue control's use cases on the fakes (docs/queue.md): admission, the dispatch round, cancel,
 * expiry and the endings that must never flip.
 */

function world(over: Partial<Config> = {}) {
  const w = admissionWorld({ config: over });
  const worker: WorkerDeps = {
    config: w.config,
    batches: w.batchRepo,
    queue: w.batchQueue,
    objects: w.objects,
    now: w.clock,
    submit: w.submitDeps,
    cancel: { ...w.deps, batches: w.batches },
  };
  /** The batch worker on every message the batch queue has to deliver now. */
  const drain = async () => {
    for (let event = w.batchQueue.receive(); event; event = w.batchQueue.receive()) {
      w.batchQueue.settle(event, await processBatchEvent(event, worker));
    }
  };
  return {
    ...w,
    round: () => w.round(),
    submit: (id: string, query: Record<string, string> = {}, owner?: string) =>
      w.submit(id, query, owner),
    worker,
    drain,
  };
}

describe('submit with admission on', () => {
  it('claims into its lane, stores the input, never invokes, and wakes the dispatcher', async () => {
    const w = world();
    const answer = await w.submit('j1', { priority: 'high', maxQueueSeconds: '120', tenant: 'a' });
    expect(answer.created).toBe(true);
    const rec = w.store.records.get('j1')!;
    expect(rec).toMatchObject({
      status: 'IN_PROGRESS',
      priority: 'high',
      tenant: 'a',
      maxQueueSeconds: 120,
      queueDeadline: '2026-12-01T12:02:00.000Z',
    });
    expect(rec.waitKey).toMatch(/^ep#high#\d\d$/);
    expect(w.objects.objects.size).toBe(1);
    expect(w.endpoint.invocations).toEqual([]);
    expect(w.wake.wakes).toEqual([EP]);
    // The claim entered its lane only after its input was stored.
    expect(w.store.calls.indexOf('enqueue')).toBeGreaterThan(w.store.calls.indexOf('claim'));
    expect(rec.enqueuedAt).toBe(T0);
  });

  it('a job whose input upload fails never enters its lane and leaves no record', async () => {
    const w = world();
    w.objects.fail('put');
    await expect(w.submit('j1')).rejects.toBeInstanceOf(Unavailable);
    expect(w.store.records.has('j1')).toBe(false);
    expect(w.store.count('enqueue')).toBe(0);
    await w.round();
    expect(w.invoked()).toEqual([]);
  });

  it('defaults to normal, 600 s and the default tenant; the owner is the tenant in owner mode', async () => {
    const w = world();
    await w.submit('j1');
    expect(w.store.records.get('j1')).toMatchObject({
      priority: 'normal',
      maxQueueSeconds: 600,
      tenant: 'default',
    });
    await w.submit('j2', { tenant: 'someone-else' }, 'jwt:iss#alice');
    expect(w.store.records.get('j2')?.tenant).toBe('jwt_iss_alice');
  });

  it('a lost wake fails nothing: logged and counted, the tick repairs it', async () => {
    const w = world();
    w.wake.lose = true;
    const answer = await w.submit('j1');
    expect(answer.created).toBe(true);
    expect(w.metrics.count('DispatchWakesLost')).toBe(1);
    await w.round();
    expect(w.invoked()).toEqual(['j1']);
  });

  it('a retried submit of a waiting job answers it, never takes it over', async () => {
    const w = world();
    await w.submit('j1');
    w.clock.advance(120_000);
    const again = await w.submit('j1');
    expect(again.created).toBe(false);
    expect(again.job.submittedAt).toBe(T0);
    expect(w.store.count('takeOver')).toBe(0);
  });

  it('with admission off: invokes at once, RequestTTLSeconds from maxQueueSeconds, nothing waits', async () => {
    const w = world({ admission: false });
    await w.submit('j1', { maxQueueSeconds: '300', priority: 'low' });
    expect(w.endpoint.invocations[0]?.requestTtlSeconds).toBe(300);
    const rec = w.store.records.get('j1')!;
    expect(rec.waitKey).toBeUndefined();
    expect(rec.queueDeadline).toBeUndefined();
    expect(rec.priority).toBe('low');
    expect(w.wake.wakes).toEqual([]);
    await w.submit('j2', { maxQueueSeconds: '10' });
    expect(w.endpoint.invocations[1]?.requestTtlSeconds).toBe(60);
  });
});

describe('dispatch round', () => {
  it('hands the most urgent lane first, within the window', async () => {
    const w = world();
    await w.submit('low', { priority: 'low' });
    w.clock.advance(1000);
    await w.submit('normal');
    w.clock.advance(1000);
    await w.submit('high', { priority: 'high' });
    // 1 instance x 1 + head room 1: two slots.
    const report = await w.round();
    expect(report.window).toBe(2);
    expect(w.invoked()).toEqual(expect.arrayContaining(['high', 'normal']));
    expect(w.invoked()).toHaveLength(2);
    const high = w.store.records.get('high')!;
    expect(high.dispatchedAt).toBeDefined();
    expect(high.waitKey).toBeUndefined();
    expect(high.outputLocation).toBeDefined();
    expect(w.queue.heldBy(EP).size).toBe(2);
  });

  it('aging moves a low job up past a newer normal one', async () => {
    const w = world({ admissionHeadroom: 1 });
    w.capacity.instances.set(EP, 0);
    await w.submit('low', { priority: 'low' });
    w.clock.advance(301_000);
    await w.submit('normal');
    // The low job waited past 300 s: it counts as normal now, and entered the normal lane first.
    await w.round();
    expect(w.invoked()).toEqual(['low']);
  });

  it('the jobs aged into a lane share a quarter of it while its own jobs wait', async () => {
    const w = world({ admissionHeadroom: 4 });
    w.capacity.instances.set(EP, 0);
    for (const id of ['low1', 'low2', 'low3', 'low4']) await w.submit(id, { priority: 'low' });
    w.clock.advance(301_000);
    for (const id of ['n1', 'n2', 'n3', 'n4']) await w.submit(id);
    // All four low jobs entered the normal lane before the normal ones; by place alone the four
    // slots would be theirs. The first goes by place, then the lane's own jobs take their 3/4.
    await w.round();
    expect(w.invoked()).toEqual(['low1', 'n1', 'n2', 'n3']);
    // Each slot records the class it was handed over in, which the next round counts.
    const classes = [...w.queue.held.values()].map((h) => `${h.inferenceId}:${h.lane}:${h.aged}`);
    expect(classes.sort()).toEqual([
      'low1:normal:true',
      'n1:normal:false',
      'n2:normal:false',
      'n3:normal:false',
    ]);
  });

  it('sets RequestTTLSeconds from what is left of maxQueueSeconds, and a lease on the call', async () => {
    const w = world();
    await w.submit('j1', { maxQueueSeconds: '600' });
    w.clock.advance(100_000);
    await w.round();
    expect(w.endpoint.invocations[0]?.requestTtlSeconds).toBe(500);
    expect(w.endpoint.signals[0]).toBeInstanceOf(AbortSignal);
    expect(w.store.records.get('j1')?.leaseUntil).toBe('2026-12-01T12:02:05.000Z');
  });

  it('an expired job is ended EXPIRED and never invoked', async () => {
    const w = world();
    await w.submit('j1', { maxQueueSeconds: '10' });
    w.capacity.instances.set(EP, 0);
    w.clock.advance(11_000);
    const report = await w.round();
    expect(report.expired).toBe(1);
    expect(w.invoked()).toEqual([]);
    expect(w.store.records.get('j1')?.status).toBe('EXPIRED');
    expect(w.events.types()).toEqual(['JobExpired']);
    expect(w.metrics.count('JobsExpired')).toBe(1);
  });

  it('holds each tenant at its cap and shares the rest', async () => {
    const w = world({ tenantQuotas: { a: { weight: 1, maxInFlight: 1 } } });
    w.capacity.instances.set(EP, 4);
    for (let i = 0; i < 4; i++) await w.submit(`a${i}`, { tenant: 'a' });
    await w.submit('b0', { tenant: 'b' });
    await w.round();
    const byTenant = (t: string) => w.invoked().filter((id) => id.startsWith(t)).length;
    expect([byTenant('a'), byTenant('b')]).toEqual([1, 1]);
    // The next round still holds a at its cap: its job in flight counts.
    await w.round();
    expect(byTenant('a')).toBe(1);
    expect(w.queue.snapshots.get(EP)?.inFlightByTenant).toEqual({ a: 1, b: 1 });
  });

  it('a retryable invoke error puts the job back in its lane and frees the slot', async () => {
    const w = world();
    w.endpoint.faults.push(new Unavailable('throttled', 1));
    await w.submit('j1');
    const report = await w.round();
    expect(report.requeued).toBe(1);
    const rec = w.store.records.get('j1')!;
    expect(rec.waitKey).toBeDefined();
    expect(rec.dispatchedAt).toBeUndefined();
    expect(w.queue.heldBy(EP).size).toBe(0);
    await w.round();
    expect(w.invoked()).toEqual(['j1', 'j1']);
    expect(w.store.records.get('j1')?.outputLocation).toBeDefined();
  });

  it('a permanent refusal ends the job FAILED and frees its slot', async () => {
    const w = world();
    w.endpoint.faults.push(new BadRequest('bad input'));
    await w.submit('j1');
    const report = await w.round();
    expect(report.failed).toBe(1);
    expect(w.store.records.get('j1')?.status).toBe('FAILED');
    expect(w.queue.heldBy(EP).size).toBe(0);
  });

  it('a job dispatched by a round that died is requeued once its lease passed', async () => {
    const w = world();
    await w.submit('j1');
    // A round that claimed the slot and dispatched, then died before invoking.
    await w.queue.claimSlot(EP, 0, { inferenceId: 'j1', tenant: 'default', since: T0 });
    await w.store.dispatch('j1', { slot: 0, at: T0, leaseUntil: '2026-12-01T12:00:25.000Z' });
    w.capacity.instances.set(EP, 0);
    await w.round();
    expect(w.invoked()).toEqual([]);
    w.clock.advance(30_000);
    const report = await w.round();
    expect(report.requeued).toBe(1);
    expect(w.invoked()).toEqual(['j1']);
  });

  it('frees a slot whose holder ended with its release lost', async () => {
    const w = world();
    w.capacity.instances.set(EP, 0);
    await w.submit('j1');
    await w.round();
    // The ending's release is lost: the record is terminal, the slot still held.
    await w.store.transition('j1', {
      status: 'COMPLETED',
      endpointName: EP,
      completedAt: T0,
      expiresAt: 1,
    });
    await w.submit('j2');
    const report = await w.round();
    expect(report.released).toBe(1);
    expect(w.invoked()).toEqual(['j1', 'j2']);
  });

  it('saves the snapshot GET /queue answers, and publishes QueuedJobs', async () => {
    const w = world();
    w.capacity.instances.set(EP, 0);
    await w.submit('j1', { tenant: 'a' });
    w.clock.advance(5_000);
    await w.submit('j2', { priority: 'low' });
    await w.round();
    const view = await queueView([EP, 'other'], w.queue);
    expect(view.endpoints).toHaveLength(1);
    expect(view.endpoints[0]).toMatchObject({
      endpointName: EP,
      window: 1,
      inFlight: 1,
      inFlightByTenant: { a: 1 },
      lanes: {
        high: { depth: 0, exact: true },
        normal: { depth: 0, exact: true },
        low: { depth: 1, exact: true, oldestAgeSeconds: 0 },
      },
      capacity: { instances: 0, perInstanceConcurrency: 1, headroom: 1 },
    });
    expect(w.metrics.levels.at(-1)).toEqual({
      endpoint: EP,
      levels: { QueuedJobs: 1, InFlightJobs: 1, DispatchWindow: 1 },
    });
    // The capacity is reused for 60 s: no second DescribeEndpoint.
    await w.round();
    expect(w.capacity.described).toBe(1);
  });
});

describe('endings under queue control', () => {
  it('releases the slot once and wakes the dispatcher, under duplicate notifications', async () => {
    const w = world();
    await w.submit('j1');
    await w.round();
    w.wake.wakes.length = 0;
    await w.notify('j1');
    await w.notify('j1');
    expect(w.queue.heldBy(EP).size).toBe(0);
    expect(w.queue.calls.filter((c) => c === 'releaseSlot')).toHaveLength(2);
    expect(w.wake.wakes).toEqual([EP]);
  });
});

describe('cancel', () => {
  it('a waiting job ends CANCELLED at once and never reaches the model', async () => {
    const w = world();
    await w.submit('j1');
    const answer = await cancelJob({ inferenceId: 'j1' }, w.deps);
    expect(answer.outcome).toBe('cancelled');
    expect(answer.job.status).toBe('CANCELLED');
    await w.round();
    expect(w.invoked()).toEqual([]);
    expect(w.events.types()).toEqual(['JobCancelled']);
    // Idempotent.
    expect((await cancelJob({ inferenceId: 'j1' }, w.deps)).outcome).toBe('already');
  });

  it('a job in flight is cancel-requested; its notification ends it CANCELLED, no result kept', async () => {
    const w = world();
    await w.submit('j1');
    await w.round();
    const answer = await cancelJob({ inferenceId: 'j1' }, w.deps);
    expect(answer.outcome).toBe('requested');
    expect(answer.job.cancelRequested).toBe(true);
    const ended = await w.notify('j1');
    expect(ended.applied).toBe(true);
    const rec = w.store.records.get('j1')!;
    expect(rec.status).toBe('CANCELLED');
    expect(rec.result).toBeUndefined();
    expect(rec.resultBytes).toBeUndefined();
    expect(w.queue.heldBy(EP).size).toBe(0);
    expect(w.events.types()).toEqual(['JobCancelled']);
    expect(w.metrics.count('JobsCancelled')).toBe(1);
  });

  it('refuses a finished job with a Conflict; owner mode cancels only its own', async () => {
    const w = world();
    await w.submit('j1');
    await w.round();
    await w.notify('j1');
    await expect(cancelJob({ inferenceId: 'j1' }, w.deps)).rejects.toBeInstanceOf(Conflict);
    await w.submit('j2', {}, 'jwt:iss#alice');
    await expect(cancelJob({ inferenceId: 'j2', owner: 'jwt:iss#bob' }, w.deps)).rejects.toThrow(
      /no job j2/,
    );
  });

  it('with admission off, an in-flight job is still cancel-requested', async () => {
    const w = world({ admission: false });
    await w.submit('j1');
    expect((await cancelJob({ inferenceId: 'j1' }, w.deps)).outcome).toBe('requested');
    await w.notify('j1', 'FAILED');
    expect(w.store.records.get('j1')?.status).toBe('CANCELLED');
  });

  /** A batch of `lines` lines in blocks of 250, the first `submitted` of them submitted. */
  async function batchOf(w: ReturnType<typeof world>, lines: number, submitted: number) {
    const batchId = 'b-0123456789abcdef01234567';
    await w.batchRepo.create({
      batchId,
      createdAt: T0,
      source: { kind: 'manifest', uri: 's3://in/m.jsonl' },
    });
    const blocks = Math.ceil(lines / 250);
    for (let b = 0; b < blocks; b++) {
      await w.batchRepo.openBlock(batchId, b, Math.min(250, lines - b * 250), {}, 1);
      await w.batchRepo.advance(batchId, b + 1);
    }
    for (let line = 1; line <= submitted; line++) {
      await submitJob(
        {
          query: { inferenceId: `${batchId}-${line}` },
          body: Buffer.from('x'),
          batch: { batchId, line },
        },
        w.submitDeps,
      );
      await w.batchRepo.addLine(batchId, Math.floor((line - 1) / 250), line, 'submitted');
    }
    return batchId;
  }

  it('a batch: the request marks it and queues the work; the worker cancels its waiting jobs', async () => {
    const w = world();
    const batchId = await batchOf(w, 2, 1);
    const writes = w.store.calls.length;
    const answer = await cancelBatch({ batchId }, { batches: w.batches, now: w.clock });
    // Not expanded yet: the blocks opened so far (1) and the one the expansion may be opening.
    expect(answer).toEqual({ batchId, cancelledAt: T0, blocks: 2 });
    // No job was touched by the request.
    expect(w.store.calls.length).toBe(writes);
    expect(w.store.records.get(`${batchId}-1`)?.status).toBe('IN_PROGRESS');
    expect((await w.batchRepo.header(batchId))?.cancelledAt).toBe(T0);
    await w.drain();
    expect(w.store.records.get(`${batchId}-1`)?.status).toBe('CANCELLED');
    const [block] = await w.batchRepo.blocks(batchId, 1);
    expect(block?.cancelled).toEqual([1]);
    // A line not yet submitted never is: it counts as cancelled.
    await handleMessage({ t: 'submit', batchId, line: 2, spec: { body: 'x' } }, 1, w.worker);
    expect(w.store.records.get(`${batchId}-2`)).toBeUndefined();
    expect((await w.batchRepo.blocks(batchId, 1))[0]?.cancelled).toEqual([1, 2]);
    await w.round();
    expect(w.invoked()).toEqual([]);
  });

  it('a large batch: every submitted, unended job cancelled by the worker, once under redelivery', async () => {
    const w = world();
    const batchId = await batchOf(w, 600, 520);
    // Two in flight before the cancel: they are cancel-requested, not ended.
    await w.round();
    const inFlight = w.invoked();
    expect(inFlight).toHaveLength(2);
    // One ended before the cancel: left as it is.
    await w.notify(inFlight[0]!);
    const answer = await cancelBatch({ batchId }, { batches: w.batches, now: w.clock });
    expect(answer.blocks).toBe(4);
    await w.drain();
    // Every block's work delivered again (SQS is at least once), and the cancel repeated.
    await cancelBatch({ batchId }, { batches: w.batches, now: w.clock });
    await w.drain();
    const statuses = new Map<string, number>();
    for (let line = 1; line <= 520; line++) {
      const rec = w.store.records.get(`${batchId}-${line}`)!;
      const key = rec.cancelRequested && rec.status === 'IN_PROGRESS' ? 'requested' : rec.status;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    expect(Object.fromEntries(statuses)).toEqual({ COMPLETED: 1, requested: 1, CANCELLED: 518 });
    expect(w.events.types().filter((t) => t === 'JobCancelled')).toHaveLength(518);
    const blocks = await w.batchRepo.blocks(batchId, 3);
    expect(blocks.reduce((n, b) => n + b.cancelled.length, 0)).toBe(518);
    await w.round();
    expect(w.invoked()).toEqual(inFlight);
  });
});

describe('retry of the queue-control endings', () => {
  it('a CANCELLED job retried is a new attempt that waits in its lane and runs', async () => {
    const w = world();
    await w.submit('j1', { priority: 'high', tenant: 'a' });
    await cancelJob({ inferenceId: 'j1' }, w.deps);
    const attempt = await retryJob({ inferenceId: 'j1' }, w.submitDeps);
    expect(attempt).toMatchObject({
      inferenceId: 'j1.2',
      status: 'IN_PROGRESS',
      retryOf: 'j1',
      attempt: 2,
      priority: 'high',
      tenant: 'a',
    });
    expect(w.store.records.get('j1')).toMatchObject({
      status: 'CANCELLED',
      attempts: 2,
      retriedBy: 'j1.2',
    });
    await w.round();
    expect(w.invoked()).toEqual(['j1.2']);
  });

  it('an EXPIRED job retried gets a queue deadline of its own and reaches the model', async () => {
    const w = world();
    // The window is full: j1 expires waiting behind it.
    await w.submit('busy');
    await w.round();
    await w.submit('j1', { maxQueueSeconds: '10' });
    w.clock.advance(11_000);
    await w.round();
    expect(w.store.records.get('j1')?.status).toBe('EXPIRED');
    const attempt = await retryJob({ inferenceId: 'j1' }, w.submitDeps);
    expect(attempt).toMatchObject({
      inferenceId: 'j1.2',
      maxQueueSeconds: 10,
      queueDeadline: new Date(w.clock().getTime() + 10_000).toISOString(),
    });
    await w.notify('busy');
    await w.round();
    expect(w.invoked()).toEqual(['busy', 'j1.2']);
  });

  it('still refuses a COMPLETED job and one in flight, with the same answer', async () => {
    const w = world();
    await w.submit('done');
    await w.round();
    await w.notify('done');
    await w.submit('waiting');
    for (const [id, status] of [
      ['done', 'COMPLETED'],
      ['waiting', 'IN_PROGRESS'],
    ] as const) {
      const refused = retryJob({ inferenceId: id }, w.submitDeps);
      await expect(refused).rejects.toBeInstanceOf(RetryConflict);
      await expect(refused).rejects.toThrow(`job ${id} has not failed: it is ${status}`);
    }
  });
});

describe('batch lines under queue control', () => {
  const batchId = 'b-00000000000000000000aaaa';

  async function submitLines(
    w: ReturnType<typeof world>,
    lines: { tenant?: string; priority?: 'high' | 'normal' | 'low' }[],
    owner?: string,
  ) {
    await w.batchRepo.create({
      batchId,
      createdAt: T0,
      source: { kind: 'manifest', uri: 's3://in/batches/m.jsonl' },
      expiresAt: 1,
      owner,
    });
    await w.batchRepo.openBlock(batchId, 0, lines.length, {}, 1);
    for (const [i, spec] of lines.entries()) {
      await handleMessage(
        { t: 'submit', batchId, line: i + 1, spec: { body: 'x', ...spec } },
        1,
        w.worker,
      );
    }
    return lines.map((_, i) => w.store.records.get(`${batchId}-${i + 1}`));
  }

  it("a line's tenant is its job's share, as ?tenant= is; absent, the default", async () => {
    const w = world();
    const [a, b] = await submitLines(w, [{ tenant: 'teamA', priority: 'high' }, {}]);
    expect(a).toMatchObject({ tenant: 'teamA', priority: 'high' });
    expect(b).toMatchObject({ tenant: 'default', priority: 'normal' });
  });

  it('a bad tenant refuses its line with the words of ?tenant=', async () => {
    const w = world();
    const [job] = await submitLines(w, [{ tenant: 'no spaces' }]);
    expect(job).toBeUndefined();
    const [block] = await w.batchRepo.blocks(batchId, 1);
    expect(JSON.stringify(block)).toContain('tenant must be 1-64 letters');
  });

  it("owner mode: the batch's owner owns its jobs and is their tenant, whatever a line says", async () => {
    const w = world({ ownerMode: true });
    const [job] = await submitLines(w, [{ tenant: 'teamA' }], 'jwt:iss#alice');
    expect(job).toMatchObject({ owner: 'jwt:iss#alice', tenant: 'jwt_iss_alice' });
  });
});

describe('getJob and reconcile under queue control', () => {
  it('answers a waiting job with its place: position in its lane, ahead counting lanes before', async () => {
    const w = world();
    await w.submit('h1', { priority: 'high' });
    await w.submit('n1');
    w.clock.advance(1);
    await w.submit('n2');
    const job = w.store.records.get('n2')!;
    const answer = await queueAnswer(job, { ...w.deps, queue: w.queue });
    expect(answer.queue).toEqual({ lane: 'normal', position: 2, ahead: 2, exact: true });
  });

  it('ends an expired waiting job EXPIRED when it finds it', async () => {
    const w = world();
    await w.submit('j1', { maxQueueSeconds: '10' });
    w.clock.advance(10_000);
    const answer = await queueAnswer(w.store.records.get('j1')!, { ...w.deps, queue: w.queue });
    expect(answer.status).toBe('EXPIRED');
    expect(answer.queue).toBeUndefined();
  });

  it('reconcile expires a waiting job past its deadline and never invokes it', async () => {
    const w = world();
    await w.submit('j1', { maxQueueSeconds: '10' });
    const deps = { ...w.deps, config: w.config, objects: w.objects };
    expect((await checkJob(w.store.records.get('j1')!, deps)).verdict).toBe('pending');
    w.clock.advance(1_000_000);
    const checked = await checkJob(w.store.records.get('j1')!, deps);
    expect(checked.verdict).toBe('expired');
    expect(w.store.records.get('j1')?.status).toBe('EXPIRED');
    expect(w.invoked()).toEqual([]);
    // Never released as an abandoned claim: it stays, EXPIRED.
    expect(w.store.count('release')).toBe(0);
  });
});

describe('CANCELLED and EXPIRED never flip', () => {
  it('property: under any order of notifications, rounds, cancels and time, they stay', async () => {
    type Step = 'round' | 'cancel' | 'completed' | 'failed' | 'tick';
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Step>('round', 'cancel', 'completed', 'failed', 'tick'), {
          minLength: 1,
          maxLength: 12,
        }),
        async (steps) => {
          const w = world();
          await w.submit('j1', { maxQueueSeconds: '30' });
          let terminal: string | undefined;
          for (const step of steps) {
            if (step === 'round') await w.round();
            if (step === 'cancel') await cancelJob({ inferenceId: 'j1' }, w.deps).catch(() => {});
            if (step === 'completed' || step === 'failed') {
              await w.notify('j1', step === 'completed' ? 'COMPLETED' : 'FAILED');
            }
            if (step === 'tick') w.clock.advance(20_000);
            const status = w.store.records.get('j1')!.status;
            if (terminal === 'CANCELLED' || terminal === 'EXPIRED') expect(status).toBe(terminal);
            if (status !== 'IN_PROGRESS') terminal ??= status;
          }
          const rec = w.store.records.get('j1')!;
          if (rec.status === 'CANCELLED' || rec.status === 'EXPIRED') {
            expect(rec.result).toBeUndefined();
          }
          // Never invoked once it could no longer be handed over.
          expect(w.invoked().length).toBeLessThanOrEqual(1);
          // The slot is never left held by an ended job.
          if (rec.status !== 'IN_PROGRESS') expect(w.queue.heldBy(EP).size).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('downstream of the new endings', () => {
  it('no automatic retry of CANCELLED or EXPIRED', () => {
    const policy = { maxAttempts: 3, on: /.*/, baseDelaySeconds: 1 };
    expect(willAutoRetry({ status: 'FAILED', failureReason: 'x' }, policy)).toBe(true);
    expect(willAutoRetry({ status: 'CANCELLED', failureReason: 'x' }, policy)).toBe(false);
    expect(willAutoRetry({ status: 'EXPIRED', failureReason: 'x' }, policy)).toBe(false);
  });

  it('the Step Functions task gets a failure named JobCancelled / JobExpired', async () => {
    for (const [status, error] of [
      ['CANCELLED', 'AsyncJobs.JobCancelled'],
      ['EXPIRED', 'AsyncJobs.JobExpired'],
    ] as const) {
      const store = new FakeJobRepository([
        {
          inferenceId: 'j1',
          status,
          taskToken: 't',
          taskCallback: { status: 'PENDING', at: T0 },
        },
      ]);
      const callbacks = new FakeTaskCallbacks();
      expect(await sendTaskResult('j1', { store, callbacks })).toBe('sent');
      expect(callbacks.sent[0]).toMatchObject({ call: 'failure', error });
    }
  });
});
