import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { RefusedLetter } from '../app/ports/dead-letters.ts';

/*
 * Where a notification that can never be processed goes: the function's own dead-letter queue,
 * sent once by the handler with the reason as a message attribute, so an operator sees it (the
 * DLQ alarm fires) without the two pointless Lambda retries (or five SQS receives) a thrown error
 * would cost. Transient faults never come here: they keep the platform's retry path.
 */

/** Characters an SQS message body may hold (SendMessage, MessageBody); anything else is base64. */
// eslint-disable-next-line no-control-regex
const SQS_TEXT = /^[\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;

/** The SendMessage input for a refused record: its body as received, the why as attributes. */
export function letterMessage(queueUrl: string, letter: RefusedLetter) {
  const text = SQS_TEXT.test(letter.record.body);
  const attribute = (value: string) => ({ DataType: 'String', StringValue: value.slice(0, 1024) });
  return {
    QueueUrl: queueUrl,
    MessageBody: text ? letter.record.body : Buffer.from(letter.record.body).toString('base64'),
    MessageAttributes: {
      refusedReason: attribute(letter.reason),
      sourceMessageId: attribute(letter.record.id),
      bodyEncoding: attribute(text ? 'utf8' : 'base64'),
      ...(letter.record.topicArn ? { sourceTopicArn: attribute(letter.record.topicArn) } : {}),
      ...(letter.refusedBy ? { refusedBy: attribute(letter.refusedBy) } : {}),
    },
  };
}

export async function sendToDeadLetter(
  client: SQSClient,
  queueUrl: string,
  letter: RefusedLetter,
): Promise<void> {
  await client.send(new SendMessageCommand(letterMessage(queueUrl, letter)));
}
