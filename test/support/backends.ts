import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { resetClients } from '../../src/lib/adapters/clients.ts';
import { resetConfig } from '../../src/lib/config.ts';
import { JobStore } from '../../src/lib/adapters/job-store.ts';
import { localClientOptions, startDynamo, startS3 } from '../../src/local/emulators.ts';
import { INPUT_BUCKET, OUTPUT_BUCKET } from './notifications.ts';

export interface Backends {
  s3: S3Client;
  store: JobStore;
  s3Url: string;
  dynamoUrl: string;
  putOutput(key: string, body: string | Buffer, contentType?: string): Promise<string>;
  getObject(bucket: string, key: string): Promise<Buffer>;
  close(): Promise<void>;
}

/** s3rver and dynalite on free loopback ports, with the process environment pointed at them. */
export async function startBackends(): Promise<Backends> {
  const table = process.env.JOBS_TABLE as string;
  const [s3e, ddb] = await Promise.all([
    startS3({ buckets: [INPUT_BUCKET, OUTPUT_BUCKET, 'someone-elses-bucket'] }),
    startDynamo({ table }),
  ]);
  process.env.AWS_ENDPOINT_URL_S3 = s3e.url;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = ddb.url;
  resetConfig();
  resetClients();
  // Bounded as the sandbox's own clients are: a request the emulators leave hanging fails the
  // test where it hangs, not at the test's timeout.
  const s3 = new S3Client({ ...localClientOptions(s3e.url), forcePathStyle: true });
  const dynamo = new DynamoDBClient(localClientOptions(ddb.url));
  return {
    s3,
    store: new JobStore(dynamo, table),
    s3Url: s3e.url,
    dynamoUrl: ddb.url,
    async putOutput(key, body, contentType = 'application/json') {
      await s3.send(
        new PutObjectCommand({
          Bucket: OUTPUT_BUCKET,
          Key: key,
          Body: body,
          ContentType: contentType,
        }),
      );
      return `s3://${OUTPUT_BUCKET}/${key}`;
    },
    async getObject(bucket, key) {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    },
    async close() {
      resetClients();
      s3.destroy();
      dynamo.destroy();
      await Promise.all([s3e.close(), ddb.close()]);
    },
  };
}
