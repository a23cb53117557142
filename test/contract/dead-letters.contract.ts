import { describe, expect, it } from 'vitest';
import type { DeadLetters } from '../../src/lib/app/ports/dead-letters.ts';
import { freshId, useRig } from './rig.ts';

/*
 * What every DeadLetters does, the fake (test/support/fakes/dead-letters.ts) and the SQS adapter
 * on the local SQS alike: a refused notification lands once, its body exactly as received (even
 * one SQS cannot carry as text: its MessageBody allows only #x9 | #xA | #xD | #x20 to #xD7FF |
 * #xE000 to #xFFFD | #x10000 to #x10FFFF, so the adapter sends it base64 and says so:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html),
 * with the reason, the source message id and topic and the function that refused it beside it;
 * and a queue that refuses makes send throw, so the record stays on the retry path.
 */

/** A letter as an operator reads it back from the queue. */
export interface ReadLetter {
  body: string;
  sourceMessageId: string;
  reason: string;
  sourceTopicArn?: string;
  refusedBy?: string;
}

export interface DeadLettersRig {
  letters: DeadLetters;
  /** The same port over a queue that refuses every message (SQS: one that does not exist). */
  refusing: DeadLetters;
  /** The letters held for a source message id, in order. */
  read(sourceMessageId: string): Promise<ReadLetter[]>;
  close(): Promise<void>;
}

const TOPIC = 'arn:aws:sns:us-east-1:000000000000:async-jobs-local-success';

export function deadLettersContract(name: string, start: () => Promise<DeadLettersRig>): void {
  describe(`DeadLetters contract: ${name}`, () => {
    let rig: DeadLettersRig;
    useRig(start, (started) => {
      rig = started;
    });

    it('holds the refused record as received, with why, where from and who refused it', async () => {
      const id = freshId('msg');
      const body = '{"invocationStatus":"Completed","note":"été ✓ 𝄞"}';
      await rig.letters.send({
        record: { id, topicArn: TOPIC, body },
        reason: 'message is not a SageMaker notification: inferenceId',
        refusedBy: 'async-jobs-local-onSuccess',
      });
      expect(await rig.read(id)).toEqual([
        {
          body,
          sourceMessageId: id,
          reason: 'message is not a SageMaker notification: inferenceId',
          sourceTopicArn: TOPIC,
          refusedBy: 'async-jobs-local-onSuccess',
        },
      ]);
    });

    it('says nothing of a topic or a function it was not told (a raw SQS message, a script)', async () => {
      const id = freshId('raw');
      await rig.letters.send({ record: { id, body: 'not json' }, reason: 'message is not JSON' });
      expect(await rig.read(id)).toEqual([
        { body: 'not json', sourceMessageId: id, reason: 'message is not JSON' },
      ]);
    });

    it('gives back a body SQS cannot carry as text exactly as it was received', async () => {
      const id = freshId('binary');
      // A NUL and a form feed: outside SQS's allowed characters.
      const body = '{"a":"\u0000\u000c"}';
      await rig.letters.send({ record: { id, body }, reason: 'message is not JSON' });
      expect((await rig.read(id)).map((l) => l.body)).toEqual([body]);
    });

    it('keeps at least the first 1024 characters of a long reason', async () => {
      const id = freshId('long');
      const reason = `message is not a SageMaker notification: ${'field, '.repeat(300)}`;
      await rig.letters.send({ record: { id, body: '{}' }, reason });
      const [letter] = await rig.read(id);
      // The adapter cuts an attribute at 1024 characters; the fake keeps it whole.
      expect(letter!.reason.length).toBeGreaterThanOrEqual(1024);
      expect(reason.startsWith(letter!.reason)).toBe(true);
    });

    it('holds a letter sent twice twice: the caller sends once per refusal', async () => {
      const id = freshId('twice');
      const letter = { record: { id, body: '{}' }, reason: 'message is not JSON' };
      await Promise.all([rig.letters.send(letter), rig.letters.send(letter)]);
      expect(await rig.read(id)).toHaveLength(2);
    });

    it('throws when the queue refuses the letter, and holds nothing of it', async () => {
      const id = freshId('refused');
      await expect(
        rig.refusing.send({ record: { id, body: '{}' }, reason: 'message is not JSON' }),
      ).rejects.toThrow();
      expect(await rig.read(id)).toEqual([]);
    });
  });
}
