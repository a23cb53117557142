import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  InvokeEndpointAsyncCommand,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { randomUUID } from 'node:crypto';

/*
 * The load of bench/figures/sandbox-rate.ts, in a process of its own (forked; each message a round,
 * answered when done) so that neither side's client work runs on the thread that runs the emulators: `jobs` submits, `concurrency` at a time,
 * either as POST /jobs through the sandbox's HTTP API, or as the four calls a submit makes sent
 * straight to the sandbox's emulators (src/lib/app/submit.ts: the conditional PutItem of the
 * claim, PutObject of the input, InvokeEndpointAsync, the UpdateItem that records where the
 * output lands), with items of the same shape.
 */

export interface LoadJob {
  mode: 'api' | 'direct';
  jobs: number;
  concurrency: number;
  prefix: string;
  apiUrl: string;
  s3Url: string;
  dynamodbUrl: string;
  sageMakerUrl: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  inputBucket: string;
  outputBucket: string;
  table: string;
  endpointName: string;
}

export interface LoadResult {
  seconds: number;
  /** Answers by HTTP status (api) or by outcome (direct: 200, or the error's name). */
  answers: Record<string, number>;
}

async function run(job: LoadJob): Promise<LoadResult> {
  const common = { region: job.region, credentials: job.credentials };
  const s3 = new S3Client({ ...common, endpoint: job.s3Url, forcePathStyle: true });
  const ddb = new DynamoDBClient({ ...common, endpoint: job.dynamodbUrl });
  const sm = new SageMakerRuntimeClient({ ...common, endpoint: job.sageMakerUrl });
  const answers: Record<string, number> = {};
  const count = (k: string) => (answers[k] = (answers[k] ?? 0) + 1);

  const viaApi = async (id: string, body: string) => {
    const res = await fetch(`${job.apiUrl}/jobs?inferenceId=${id}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body,
    });
    await res.arrayBuffer();
    count(String(res.status));
  };

  const direct = async (id: string, body: string) => {
    const now = new Date();
    const key = `inputs/${id}`;
    try {
      await ddb.send(
        new PutItemCommand({
          TableName: job.table,
          Item: {
            inferenceId: { S: id },
            status: { S: 'IN_PROGRESS' },
            shardKey: { S: 'IN_PROGRESS#07' },
            endpointName: { S: job.endpointName },
            inputLocation: { S: `s3://${job.inputBucket}/${key}` },
            inputContentType: { S: 'text/csv' },
            submittedAt: { S: now.toISOString() },
            expectedBy: { S: new Date(now.getTime() + 6 * 3_600_000).toISOString() },
            expiresAt: { N: String(Math.floor(now.getTime() / 1000) + 30 * 86_400) },
            claimToken: { S: randomUUID() },
          },
          ConditionExpression: 'attribute_not_exists(inferenceId)',
        }),
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: job.inputBucket,
          Key: key,
          Body: body,
          ContentType: 'text/csv',
        }),
      );
      const queued = await sm.send(
        new InvokeEndpointAsyncCommand({
          EndpointName: job.endpointName,
          InputLocation: `s3://${job.inputBucket}/${key}`,
          InferenceId: id,
          S3OutputPathExtension: job.endpointName,
          Filename: `${id}.out`,
          ContentType: 'text/csv',
        }),
      );
      await ddb.send(
        new UpdateItemCommand({
          TableName: job.table,
          Key: { inferenceId: { S: id } },
          // As JobStore.markQueued: a fast model's notification may have finished the job already.
          UpdateExpression:
            'SET outputLocation = if_not_exists(outputLocation, :o), failureLocation = if_not_exists(failureLocation, :f)',
          ConditionExpression: 'attribute_exists(inferenceId)',
          ExpressionAttributeValues: {
            ':o': { S: queued.OutputLocation ?? '' },
            ':f': { S: queued.FailureLocation ?? '' },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      count('200');
    } catch (err) {
      count(err instanceof Error ? err.name : 'error');
    }
  };

  const submit = job.mode === 'api' ? viaApi : direct;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      for (let i = next++; i < job.jobs; i = next++) {
        await submit(`${job.prefix}-${i}`, `${i},1\n`).catch((err: unknown) =>
          count(err instanceof Error ? err.name : 'error'),
        );
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  s3.destroy();
  ddb.destroy();
  sm.destroy();
  return { seconds, answers };
}

// One round at a time, in order; the parent disconnects when it has no more.
let queue = Promise.resolve();
process.on('message', (job: LoadJob) => {
  queue = queue.then(async () => {
    process.send?.(await run(job));
  });
});
