import { vi } from 'vitest';

// Before the Metrics instance is built: this file checks the EMF lines it writes.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'AsyncJobs/test';
});

import {
  GetItemCommand,
  DynamoDBClient,
  UpdateItemCommand,
  ConditionalCheckFailedException,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { handler as onError } from '../../../src/handlers/onError.ts';
import { handler as onSuccess } from '../../../src/handlers/onSuccess.ts';
import { lambdaContext } from '../../support/lambda.ts';

const ddb = mockClient(DynamoDBClient);
const s3mock = mockClient(S3Client);
const event = (name: string) => JSON.parse(readFileSync(`events/${name}`, 'utf8'));
const run = (h: unknown, e: unknown) =>
  (h as (e: unknown, c: unknown) => Promise<unknown>)(e, lambdaContext('fn')).catch(
    () => undefined,
  );

interface Emf {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [k: string]: unknown;
}

async function emfLines(work: () => Promise<unknown>): Promise<Emf[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return lines
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Emf);
}

/** Every metric of every line, by name, with the line it came in. */
const byName = (lines: Emf[]) =>
  Object.fromEntries(
    lines.flatMap((l) => l._aws.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, l] as const)),
  );

afterEach(() => ddb.reset());

describe('EMF metrics', () => {
  it('a completed job: JobsCompleted, ModelTime and TimeToResult per endpoint, one line', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    const lines = await emfLines(() => run(onSuccess, event('success-response-body.json')));
    expect(lines).toHaveLength(1);
    const m = byName(lines);
    expect(Object.keys(m).sort()).toEqual(['JobsCompleted', 'ModelTime', 'TimeToResult']);
    const completed = m.JobsCompleted!;
    expect(completed._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'AsyncJobs/test',
      Dimensions: [['service', 'endpoint']],
    });
    expect(completed._aws.CloudWatchMetrics[0]!.Metrics).toContainEqual({
      Name: 'JobsCompleted',
      Unit: 'Count',
    });
    expect(completed).toMatchObject({ endpoint: 'demo-endpoint', JobsCompleted: 1 });
    // eventTime - receivedTime of the sample: 19:00:05.123 - 19:00:01.456
    expect(m.ModelTime).toMatchObject({ ModelTime: 3667 });
    expect(m.ModelTime!._aws.CloudWatchMetrics[0]!.Metrics).toContainEqual({
      Name: 'ModelTime',
      Unit: 'Milliseconds',
    });
  });

  it('a failed job counts JobsFailed; a duplicate counts DuplicatesIgnored', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    s3mock
      .on(GetObjectCommand)
      .resolves({ Body: Readable.from([Buffer.from('OOM')]) as never, ContentLength: 3 });
    const failedLines = byName(await emfLines(() => run(onError, event('failure.json'))));
    expect(failedLines.JobsFailed).toMatchObject({ JobsFailed: 1, endpoint: 'demo-endpoint' });
    ddb
      .on(UpdateItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));
    // A refusal without the record (as dynalite answers) is followed by one read of it.
    ddb.on(GetItemCommand).resolves({});
    const dup = byName(await emfLines(() => run(onSuccess, event('success-response-body.json'))));
    expect(Object.keys(dup)).toEqual(['DuplicatesIgnored']);
  });

  it('a refused notification counts NotificationsRefused', async () => {
    const wrongTopic = event('success-response-body.json');
    wrongTopic.Records[0].Sns.TopicArn = 'arn:aws:sns:us-east-1:111111111111:elsewhere';
    const m = byName(await emfLines(() => run(onSuccess, wrongTopic)));
    expect(m.NotificationsRefused).toMatchObject({ NotificationsRefused: 1, endpoint: 'unknown' });
  });

  it('the test notification counts NotificationsIgnored once, on both handlers, over SNS and SQS', async () => {
    for (const [fn, file] of [
      [onSuccess, 'test-notification.json'],
      [onError, 'test-notification-sqs.json'],
    ] as const) {
      const lines = await emfLines(() => run(fn, event(file)));
      expect(lines).toHaveLength(1);
      // The same dimension value as NotificationsRefused: neither message names an endpoint.
      expect(byName(lines).NotificationsIgnored).toMatchObject({
        NotificationsIgnored: 1,
        endpoint: 'unknown',
      });
    }
    expect(ddb.calls()).toHaveLength(0);
  });
});
