/*
 * The stack's event bus (EventBridge): outcome events other systems react to. At least once: a
 * caller publishes again when it cannot know whether an earlier publish got through. Production:
 * src/lib/adapters/events.ts, its SDK loaded on first publish; fake:
 * test/support/fakes/event-publisher.ts.
 */

export type EventType =
  'JobCompleted' | 'JobFailed' | 'JobCancelled' | 'JobExpired' | 'BatchCompleted';

export interface PublishedEvent {
  type: EventType;
  detail: Record<string, unknown>;
}

export interface EventPublisher {
  /** Throws when the bus refused the event. */
  publish(event: PublishedEvent): Promise<void>;
}
