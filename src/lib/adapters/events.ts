import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { PublishedEvent } from '../app/ports/event-publisher.ts';

/*
 * The EventPublisher port over the stack's EventBridge bus: one PutEvents per event. This module
 * holds the SDK's import, and is itself loaded on first publish (lazy.ts `eventsOnDemand`), so a
 * handler that never publishes never loads it. What is announced and when: src/lib/app/announce.ts.
 */

export const EVENT_SOURCE = 'async-jobs';

/** Sends one event; PutEvents answers a refused entry in its body, not as an error. */
export async function publishEvent(
  client: EventBridgeClient,
  busName: string,
  event: PublishedEvent,
): Promise<void> {
  const res = await client.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: busName,
          Source: EVENT_SOURCE,
          DetailType: event.type,
          Detail: JSON.stringify(event.detail),
          Resources: [],
        },
      ],
    }),
  );
  if (res.FailedEntryCount) {
    throw new Error(
      `EventBridge refused the ${event.type} event: ${res.Entries?.[0]?.ErrorCode ?? 'unknown'}`,
    );
  }
}
