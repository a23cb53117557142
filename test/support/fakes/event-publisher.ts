import type { EventPublisher, PublishedEvent } from '../../../src/lib/app/ports/event-publisher.ts';

/** The EventPublisher port in memory: what was published, in order; a bus that refuses. */
export class FakeEventPublisher implements EventPublisher {
  readonly published: PublishedEvent[] = [];
  /** Set: every publish throws it (EventBridge refusing the entry). */
  refuse?: () => unknown;

  async publish(event: PublishedEvent): Promise<void> {
    if (this.refuse) throw this.refuse();
    // As PutEvents carries it: the detail is JSON text, so an undefined field is not there.
    this.published.push({
      type: event.type,
      detail: JSON.parse(JSON.stringify(event.detail)) as PublishedEvent['detail'],
    });
  }

  types(): string[] {
    return this.published.map((e) => e.type);
  }
}
