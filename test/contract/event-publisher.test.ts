import { expect } from 'vitest';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { PublishedEvent } from '../../src/lib/app/ports/event-publisher.ts';
import { EVENT_SOURCE } from '../../src/lib/adapters/events.ts';
import { eventsOnDemand } from '../../src/lib/adapters/lazy.ts';
import { localClientOptions } from '../../src/local/emulators.ts';
import { startLocalEventBridge, type CapturedEvent } from '../../src/local/eventbridge.ts';
import { FakeEventPublisher } from '../support/fakes/event-publisher.ts';
import { eventPublisherContract } from './event-publisher.contract.ts';

const BUS = 'contract-bus';

eventPublisherContract('in-memory fake', async () => {
  const events = new FakeEventPublisher();
  const refusing = new FakeEventPublisher();
  refusing.refuse = () => new Error('EventBridge refused the event');
  return {
    events,
    refusing,
    published: async (id) =>
      [...events.published, ...refusing.published].filter((e) => e.detail.inferenceId === id),
    close: async () => {},
  };
});

eventPublisherContract('EventBridge adapter on the local bus', async () => {
  const [bus, throttled] = await Promise.all([
    startLocalEventBridge(),
    startLocalEventBridge({ refuse: () => true }),
  ]);
  const client = new EventBridgeClient(localClientOptions(bus.url));
  const throttledClient = new EventBridgeClient(localClientOptions(throttled.url));
  const read = (e: CapturedEvent): PublishedEvent => ({
    type: e.detailType as PublishedEvent['type'],
    detail: e.detail,
  });
  return {
    events: eventsOnDemand(() => client, BUS),
    refusing: eventsOnDemand(async () => throttledClient, BUS),
    async published(id) {
      const all = [...bus.events, ...throttled.events].filter((e) => e.detail.inferenceId === id);
      // Where the stack's rules look (serverless.yml): the stack's bus, the stack's source.
      for (const e of all) expect(e).toMatchObject({ eventBusName: BUS, source: EVENT_SOURCE });
      return all.map(read);
    },
    async close() {
      client.destroy();
      throttledClient.destroy();
      await Promise.all([bus.close(), throttled.close()]);
    },
  };
});
