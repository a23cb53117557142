import { describe, expect, it } from 'vitest';
import { sendTaskResult } from '../../../../src/lib/app/task-callback.ts';
import type { Job } from '../../../../src/lib/domain/jobs.ts';
import { fakeClock } from '../../../support/fakes/clock.ts';
import { FakeJobRepository } from '../../../support/fakes/job-repository.ts';
import { FakeTaskCallbacks } from '../../../support/fakes/task-callbacks.ts';

/*
 * sendTaskResult on its ports' fakes: what the use case decides (once per job, a refusal
 * recorded for good, any other error left to Lambda's retries). The adapter's reading of Step
 * Functions' documented error names is test/unit/lib/adapters/step-functions.test.ts, over a
 * mocked SFN client.
 */

const T = '2026-11-26T08:00:00.000Z';
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAQ-token';

const job = (overrides: Partial<Job> = {}): Job => ({
  inferenceId: 'job-1',
  status: 'COMPLETED',
  result: '{"scores":[1]}',
  resultEncoding: 'utf8',
  taskToken: TOKEN,
  taskCallback: { status: 'PENDING', at: '2026-11-26T07:59:00.000Z' },
  ...overrides,
});

function rig(record: Job) {
  const store = new FakeJobRepository([record]);
  const callbacks = new FakeTaskCallbacks();
  const deps = { store, callbacks, now: fakeClock(T) };
  return { store, callbacks, send: () => sendTaskResult(record.inferenceId, deps) };
}

describe('sendTaskResult on fakes', () => {
  it('calls back once however often the outcome event is delivered', async () => {
    const { store, callbacks, send } = rig(job());
    expect(await send()).toBe('sent');
    expect(await send()).toBe('skipped');
    expect(callbacks.sent).toHaveLength(1);
    expect(callbacks.sent[0]).toMatchObject({ call: 'success', taskToken: TOKEN });
    const stored = store.records.get('job-1');
    expect(stored?.taskCallback).toEqual({ status: 'SENT', at: T, detail: 'SendTaskSuccess' });
    expect(stored).not.toHaveProperty('taskToken');
  });

  it('reports a failed job as a failure with its reason', async () => {
    const { callbacks, send } = rig(job({ status: 'FAILED', failureReason: 'model error' }));
    expect(await send()).toBe('sent');
    expect(callbacks.sent).toEqual([expect.objectContaining({ call: 'failure' })]);
  });

  it('records a token Step Functions refuses for good, and never calls again', async () => {
    const { store, callbacks, send } = rig(job());
    callbacks.refuse = () => Object.assign(new Error('timed out'), { name: 'TaskTimedOut' });
    expect(await send()).toBe('expired');
    expect(store.records.get('job-1')?.taskCallback?.status).toBe('EXPIRED');
    callbacks.refuse = undefined;
    expect(await send()).toBe('skipped');
    expect(callbacks.sent).toHaveLength(0);
  });

  it('throws a passing failure and settles nothing, so the retried event calls again', async () => {
    const { store, callbacks, send } = rig(job());
    callbacks.refuse = () => Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    await expect(send()).rejects.toThrow('slow down');
    expect(store.count('settleCallback')).toBe(0);
    callbacks.refuse = undefined;
    expect(await send()).toBe('sent');
    expect(callbacks.sent).toHaveLength(1);
  });

  it('leaves a job that is still running alone', async () => {
    const { callbacks, send } = rig(job({ status: 'IN_PROGRESS' }));
    expect(await send()).toBe('skipped');
    expect(callbacks.sent).toHaveLength(0);
  });
});
