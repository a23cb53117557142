import { randomUUID } from 'node:crypto';

/*
 * Local SNS delivery: a message published to a topic is delivered to the subscribed Lambda as a
 * real SNS event, asynchronously, with Lambda's async-invocation semantics: the function is
 * retried twice on error, and a message that still fails goes to a dead-letter list (the sandbox's
 * stand-in for the on-failure destination) with the reason logged.
 */

export interface DeadLetter {
  topicArn: string;
  messageId: string;
  reason: string;
  event: unknown;
}

export interface SnsDeliveryOptions {
  /** The subscriptions: topic ARN -> a function that runs the Lambda with an event. */
  subscriptions: Record<string, (event: unknown) => Promise<void>>;
  /** Attempts per message (Lambda's async invocation: the first try and two retries). */
  attempts?: number;
  /** Backoff before retry n (1-based); real Lambda waits a minute and two, the sandbox less. */
  backoffMs?: (retry: number) => number;
  onDeadLetter?: (letter: DeadLetter) => void;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

export interface SnsDelivery {
  publish(topicArn: string, message: string): Promise<string>;
  /** Resolves when every published message was delivered or dead-lettered. */
  idle(): Promise<void>;
  readonly deadLetters: readonly DeadLetter[];
}

export function snsEventFor(topicArn: string, message: string, messageId: string = randomUUID()) {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: `${topicArn}:${randomUUID()}`,
        Sns: {
          Type: 'Notification',
          MessageId: messageId,
          TopicArn: topicArn,
          Subject: null,
          Message: message,
          Timestamp: new Date().toISOString(),
          SignatureVersion: '1',
          Signature: 'LOCAL',
          SigningCertUrl: 'http://127.0.0.1/local-sns.pem',
          UnsubscribeUrl: 'http://127.0.0.1/local-sns/unsubscribe',
          MessageAttributes: {},
        },
      },
    ],
  };
}

export function createSnsDelivery(opts: SnsDeliveryOptions): SnsDelivery {
  const attempts = opts.attempts ?? 3;
  const backoff = opts.backoffMs ?? ((n: number) => 200 * 2 ** (n - 1));
  const deadLetters: DeadLetter[] = [];
  const pending = new Set<Promise<void>>();

  async function deliver(topicArn: string, message: string, messageId: string): Promise<void> {
    const invoke = opts.subscriptions[topicArn];
    if (!invoke) {
      opts.log?.('no subscription for topic; message dropped', { topicArn, messageId });
      return;
    }
    const event = snsEventFor(topicArn, message, messageId);
    let reason = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await invoke(event);
        return;
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
        if (attempt < attempts) {
          opts.log?.('delivery failed; retrying', { topicArn, messageId, attempt, reason });
          await new Promise((r) => setTimeout(r, backoff(attempt)));
        }
      }
    }
    const letter = { topicArn, messageId, reason, event };
    deadLetters.push(letter);
    opts.log?.('message sent to the dead-letter list', { topicArn, messageId, reason });
    opts.onDeadLetter?.(letter);
  }

  return {
    async publish(topicArn, message) {
      const messageId: string = randomUUID();
      const p = deliver(topicArn, message, messageId).finally(() => pending.delete(p));
      pending.add(p);
      return messageId;
    },
    async idle() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    deadLetters,
  };
}
