import { describe, expect, it } from 'vitest';
import type { RetryQueue } from '../../src/lib/app/ports/retry-queue.ts';
import { MAX_RETRY_DELAY_SECONDS, type RetryMessage } from '../../src/lib/domain/retry.ts';
import { freshId, useRig } from './rig.ts';

/*
 * What every RetryQueue does, the fake (test/support/fakes/retry-queue.ts) and the SQS adapter on
 * the local SQS alike: each schedule is one message, read back by autoRetry exactly as it was
 * scheduled, hidden for its delay as SQS allows it (DelaySeconds is an integer from 0 to 900:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html),
 * and a queue that refuses makes schedule throw, so the JobFailed event is retried.
 */

export interface RetryQueueRig {
  retries: RetryQueue;
  /** The same port over a queue that refuses every message (SQS: one that does not exist). */
  refusing: RetryQueue;
  /** What the queue holds for `inferenceId`, in order: as autoRetry parses it, and its delay. */
  scheduled(inferenceId: string): Promise<{ message?: RetryMessage; delaySeconds: number }[]>;
  close(): Promise<void>;
}

export function retryQueueContract(name: string, start: () => Promise<RetryQueueRig>): void {
  describe(`RetryQueue contract: ${name}`, () => {
    let rig: RetryQueueRig;
    useRig(start, (started) => {
      rig = started;
    });

    it('queues the message as autoRetry will read it, with its delay', async () => {
      const inferenceId = freshId('job');
      await rig.retries.schedule({ inferenceId, attempt: 1 }, 30);
      expect(await rig.scheduled(inferenceId)).toEqual([
        { message: { inferenceId, attempt: 1 }, delaySeconds: 30 },
      ]);
    });

    it('keeps a delay to what the queue allows: whole seconds from 0 to 900', async () => {
      const inferenceId = freshId('clamp');
      await rig.retries.schedule({ inferenceId, attempt: 1 }, 12.6);
      await rig.retries.schedule({ inferenceId, attempt: 2 }, -5);
      await rig.retries.schedule({ inferenceId, attempt: 3 }, 3_600);
      expect((await rig.scheduled(inferenceId)).map((s) => s.delaySeconds)).toEqual([
        13,
        0,
        MAX_RETRY_DELAY_SECONDS,
      ]);
    });

    it('queues a repeated schedule again: autoRetry, not the queue, makes it a no-op', async () => {
      const inferenceId = freshId('twice');
      const message = { inferenceId: `${inferenceId}.2`, attempt: 2 };
      await Promise.all([rig.retries.schedule(message, 60), rig.retries.schedule(message, 60)]);
      // The delay and id alone would not tell the two apart: read by the original's id.
      expect(await rig.scheduled(message.inferenceId)).toEqual([
        { message, delaySeconds: 60 },
        { message, delaySeconds: 60 },
      ]);
    });

    it('throws when the queue refuses the message, and holds nothing of it', async () => {
      const inferenceId = freshId('refused');
      await expect(rig.refusing.schedule({ inferenceId, attempt: 1 }, 30)).rejects.toThrow();
      expect(await rig.scheduled(inferenceId)).toEqual([]);
    });
  });
}
