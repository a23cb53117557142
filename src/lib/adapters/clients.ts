import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { config } from '../config.ts';
import { JobStore } from '../adapters/job-store.ts';
import { eventBridgeSdk, s3Sdk, sqsSdk } from './lazy.ts';

/*
 * One client per service per process, created on first use: a warm invocation reuses its
 * connections, and a path that never touches a service (getJob never invokes SageMaker) never pays
 * for constructing its client; the S3 and EventBridge SDKs are not even loaded until then
 * (src/lib/adapters/lazy.ts). Retries and timeouts are chosen, not inherited: a Lambda has a deadline, and
 * an SDK call that hangs past it loses the whole invocation.
 */

let s3Client: S3Client | undefined;
let dynamoClient: DynamoDBClient | undefined;
let sageMakerClient: SageMakerRuntimeClient | undefined;

export async function s3(): Promise<S3Client> {
  // Built once: a warm call does not wait on the SDK's import again.
  if (s3Client) return s3Client;
  const { S3Client } = await s3Sdk();
  s3Client ??= new S3Client({
    credentials: config().emulatorCredentials,
    forcePathStyle: config().s3EndpointOverride,
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000 },
  });
  return s3Client;
}

let s3PresignClient: S3Client | undefined;

/**
 * The client that signs upload URLs. It signs only what it is given: with the SDK's default
 * (`requestChecksumCalculation: 'WHEN_SUPPORTED'`, since 3.729) a presigned PutObject carries the
 * CRC32 of an empty body and real S3 refuses every upload through it (aws/aws-sdk-js-v3#6994).
 * A client of its own, so `s3()` keeps the default checksums on the PutObject submit sends.
 * It never opens a connection: presigning is local.
 */
export async function s3Presigner(): Promise<S3Client> {
  if (s3PresignClient) return s3PresignClient;
  const { S3Client } = await s3Sdk();
  s3PresignClient ??= new S3Client({
    credentials: config().emulatorCredentials,
    forcePathStyle: config().s3EndpointOverride,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  return s3PresignClient;
}

export function dynamo(): DynamoDBClient {
  dynamoClient ??= new DynamoDBClient({
    credentials: config().emulatorCredentials,
    maxAttempts: 4,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
  });
  return dynamoClient;
}

export function sageMaker(): SageMakerRuntimeClient {
  // Two attempts only: a throttled submit is better answered 429 quickly than retried into the
  // API Gateway 30 s limit; the caller can retry with the same inferenceId safely.
  sageMakerClient ??= new SageMakerRuntimeClient({
    credentials: config().emulatorCredentials,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 8_000 },
  });
  return sageMakerClient;
}

let eventBridgeClient: EventBridgeClient | undefined;

export async function eventBridge(): Promise<EventBridgeClient> {
  // Built once: a warm call does not wait on the SDK's import again.
  if (eventBridgeClient) return eventBridgeClient;
  const { EventBridgeClient } = await eventBridgeSdk();
  eventBridgeClient ??= new EventBridgeClient({
    credentials: config().emulatorCredentials,
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
  });
  return eventBridgeClient;
}

let sqsClient: SQSClient | undefined;

/** SQS, for the dead-letter queue a refused notification is sent to. */
export async function sqs(): Promise<SQSClient> {
  if (sqsClient) return sqsClient;
  const { SQSClient } = await sqsSdk();
  sqsClient ??= new SQSClient({
    credentials: config().emulatorCredentials,
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
  });
  return sqsClient;
}

let store: JobStore | undefined;

export function jobStore(): JobStore {
  store ??= new JobStore(dynamo(), config().jobsTable);
  return store;
}

/** For tests that point the process at new emulator ports. */
export function resetClients(): void {
  s3Client?.destroy();
  s3PresignClient?.destroy();
  s3PresignClient = undefined;
  dynamoClient?.destroy();
  sageMakerClient?.destroy();
  eventBridgeClient?.destroy();
  sqsClient?.destroy();
  eventBridgeClient = sqsClient = undefined;
  s3Client = dynamoClient = sageMakerClient = undefined;
  store = undefined;
}
