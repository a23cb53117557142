import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  InvokeEndpointAsyncCommand,
  SageMakerRuntimeClient,
  type InvokeEndpointAsyncCommandInput,
  type InvokeEndpointAsyncCommandOutput,
} from '@aws-sdk/client-sagemaker-runtime';
import { EMULATOR_CREDENTIALS, startS3, type Emulator } from '../../src/local/emulators.ts';
import {
  startLocalSageMaker,
  type LocalSageMaker,
  type LocalSageMakerOptions,
} from '../../src/local/sagemaker.ts';
import { waitFor } from './lambda.ts';
import { ERROR_TOPIC, INPUT_BUCKET, OUTPUT_BUCKET, SUCCESS_TOPIC } from './notifications.ts';

/*
 * The local SageMaker runtime on its own, against s3rver, driven with the real SDK client: for
 * tests of the runtime's fidelity (wire shapes, the container contract, the notification).
 */

export interface Notification {
  topicArn: string;
  message: Record<string, unknown> & {
    inferenceId?: string;
    invocationStatus?: string;
    failureReason?: string;
    responseParameters?: {
      contentType?: string;
      outputLocation?: string;
      failureLocation?: string;
    };
    responseBody?: { content: string; encoding: string };
  };
}

export interface RuntimeHarness {
  s3: S3Client;
  s3e: Emulator;
  runtime: LocalSageMaker;
  client: SageMakerRuntimeClient;
  published: Notification[];
  putInput(key: string, body: string | Buffer): Promise<string>;
  getObject(uri: string): Promise<{ body: Buffer; contentType?: string }>;
  /** InvokeEndpointAsync on the test endpoint (unless the input names another). */
  invoke(
    input: Partial<InvokeEndpointAsyncCommandInput>,
  ): Promise<InvokeEndpointAsyncCommandOutput>;
  /** The notification published for an inference, once it is. */
  notification(inferenceId: string): Promise<Notification>;
  close(): Promise<void>;
}

export const ENDPOINT = 'demo-endpoint';

export async function startRuntimeHarness(
  opts: Partial<LocalSageMakerOptions> = {},
): Promise<RuntimeHarness> {
  const s3e = await startS3({ buckets: [INPUT_BUCKET, OUTPUT_BUCKET] });
  const s3 = new S3Client({
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
    endpoint: s3e.url,
    forcePathStyle: true,
  });
  const published: Notification[] = [];
  const runtime = await startLocalSageMaker({
    port: 0,
    s3,
    endpoints: [ENDPOINT],
    outputBucket: OUTPUT_BUCKET,
    outputPrefix: 'outputs/',
    failurePrefix: 'failures/',
    successTopicArn: SUCCESS_TOPIC,
    errorTopicArn: ERROR_TOPIC,
    publish: async (topicArn, message) => {
      published.push({ topicArn, message: JSON.parse(message) as Notification['message'] });
    },
    ...opts,
  });
  const client = new SageMakerRuntimeClient({
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
    endpoint: runtime.url,
    maxAttempts: 1,
  });
  return {
    s3,
    s3e,
    runtime,
    client,
    published,
    async putInput(key, body) {
      await s3.send(new PutObjectCommand({ Bucket: INPUT_BUCKET, Key: key, Body: body }));
      return `s3://${INPUT_BUCKET}/${key}`;
    },
    async getObject(uri) {
      const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
      const res = await s3.send(new GetObjectCommand({ Bucket: m![1], Key: m![2] }));
      return {
        body: Buffer.from(await res.Body!.transformToByteArray()),
        contentType: res.ContentType,
      };
    },
    invoke: (input) =>
      client.send(
        new InvokeEndpointAsyncCommand({
          EndpointName: ENDPOINT,
          ...input,
        } as InvokeEndpointAsyncCommandInput),
      ),
    notification: (inferenceId) =>
      waitFor(() => published.find((p) => p.message.inferenceId === inferenceId), {
        what: `the notification of ${inferenceId}`,
      }),
    async close() {
      await runtime.close();
      client.destroy();
      s3.destroy();
      await s3e.close();
    },
  };
}
