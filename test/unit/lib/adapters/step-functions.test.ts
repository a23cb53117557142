import {
  InvalidToken,
  SFNClient,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { taskCallbacks } from '../../../../src/lib/adapters/step-functions.ts';
import { sendTaskResult } from '../../../../src/lib/app/task-callback.ts';
import type { Job } from '../../../../src/lib/domain/jobs.ts';
import type { TaskCallback } from '../../../../src/lib/domain/task-callback.ts';
import { FakeJobRepository } from '../../../support/fakes/job-repository.ts';

/*
 * The TaskCallbacks adapter (Step Functions) under sendTaskResult, over a mocked SFN client: what
 * each callback sends (the public record, the failure's error and cause) and how the use case
 * reads each error Step Functions documents. The use case's own decisions, on the port's fake,
 * are test/unit/lib/app/task-callback.test.ts.
 *
 * The errors below are the exceptions the SendTaskSuccess and SendTaskFailure API reference lists,
 * each HTTP 400 with its name as the error type:
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html#API_SendTaskSuccess_Errors
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskFailure.html#API_SendTaskFailure_Errors
 * Throttling and 5xx are the common errors every action may answer:
 * https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html
 */

const sfnMock = mockClient(SFNClient);
const sfn = new SFNClient({ region: 'us-east-1' });
const meta = (httpStatusCode: number) => ({ httpStatusCode, requestId: 'r-1', attempts: 1 });
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAQ-token';

/** The job's record on the fake store; `settled`: each callback the use case settled, in order. */
function fakeStore(job: Job | undefined) {
  const settled: TaskCallback[] = [];
  const store = new FakeJobRepository(job ? [job] : []);
  const settle = store.settleCallback.bind(store);
  store.settleCallback = async (id, c) => {
    settled.push(c);
    return settle(id, c);
  };
  return { store, settled };
}

const run = (job: Job | undefined) => {
  const fake = fakeStore(job);
  const answer = sendTaskResult('job-1', {
    store: fake.store,
    callbacks: taskCallbacks(() => sfn),
    now: () => new Date('2026-11-26T08:00:00Z'),
  });
  return { answer, settled: fake.settled };
};

const completed: Job = {
  inferenceId: 'job-1',
  status: 'COMPLETED',
  result: '{"scores":[1]}',
  resultEncoding: 'utf8',
  outputLocation: 's3://out/outputs/job-1.out',
  taskToken: TOKEN,
  taskCallback: { status: 'PENDING', at: '2026-11-26T07:59:00.000Z' },
  expiresAt: 1,
  claimToken: 'c',
};

beforeEach(() => sfnMock.reset());

describe('sendTaskResult', () => {
  it('sends SendTaskSuccess with the public record (no token, no internal fields) and settles SENT', async () => {
    sfnMock.on(SendTaskSuccessCommand).resolves({ $metadata: meta(200) });
    const { answer, settled } = run(completed);
    expect(await answer).toBe('sent');
    const input = sfnMock.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input;
    expect(input.taskToken).toBe(TOKEN);
    expect(JSON.parse(input.output!)).toEqual({
      inferenceId: 'job-1',
      status: 'COMPLETED',
      result: '{"scores":[1]}',
      resultEncoding: 'utf8',
      outputLocation: 's3://out/outputs/job-1.out',
    });
    expect(settled).toEqual([
      { status: 'SENT', at: '2026-11-26T08:00:00.000Z', detail: 'SendTaskSuccess' },
    ]);
  });

  it('sends SendTaskFailure with AsyncJobs.JobFailed and the failure reason', async () => {
    sfnMock.on(SendTaskFailureCommand).resolves({ $metadata: meta(200) });
    const { answer } = run({ ...completed, status: 'FAILED', failureReason: 'OOM' });
    expect(await answer).toBe('sent');
    const input = sfnMock.commandCalls(SendTaskFailureCommand)[0]!.args[0].input;
    expect(input).toEqual({ taskToken: TOKEN, error: 'AsyncJobs.JobFailed', cause: 'OOM' });
  });

  it('records TaskTimedOut as EXPIRED and does not throw (no retry)', async () => {
    sfnMock
      .on(SendTaskSuccessCommand)
      .rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: meta(400) }));
    const { answer, settled } = run(completed);
    expect(await answer).toBe('expired');
    expect(settled[0]).toMatchObject({ status: 'EXPIRED', detail: 'TaskTimedOut' });
  });

  it('records InvalidToken and TaskDoesNotExist as INVALID', async () => {
    sfnMock
      .on(SendTaskSuccessCommand)
      .rejects(new InvalidToken({ message: 'Invalid Token', $metadata: meta(400) }));
    expect(await run(completed).answer).toBe('invalid');
    sfnMock
      .on(SendTaskFailureCommand)
      .rejects(new TaskDoesNotExist({ message: 'Task does not exist', $metadata: meta(400) }));
    const failed = run({ ...completed, status: 'FAILED' });
    expect(await failed.answer).toBe('invalid');
    expect(failed.settled[0]).toMatchObject({ status: 'INVALID', detail: 'TaskDoesNotExist' });
  });

  it('throws on throttling and 5xx, so Lambda retries the event, and settles nothing', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $fault: 'client',
      $metadata: meta(400),
    });
    sfnMock.on(SendTaskSuccessCommand).rejects(throttled);
    const first = run(completed);
    await expect(first.answer).rejects.toThrow('Rate exceeded');
    expect(first.settled).toEqual([]);
    const unavailable = Object.assign(new Error('Service Unavailable'), {
      name: 'ServiceUnavailable',
      $fault: 'server',
      $metadata: meta(503),
    });
    sfnMock.on(SendTaskSuccessCommand).rejects(unavailable);
    await expect(run(completed).answer).rejects.toThrow('Service Unavailable');
  });

  it('skips a job without a token, an unfinished job and a callback already settled', async () => {
    expect(await run(undefined).answer).toBe('skipped');
    expect(await run({ ...completed, taskToken: undefined }).answer).toBe('skipped');
    expect(await run({ ...completed, status: 'IN_PROGRESS' }).answer).toBe('skipped');
    const sent = { status: 'SENT' as const, at: '2026-11-26T08:00:00.000Z' };
    expect(await run({ ...completed, taskCallback: sent }).answer).toBe('skipped');
    expect(sfnMock.calls()).toHaveLength(0);
  });
});
