import { describe, expect, it } from 'vitest';
import type { BatchQueue } from '../../src/lib/app/ports/batch-queue.ts';
import type { BatchMessage } from '../../src/lib/domain/batches.ts';
import { freshId, useRig } from './rig.ts';

/*
 * What every BatchQueue does, the fake (test/support/fakes/batch-queue.ts, the worker's queue in
 * the in-process batch tests) and the SQS adapter on the local SQS alike: every message sent is
 * received, its body parsed back to what was sent, however many a call sends (SendMessageBatch
 * takes 10 entries at most); a delay hides a message; retryLater brings a received message back
 * after the seconds given, one receive later (ChangeMessageVisibility counts the new timeout from
 * the call: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html),
 * and refuses a receipt handle the queue never gave (ReceiptHandleIsInvalid, same page); a queue
 * that refuses makes send throw, so the step is redelivered.
 */

export interface Received {
  message: BatchMessage;
  receiptHandle: string;
  receiveCount: number;
}

export interface BatchQueueRig {
  queue: BatchQueue;
  /** The same port over a queue that refuses every message (SQS: one that does not exist). */
  refusing: BatchQueue;
  /**
   * Every message of `batchId` visible now (each then hidden for the queue's visibility timeout,
   * 30 s, as a receive does), in the order sent.
   */
  receive(batchId: string): Promise<Received[]>;
  close(): Promise<void>;
}

/** A batch id as the API makes them (BATCH_ID), of its own per test. */
const batchIdOf = () => `b-${freshId('x').slice(2).padEnd(24, '0')}`;

const submit = (batchId: string, line: number, body = `{"n":${line}}`): BatchMessage => ({
  t: 'submit',
  batchId,
  line,
  spec: { body, contentType: 'application/json' },
  endpoint: 'demo-endpoint',
});

export function batchQueueContract(name: string, start: () => Promise<BatchQueueRig>): void {
  describe(`BatchQueue contract: ${name}`, () => {
    let rig: BatchQueueRig;
    useRig(start, (started) => {
      rig = started;
    });
    const sorted = (r: Received[]) =>
      r
        .map((m) => m.message)
        .sort((a, b) => ('line' in a ? a.line : 0) - ('line' in b ? b.line : 0));

    it('delivers one message as it was sent, received once', async () => {
      const batchId = batchIdOf();
      const step: BatchMessage = {
        t: 'expand',
        batchId,
        block: 2,
        offset: 8192,
        line: 513,
        token: 'tök/1',
      };
      await rig.queue.send([step]);
      const [got, ...more] = await rig.receive(batchId);
      expect(more).toEqual([]);
      expect(got).toMatchObject({ message: step, receiveCount: 1 });
      // Received: hidden until its visibility timeout ends.
      expect(await rig.receive(batchId)).toEqual([]);
    });

    it('delivers every message of a call of more than ten, each once, bodies intact', async () => {
      const batchId = batchIdOf();
      const lines = Array.from({ length: 23 }, (_, i) =>
        submit(
          batchId,
          i,
          JSON.stringify({ text: `line ${i} ✓ "quoted" \\ ${'x'.repeat(i * 50)}` }),
        ),
      );
      await rig.queue.send(lines);
      expect(sorted(await rig.receive(batchId))).toEqual(lines);
    });

    it('delivers large bodies that cannot share one SendMessageBatch (256 KiB in all)', async () => {
      const batchId = batchIdOf();
      const lines = [0, 1, 2].map((i) => submit(batchId, i, 'y'.repeat(100 * 1024)));
      await rig.queue.send(lines);
      expect(sorted(await rig.receive(batchId))).toEqual(lines);
    });

    it('sends nothing for no messages', async () => {
      await expect(rig.queue.send([])).resolves.toBeUndefined();
      await expect(rig.refusing.send([])).resolves.toBeUndefined();
    });

    it('delivers a message sent twice twice: a repeated line is a no-op downstream, not here', async () => {
      const batchId = batchIdOf();
      const finish: BatchMessage = { t: 'finish', batchId };
      await Promise.all([rig.queue.send([finish]), rig.queue.send([finish])]);
      expect((await rig.receive(batchId)).map((r) => r.message)).toEqual([finish, finish]);
    });

    it('hides a message sent with a delay', async () => {
      const batchId = batchIdOf();
      await rig.queue.send([submit(batchId, 0)], 900);
      await rig.queue.send([submit(batchId, 1), submit(batchId, 2)], 900);
      await rig.queue.send([submit(batchId, 3)]);
      expect(sorted(await rig.receive(batchId))).toEqual([submit(batchId, 3)]);
    });

    it('brings a received message back when retryLater says so, one receive later', async () => {
      const batchId = batchIdOf();
      await rig.queue.send([submit(batchId, 0), submit(batchId, 1)]);
      const first = await rig.receive(batchId);
      expect(first).toHaveLength(2);
      const again = first.find((r) => 'line' in r.message && r.message.line === 1)!;
      await rig.queue.retryLater(again.receiptHandle, 0);
      const second = await rig.receive(batchId);
      expect(second).toMatchObject([{ message: submit(batchId, 1), receiveCount: 2 }]);
      // Hidden again for as long as asked.
      await rig.queue.retryLater(second[0]!.receiptHandle, 900);
      expect(await rig.receive(batchId)).toEqual([]);
    });

    it('refuses a receipt handle the queue never gave', async () => {
      await expect(rig.queue.retryLater('not-a-receipt-handle', 5)).rejects.toMatchObject({
        name: 'ReceiptHandleIsInvalid',
      });
    });

    it('throws when the queue refuses, one message or many', async () => {
      const batchId = batchIdOf();
      await expect(rig.refusing.send([submit(batchId, 0)])).rejects.toThrow();
      await expect(rig.refusing.send([submit(batchId, 1), submit(batchId, 2)])).rejects.toThrow();
      expect(await rig.receive(batchId)).toEqual([]);
    });
  });
}
