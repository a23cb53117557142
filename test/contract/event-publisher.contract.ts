import { describe, expect, it } from 'vitest';
import type { EventPublisher, PublishedEvent } from '../../src/lib/app/ports/event-publisher.ts';
import { freshId, useRig } from './rig.ts';

/*
 * What every EventPublisher does, the fake (test/support/fakes/event-publisher.ts) and the
 * EventBridge adapter on the local bus alike: each publish is one event of its type, its detail
 * arriving as the JSON text PutEvents carries (`Detail`, "a valid JSON object":
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html), so
 * a field left undefined is not there at all; at least once, a repeated publish is a second event;
 * a refused entry (PutEvents answers it in FailedEntryCount with HTTP 200, same reference) throws.
 */

export interface EventPublisherRig {
  events: EventPublisher;
  /** The same port over a bus that refuses every entry (a throttled bus). */
  refusing: EventPublisher;
  /** The events on the bus whose detail's `inferenceId` is `id`, in order. */
  published(id: string): Promise<PublishedEvent[]>;
  close(): Promise<void>;
}

export function eventPublisherContract(
  name: string,
  start: () => Promise<EventPublisherRig>,
): void {
  describe(`EventPublisher contract: ${name}`, () => {
    let rig: EventPublisherRig;
    useRig(start, (started) => {
      rig = started;
    });

    it('delivers each type with its detail exactly', async () => {
      const inferenceId = freshId('job');
      const completed: PublishedEvent = {
        type: 'JobCompleted',
        detail: {
          inferenceId,
          status: 'COMPLETED',
          attempt: 1,
          finalAttempt: true,
          resultBytes: 1234,
          outputLocation: 's3://out/outputs/demo-endpoint/x.out',
          note: 'été ✓ 𝄞 "quoted" \\ </script>',
          nested: { list: [1, 2.5, null, true], empty: {} },
        },
      };
      const failed: PublishedEvent = {
        type: 'JobFailed',
        detail: { inferenceId, status: 'FAILED', failureReason: 'boom', hasTaskToken: true },
      };
      const batch: PublishedEvent = {
        type: 'BatchCompleted',
        detail: { inferenceId, batchId: 'b-0123456789abcdef01234567', counts: { completed: 2 } },
      };
      await rig.events.publish(completed);
      await rig.events.publish(failed);
      await rig.events.publish(batch);
      expect(await rig.published(inferenceId)).toEqual([completed, failed, batch]);
    });

    it('leaves out a field whose value is undefined, as JSON does', async () => {
      const inferenceId = freshId('undefined');
      await rig.events.publish({
        type: 'JobFailed',
        detail: { inferenceId, failureReason: undefined, retriedBy: undefined },
      });
      const [event] = await rig.published(inferenceId);
      expect(Object.keys(event!.detail)).toEqual(['inferenceId']);
    });

    it('delivers an event published twice twice: at least once, never deduplicated here', async () => {
      const inferenceId = freshId('twice');
      const event: PublishedEvent = { type: 'JobCompleted', detail: { inferenceId } };
      await Promise.all([rig.events.publish(event), rig.events.publish(event)]);
      expect(await rig.published(inferenceId)).toEqual([event, event]);
    });

    it('throws when the bus refuses the entry, and nothing is delivered', async () => {
      const inferenceId = freshId('refused');
      await expect(
        rig.refusing.publish({ type: 'JobFailed', detail: { inferenceId } }),
      ).rejects.toThrow();
      expect(await rig.published(inferenceId)).toEqual([]);
    });
  });
}
