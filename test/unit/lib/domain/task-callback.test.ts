import { describe, expect, it } from 'vitest';
import { publicView, type Job } from '../../../../src/lib/domain/jobs.ts';
import { directSubmission } from '../../../../src/lib/domain/direct-submission.ts';
import { parseSubmitQuery } from '../../../../src/lib/domain/submission.ts';
import {
  JOB_FAILED_ERROR,
  TASK_CAUSE_MAX_LENGTH,
  TASK_OUTPUT_MAX_BYTES,
  TaskToken,
  failureOf,
  payloadBytes,
  refusal,
  successOutput,
} from '../../../../src/lib/domain/task-callback.ts';

describe('the task token parameter', () => {
  it('takes 1 to 2048 printable characters (SendTaskSuccess taskToken length constraints)', () => {
    expect(parseSubmitQuery({ taskToken: 'AAAA+/=token' }).taskToken).toBe('AAAA+/=token');
    expect(TaskToken.safeParse('x'.repeat(2048)).success).toBe(true);
    expect(() => parseSubmitQuery({ taskToken: 'x'.repeat(2049) })).toThrow(
      'taskToken must be at most 2048 characters',
    );
    expect(() => parseSubmitQuery({ taskToken: '' })).toThrow('taskToken must not be empty');
    expect(() => parseSubmitQuery({ taskToken: 'a b' })).toThrow(/printable ASCII/);
  });

  it('is never part of the public record, which shows the callback status instead', () => {
    const job: Job = {
      inferenceId: 'j',
      status: 'IN_PROGRESS',
      taskToken: 'secret-token',
      taskCallback: { status: 'PENDING', at: '2026-11-26T00:00:00.000Z' },
    };
    const view = publicView(job);
    expect(JSON.stringify(view)).not.toContain('secret-token');
    expect(view).toEqual({
      inferenceId: 'j',
      status: 'IN_PROGRESS',
      taskCallback: { status: 'PENDING', at: '2026-11-26T00:00:00.000Z' },
    });
  });
});

describe('the SendTaskSuccess output', () => {
  const record = { inferenceId: 'j', status: 'COMPLETED', outputLocation: 's3://b/o.out' };

  it('is the record with its result while it fits 262,144 UTF-8 bytes', () => {
    const out = successOutput({ ...record, result: 'x'.repeat(1000), resultEncoding: 'utf8' });
    expect(JSON.parse(out).result).toHaveLength(1000);
  });

  it('leaves the result out, counting UTF-8 bytes as Step Functions does, and keeps its location', () => {
    // 100,000 characters but 300,000 bytes: fits by characters, not by bytes.
    const wide = '€'.repeat(100_000);
    expect(JSON.stringify({ ...record, result: wide }).length).toBeLessThan(TASK_OUTPUT_MAX_BYTES);
    const out = successOutput({ ...record, result: wide, resultEncoding: 'utf8' });
    expect(payloadBytes(out)).toBeLessThanOrEqual(TASK_OUTPUT_MAX_BYTES);
    expect(JSON.parse(out)).toEqual({ ...record, resultOmitted: true });
  });
});

describe('the SendTaskFailure error and cause', () => {
  it('names the failure and keeps the reason within 32,768 characters', () => {
    expect(failureOf('model exited')).toEqual({ error: JOB_FAILED_ERROR, cause: 'model exited' });
    expect(failureOf('x'.repeat(40_000)).cause).toHaveLength(TASK_CAUSE_MAX_LENGTH);
    expect(failureOf(undefined).cause).toBe('the job failed');
    expect(JOB_FAILED_ERROR.length).toBeLessThanOrEqual(256);
  });
});

describe('a refused callback', () => {
  it('is settled for TaskTimedOut, InvalidToken and TaskDoesNotExist; retried otherwise', () => {
    expect(refusal('TaskTimedOut')).toBe('EXPIRED');
    expect(refusal('InvalidToken')).toBe('INVALID');
    expect(refusal('TaskDoesNotExist')).toBe('INVALID');
    expect(refusal('ThrottlingException')).toBeUndefined();
    expect(refusal('ServiceUnavailable')).toBeUndefined();
    expect(refusal(undefined)).toBeUndefined();
  });
});

describe("startJob's payload", () => {
  it('maps the POST /jobs parameters and an inline string or JSON body', () => {
    expect(
      directSubmission({ taskToken: 't', inputLocation: 's3://b/k', requestTtlSeconds: 600 }),
    ).toEqual({
      query: { taskToken: 't', inputLocation: 's3://b/k', requestTtlSeconds: '600' },
      contentType: undefined,
      body: Buffer.alloc(0),
    });
    const json = directSubmission({ body: { rows: [1, 2] } });
    expect(json.contentType).toBe('application/json');
    expect(json.body.toString()).toBe('{"rows":[1,2]}');
    const csv = directSubmission({ body: '1,2', contentType: 'text/csv' });
    expect([csv.contentType, csv.body.toString()]).toEqual(['text/csv', '1,2']);
  });

  it('refuses what is not an object of strings and numbers', () => {
    expect(() => directSubmission('s3://b/k')).toThrow('the payload must be a JSON object');
    expect(() => directSubmission({ taskToken: { a: 1 } })).toThrow('taskToken must be a string');
    expect(() => directSubmission({ contentType: 1 })).toThrow('contentType must be a string');
  });
});
