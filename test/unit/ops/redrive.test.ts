import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { redriveDestinationQueue, redriveQueueDlq } from '../../../src/ops/redrive.ts';

const sqsMock = mockClient(SQSClient);
const lambdaMock = mockClient(LambdaClient);
const clients = {
  sqs: new SQSClient({ region: 'us-east-1' }),
  lambda: new LambdaClient({ region: 'us-east-1' }),
};
const queueUrl = 'https://sqs.us-east-1.amazonaws.com/000000000000/async-jobs-prod-OnSuccessDLQ';
const snsEvent = JSON.parse(readFileSync('events/success.json', 'utf8'));
const record = (fn: string) =>
  JSON.stringify({
    version: '1.0',
    requestContext: {
      requestId: 'r',
      functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${fn}:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    },
    requestPayload: snsEvent,
    responseContext: { statusCode: 200, functionError: 'Unhandled' },
  });

beforeEach(() => {
  sqsMock.reset();
  lambdaMock.reset();
});

describe('redrive', () => {
  it('re-invokes each invocation record and deletes only what succeeded', async () => {
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { MessageId: 'ok', ReceiptHandle: 'h1', Body: record('async-jobs-prod-onSuccess') },
          { MessageId: 'again', ReceiptHandle: 'h2', Body: record('async-jobs-prod-onSuccess') },
          { MessageId: 'junk', ReceiptHandle: 'h3', Body: 'not a record' },
        ],
      })
      .resolves({ Messages: [] });
    lambdaMock
      .on(InvokeCommand)
      .resolvesOnce({ StatusCode: 200 })
      .resolves({ StatusCode: 200, FunctionError: 'Unhandled' });
    const report = await redriveDestinationQueue(clients, { queueUrl });
    expect(report).toEqual({ received: 3, replayed: 1, failed: 1, skipped: 1 });
    const invoke = lambdaMock.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(invoke.FunctionName).toBe(
      'arn:aws:lambda:us-east-1:000000000000:function:async-jobs-prod-onSuccess',
    );
    expect(JSON.parse(new TextDecoder().decode(invoke.Payload as Uint8Array))).toEqual(snsEvent);
    expect(
      sqsMock.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle),
    ).toEqual(['h1']);
  });

  it('only lists in a dry run', async () => {
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [{ MessageId: 'a', ReceiptHandle: 'h', Body: record('f') }] })
      .resolves({});
    const lines: string[] = [];
    await redriveDestinationQueue(clients, { queueUrl, dryRun: true, log: (l) => lines.push(l) });
    expect(lambdaMock.calls()).toHaveLength(0);
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(lines[0]).toContain('would replay a');
  });

  it('moves a queue DLQ back to its source with SQS redrive', async () => {
    sqsMock
      .on(GetQueueAttributesCommand)
      .resolves({ Attributes: { QueueArn: 'arn:aws:sqs:us-east-1:0:dlq' } });
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
    expect((await redriveQueueDlq(clients.sqs, { queueUrl })).moveTask).toBe('task-1');
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand)[0]!.args[0].input).toEqual({
      SourceArn: 'arn:aws:sqs:us-east-1:0:dlq',
    });
  });
});
