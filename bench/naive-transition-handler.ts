import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { JobStore } from '../src/lib/adapters/job-store.ts';
import { expiresAt } from '../src/lib/domain/jobs.ts';

/*
 * The naive handler (naive-handler.ts) with one change: the record is written as ours writes it,
 * with JobStore.transition (one conditional UpdateItem, ALL_NEW) instead of a PutItem. Against it,
 * the throughput figure counts what our handler adds (validation, bounded reads, logs, metrics),
 * not the price dynalite puts on evaluating an update expression in this process.
 */
const s3 = new S3Client({ forcePathStyle: true });
const store = new JobStore(new DynamoDBClient({}), process.env.JOBS_TABLE ?? '');

interface Notification {
  inferenceId: string;
  eventTime: string;
  requestParameters: { endpointName: string; inputLocation: string };
  responseParameters: { outputLocation: string; contentType?: string };
}

export const handler = async (event: { Records: { Sns: { Message: string } }[] }) => {
  for (const record of event.Records) {
    const n = JSON.parse(record.Sns.Message) as Notification;
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(n.responseParameters.outputLocation)!;
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = await res.Body!.transformToString();
    await store.transition(n.inferenceId, {
      status: 'COMPLETED',
      endpointName: n.requestParameters.endpointName,
      inputLocation: n.requestParameters.inputLocation,
      completedAt: n.eventTime,
      expiresAt: expiresAt(new Date(), 30),
      outputLocation: n.responseParameters.outputLocation,
      outputContentType: n.responseParameters.contentType,
      result: body,
      resultEncoding: 'utf8',
      resultBytes: Buffer.byteLength(body),
    });
  }
};
