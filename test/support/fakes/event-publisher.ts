import type { EventPublisher, PublishedEvent } from '../../../src/lib/app/ports/event-publisher.ts';

/** The EventPublisher port in memory: what was published, in order; a bus that refuses. */
export class FakeEventPublisher implements EventPublisher {
  readonly published: PublishedEvent[] = [];
  /** Set: every publish throws it (EventBridge refusing the entry). */
  refuse?: () => unknown;

  async publish(event: PublishedEvent): Promise<void> {
    if (this.refuse) throw this.refuse();
    this.published.push(structuredClone(event));
  }

  types(): string[] {
    return this.published.map((e) => e.type);
  }
}
