import * as z from 'zod/mini';

/*
 * Step Functions callbacks (docs/step-functions.md). A job submitted with a task token is reported
 * back to the waiting `.waitForTaskToken` task when it ends: SendTaskSuccess with the public record,
 * or SendTaskFailure with an error name and the failure reason. The token is a bearer capability
 * (whoever holds it can end the task): it is stored with the job, never answered, logged or put in
 * an event, and removed from the record once it has been used.
 */

/** SendTaskSuccess/SendTaskFailure: `taskToken` Length Constraints 1 to 2048 (API reference). */
export const TASK_TOKEN_MAX_LENGTH = 2048;
/** SendTaskSuccess: `output` at most 262144, "expressed as bytes in UTF-8 encoding". */
export const TASK_OUTPUT_MAX_BYTES = 262_144;
/** SendTaskFailure: `error` at most 256 characters, `cause` at most 32768. */
export const TASK_ERROR_MAX_LENGTH = 256;
export const TASK_CAUSE_MAX_LENGTH = 32_768;

/** The error name a failed job reports to its task (a Catch can match it). */
export const JOB_FAILED_ERROR = 'AsyncJobs.JobFailed';
/** Queue control's endings (docs/queue.md): the job never ran to its end, or never ran. */
export const JOB_CANCELLED_ERROR = 'AsyncJobs.JobCancelled';
export const JOB_EXPIRED_ERROR = 'AsyncJobs.JobExpired';

/** Where a job's callback stands, on its public record (wire.ts). */
export type { TaskCallback, TaskCallbackStatus } from './wire.ts';

/**
 * A task token as a query parameter or a batch line gives it: 1-2048 characters, printable
 * (a token is opaque: no further pattern is documented), checked for length before anything else.
 */
export const TaskToken = z.string().check(
  z.minLength(1, { error: 'taskToken must not be empty', abort: true }),
  z.maxLength(TASK_TOKEN_MAX_LENGTH, {
    error: `taskToken must be at most ${TASK_TOKEN_MAX_LENGTH} characters`,
    abort: true,
  }),
  z.regex(/^[\x21-\x7e]+$/, 'taskToken must be printable ASCII without spaces'),
);

/** UTF-8 bytes of a JSON text, as Step Functions counts its payload limits. */
export function payloadBytes(json: string): number {
  return Buffer.byteLength(json, 'utf8');
}

/**
 * The SendTaskSuccess output for a finished job: its public record; when that exceeds the payload
 * limit, the same without the inline result (`resultOmitted: true`; `outputLocation` says where it
 * is). `record` is the public view (no token, no internal fields).
 */
export function successOutput(record: Record<string, unknown>): string {
  const whole = JSON.stringify(record);
  if (payloadBytes(whole) <= TASK_OUTPUT_MAX_BYTES) return whole;
  const { result: _result, resultEncoding: _encoding, ...rest } = record;
  return JSON.stringify({ ...rest, resultOmitted: true });
}

/** The SendTaskFailure error and cause for a failed job, within their documented lengths. */
export function failureOf(
  failureReason: string | undefined,
  status: 'FAILED' | 'CANCELLED' | 'EXPIRED' = 'FAILED',
): { error: string; cause: string } {
  const error =
    status === 'CANCELLED'
      ? JOB_CANCELLED_ERROR
      : status === 'EXPIRED'
        ? JOB_EXPIRED_ERROR
        : JOB_FAILED_ERROR;
  const cause = failureReason ?? (status === 'FAILED' ? 'the job failed' : `the job was ${status}`);
  return { error, cause: cause.slice(0, TASK_CAUSE_MAX_LENGTH) };
}

/**
 * What a refused callback means for the job: Step Functions will never take this token again
 * (EXPIRED, INVALID), so it is recorded and not retried; anything else (throttling, 5xx, network)
 * is thrown and retried. Exception names from the SendTaskSuccess/SendTaskFailure API reference.
 */
export function refusal(errorName: string | undefined): 'EXPIRED' | 'INVALID' | undefined {
  if (errorName === 'TaskTimedOut') return 'EXPIRED';
  if (errorName === 'InvalidToken' || errorName === 'TaskDoesNotExist') return 'INVALID';
  return undefined;
}
