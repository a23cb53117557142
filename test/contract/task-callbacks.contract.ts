import { describe, expect, it } from 'vitest';
import type { TaskCallbacks } from '../../src/lib/app/ports/task-callbacks.ts';
import { awsErrorName } from '../../src/lib/domain/errors.ts';
import { refusal } from '../../src/lib/domain/task-callback.ts';
import { freshId, useRig } from './rig.ts';

/*
 * What every TaskCallbacks does, the fake (test/support/fakes/task-callbacks.ts) and the Step
 * Functions adapter on the local Step Functions alike: a success carries its output exactly and
 * a failure its error and cause, to the token given; a refusal is thrown with the exception's own
 * name, which is all sendTaskResult reads (awsErrorName, then refusal()): TaskTimedOut once the
 * task gave up waiting, InvalidToken for a token Step Functions never issued
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html).
 */

export interface SentCallback {
  call: 'success' | 'failure';
  taskToken: string;
  /** success: the output as Step Functions parses it. */
  output?: unknown;
  error?: string;
  cause?: string;
}

export interface TaskCallbacksRig {
  callbacks: TaskCallbacks;
  /** A token as Step Functions issues one, named by `label`. */
  token(label: string): string;
  /** A token Step Functions never issued. */
  unknownToken: string;
  /** From now on, `token` answers as one whose task timed out. */
  expire(token: string): void;
  /** The callbacks Step Functions took for `token`, in order. */
  sent(token: string): Promise<SentCallback[]>;
  close(): Promise<void>;
}

export function taskCallbacksContract(name: string, start: () => Promise<TaskCallbacksRig>): void {
  describe(`TaskCallbacks contract: ${name}`, () => {
    let rig: TaskCallbacksRig;
    useRig(start, (started) => {
      rig = started;
    });
    const nameOf = async (call: Promise<void>) => {
      const err = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeDefined();
      return awsErrorName(err);
    };

    it('sends a success with its output exactly, to the token given', async () => {
      const token = rig.token(freshId('success'));
      const output = {
        inferenceId: 'job-1',
        status: 'COMPLETED',
        result: '{"scores":[0.5]}',
        note: 'été ✓ 𝄞 "quoted" \\',
        resultBytes: 16,
      };
      await rig.callbacks.success(token, JSON.stringify(output));
      expect(await rig.sent(token)).toEqual([{ call: 'success', taskToken: token, output }]);
    });

    it('sends a failure with its error and cause', async () => {
      const token = rig.token(freshId('failure'));
      const cause = `ClientError: Received server error (500) ${'x'.repeat(2000)}`;
      await rig.callbacks.failure(token, 'AsyncJobs.JobFailed', cause);
      expect(await rig.sent(token)).toEqual([
        { call: 'failure', taskToken: token, error: 'AsyncJobs.JobFailed', cause },
      ]);
    });

    it('refuses a token whose task timed out as TaskTimedOut: recorded EXPIRED, not retried', async () => {
      const token = rig.token(freshId('expired'));
      rig.expire(token);
      const name = await nameOf(rig.callbacks.success(token, '{}'));
      expect(name).toBe('TaskTimedOut');
      expect(refusal(name)).toBe('EXPIRED');
      expect(await nameOf(rig.callbacks.failure(token, 'AsyncJobs.JobFailed', 'x'))).toBe(
        'TaskTimedOut',
      );
    });

    it('refuses a token it never issued as InvalidToken: recorded INVALID, not retried', async () => {
      const name = await nameOf(rig.callbacks.success(rig.unknownToken, '{}'));
      expect(name).toBe('InvalidToken');
      expect(refusal(name)).toBe('INVALID');
      expect(await rig.sent(rig.unknownToken)).toEqual([]);
    });

    it('refuses one token alone: the others still go through', async () => {
      const expired = rig.token(freshId('one'));
      const live = rig.token(freshId('other'));
      rig.expire(expired);
      await expect(rig.callbacks.success(expired, '{}')).rejects.toBeDefined();
      await rig.callbacks.success(live, '{"ok":true}');
      expect(await rig.sent(live)).toEqual([
        { call: 'success', taskToken: live, output: { ok: true } },
      ]);
    });
  });
}
