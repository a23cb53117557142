import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/*
 * Replays what ended in a dead-letter queue, once its cause is fixed.
 * - An on-failure destination DLQ (resultDelivery=direct) holds Lambda's invocation records: the
 *   original SNS event is re-invoked on the function named in the record, and the message is
 *   deleted only when that invocation succeeded.
 * - A queue's redrive DLQ (resultDelivery=sqs) is moved back to its source queue with SQS's own
 *   redrive (StartMessageMoveTask).
 * Replaying is safe: the job store ignores duplicates and never lets a terminal job change.
 */

export interface RedriveReport {
  received: number;
  replayed: number;
  failed: number;
  skipped: number;
  moveTask?: string;
}

interface InvocationRecord {
  requestContext?: { functionArn?: string; condition?: string };
  requestPayload?: unknown;
}

function parseRecord(body: string | undefined): InvocationRecord | undefined {
  try {
    const record = JSON.parse(body ?? '') as InvocationRecord;
    return record.requestContext?.functionArn && record.requestPayload ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Lambda's ARN of a version (`...:function:name:$LATEST`) invokes the same as the name. */
function functionOf(arn: string): string {
  return arn.replace(/:(\$LATEST|\d+)$/, '');
}

export async function redriveDestinationQueue(
  clients: { sqs: SQSClient; lambda: LambdaClient },
  opts: { queueUrl: string; max?: number; dryRun?: boolean; log?: (line: string) => void },
): Promise<RedriveReport> {
  const report: RedriveReport = { received: 0, replayed: 0, failed: 0, skipped: 0 };
  const max = opts.max ?? 1000;
  const log = opts.log ?? (() => undefined);
  while (report.received < max) {
    const res = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: opts.queueUrl,
        MaxNumberOfMessages: Math.min(10, max - report.received),
        WaitTimeSeconds: 1,
        // Long enough to replay the batch; an unreplayed message comes back afterwards.
        VisibilityTimeout: 120,
      }),
    );
    const messages = res.Messages ?? [];
    if (messages.length === 0) break;
    for (const m of messages) {
      report.received++;
      const record = parseRecord(m.Body);
      if (!record) {
        report.skipped++;
        log(`skipped ${m.MessageId}: not a Lambda invocation record`);
        continue;
      }
      if (opts.dryRun) {
        log(`would replay ${m.MessageId} on ${functionOf(record.requestContext!.functionArn!)}`);
        continue;
      }
      const out = await clients.lambda.send(
        new InvokeCommand({
          FunctionName: functionOf(record.requestContext!.functionArn!),
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(record.requestPayload)),
        }),
      );
      if (out.FunctionError) {
        report.failed++;
        log(`replay of ${m.MessageId} failed again (${out.FunctionError}); left in the queue`);
        continue;
      }
      await clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: opts.queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
      report.replayed++;
    }
  }
  return report;
}

/** SQS's own redrive, from a redrive DLQ back to the queue that sent it there. */
export async function redriveQueueDlq(
  sqs: SQSClient,
  opts: { queueUrl: string },
): Promise<RedriveReport> {
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: opts.queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = attrs.Attributes?.QueueArn;
  if (!arn) throw new Error(`no queue at ${opts.queueUrl}`);
  const task = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn }));
  return { received: 0, replayed: 0, failed: 0, skipped: 0, moveTask: task.TaskHandle };
}
