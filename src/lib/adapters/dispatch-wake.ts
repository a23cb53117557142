import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DispatchWake } from '../app/ports/admission.ts';
import type { ClientSource } from './client-source.ts';

/*
 * The dispatcher's wake (docs/queue.md): one SQS message naming the endpoint. The dispatch
 * function's event source takes up to ten at once and runs one round per endpoint they name, so
 * a burst of submits costs one message each but far fewer rounds; a lost wake costs at most the
 * minute until the tick.
 */

/** The body of a wake: which endpoint's queue has work or a freed slot. */
export interface WakeMessage {
  endpointName: string;
}

/** The endpoint a wake names, or undefined for a body that is not a wake (never retried). */
export function wakeOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as Partial<WakeMessage>;
    return typeof parsed.endpointName === 'string' ? parsed.endpointName : undefined;
  } catch {
    return undefined;
  }
}

/** The DispatchWake port over one queue. */
export function sqsDispatchWake(sqs: ClientSource<SQSClient>, queueUrl: string): DispatchWake {
  return {
    async wake(endpointName) {
      const body: WakeMessage = { endpointName };
      await (
        await sqs()
      ).send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body) }));
    },
  };
}

/** The rounds a dispatch invocation runs: its SQS wakes' endpoints, or every endpoint (the tick). */
export function roundsOf(
  event: { Records?: { messageId: string; body: string }[] },
  allowed: readonly string[],
): { endpoints: string[]; messagesOf: (endpointName: string) => string[]; ignored: number } {
  if (!event.Records) return { endpoints: [...allowed], messagesOf: () => [], ignored: 0 };
  const byEndpoint = new Map<string, string[]>();
  let ignored = 0;
  for (const r of event.Records) {
    const endpointName = wakeOf(r.body);
    if (endpointName === undefined || !allowed.includes(endpointName)) {
      ignored++;
      continue;
    }
    byEndpoint.set(endpointName, [...(byEndpoint.get(endpointName) ?? []), r.messageId]);
  }
  return {
    endpoints: [...byEndpoint.keys()],
    messagesOf: (endpointName) => byEndpoint.get(endpointName) ?? [],
    ignored,
  };
}
