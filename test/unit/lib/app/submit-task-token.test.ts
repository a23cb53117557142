import { describe, expect, it } from 'vitest';
import { eventDetail } from '../../../../src/lib/app/announce.ts';
import { submitJob } from '../../../../src/lib/app/submit.ts';
import { publicView, type Job } from '../../../../src/lib/domain/jobs.ts';
import { wantsTaskResult } from '../../../../src/local/eventbridge.ts';
import { answering } from '../../../support/answers.ts';
import { fakeClock } from '../../../support/fakes/clock.ts';
import { submitFakes } from '../../../support/fakes/ports.ts';

const setup = () => submitFakes({ now: fakeClock('2026-11-26T08:00:00Z') });

describe('POST /jobs?taskToken=', () => {
  it('stores the token with the claim, PENDING, and answers a record without it', async () => {
    const { deps, store } = setup();
    const { job } = await submitJob(
      {
        query: { inferenceId: 'job-1', taskToken: 'the-token' },
        contentType: 'text/csv',
        body: Buffer.from('1,2'),
      },
      deps,
    );
    const item = store.records.get('job-1')!;
    expect(item.taskToken).toBe('the-token');
    expect(item.taskCallback).toEqual({ status: 'PENDING', at: '2026-11-26T08:00:00.000Z' });
    expect(JSON.stringify(publicView(job))).not.toContain('the-token');
    expect(publicView(job).taskCallback).toEqual(item.taskCallback);
  });

  it('stores the token a retry carries from the attempt it follows, PENDING again', async () => {
    const { deps, store } = setup();
    await submitJob(
      {
        query: {
          inferenceId: 'job-1.2',
          inputLocation: 's3://async-jobs-local-input/inputs/job-1',
        },
        body: Buffer.alloc(0),
        record: { retryOf: 'job-1', attempt: 2, taskToken: 'the-token' },
      },
      deps,
    );
    expect(store.records.get('job-1.2')).toMatchObject({
      taskToken: 'the-token',
      taskCallback: { status: 'PENDING', at: '2026-11-26T08:00:00.000Z' },
    });
  });

  it('refuses an over-long token before anything is claimed', async () => {
    const { deps, store } = setup();
    await expect(
      answering(
        submitJob(
          {
            query: { taskToken: 'x'.repeat(2049) },
            body: Buffer.from('1'),
            contentType: 'text/csv',
          },
          deps,
        ),
      ),
    ).rejects.toMatchObject({ status: 400 });
    expect(store.calls).toHaveLength(0);
  });
});

describe('the outcome event of a job with a task token', () => {
  it('says hasTaskToken and never carries the token', () => {
    const job: Job = { inferenceId: 'j', status: 'COMPLETED', taskToken: 'the-token' };
    const detail = eventDetail(job);
    expect(detail.hasTaskToken).toBe(true);
    expect(JSON.stringify(detail)).not.toContain('the-token');
    expect(eventDetail({ inferenceId: 'k', status: 'FAILED' })).not.toHaveProperty('hasTaskToken');
  });

  it('reaches the callback rule only when final: a failure an automatic retry follows is not', () => {
    const event = (detail: Record<string, unknown>) => ({
      id: 'e',
      source: 'async-jobs',
      detailType: 'JobFailed',
      eventBusName: 'b',
      time: '2026-11-26T08:00:00Z',
      detail,
    });
    expect(wantsTaskResult(event({ hasTaskToken: true, finalAttempt: true }))).toBe(true);
    expect(wantsTaskResult(event({ hasTaskToken: true, finalAttempt: false }))).toBe(false);
    expect(wantsTaskResult(event({ finalAttempt: true }))).toBe(false);
  });
});
