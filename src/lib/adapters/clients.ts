import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { config } from '../config.ts';
import { JobStore } from '../adapters/job-store.ts';
import { eventBridgeSdk, s3Sdk, sageMakerControlSdk, sqsSdk } from './lazy.ts';
import { honourDeadlines, requestHandler, timeBounds } from './time-bounds.ts';

/*
 * One client per service per process, created on first use: a warm invocation reuses its
 * connections, and a path that never touches a service (getJob never invokes SageMaker) never pays
 * for constructing its client; the S3 and EventBridge SDKs are not even loaded until then
 * (src/lib/adapters/lazy.ts). Retries and timeouts are chosen, not inherited: a Lambda has a deadline, and
 * an SDK call that hangs past it loses the whole invocation. Each client's timeouts come from
 * time-bounds.ts (why each number, and what in the HTTP handler enforces it), and each honours the
 * deadline a use case runs under (submit's).
 */

/** Anything with the SDK clients' `destroy`, so a reset closes its connections. */
interface Destroyable {
  destroy(): void;
}

interface Lazy<T> {
  get(): T;
  reset(): void;
}

/*
 * Each cell below is marked pure and registers nowhere: a bundle whose handler never calls
 * `dynamo()` (createUpload) drops the cell, and with it the DynamoDB SDK, from its code.
 */

/** A client built on first `get`, kept for the life of the process. */
function lazy<T extends Destroyable>(make: () => T): Lazy<T> {
  let client: T | undefined;
  return {
    get: () => (client ??= make()),
    reset: () => {
      client?.destroy();
      client = undefined;
    },
  };
}

/**
 * `lazy`, for a client whose SDK is imported on first use. Built once: a warm call does not wait
 * on the SDK's import again, and calls that raced the first import still get one client.
 */
function lazyLoaded<M, T extends Destroyable>(
  load: () => Promise<M>,
  make: (sdk: M) => T,
): Lazy<Promise<T>> {
  let client: T | undefined;
  return {
    get: async () => {
      if (client) return client;
      const sdk = await load();
      client ??= make(sdk);
      return client;
    },
    reset: () => {
      client?.destroy();
      client = undefined;
    },
  };
}

const s3Client = /* @__PURE__ */ lazyLoaded(s3Sdk, ({ S3Client }) =>
  honourDeadlines(
    new S3Client({
      credentials: config().emulatorCredentials,
      forcePathStyle: config().s3EndpointOverride,
      maxAttempts: 3,
      requestHandler: requestHandler(timeBounds().s3),
    }),
  ),
);

export async function s3(): Promise<S3Client> {
  return s3Client.get();
}

/**
 * The client that signs upload URLs. It signs only what it is given: with the SDK's default
 * (`requestChecksumCalculation: 'WHEN_SUPPORTED'`, since 3.729) a presigned PutObject carries the
 * CRC32 of an empty body and real S3 refuses every upload through it (aws/aws-sdk-js-v3#6994).
 * A client of its own, so `s3()` keeps the default checksums on the PutObject submit sends.
 * It never opens a connection: presigning is local.
 */
const s3PresignClient = /* @__PURE__ */ lazyLoaded(
  s3Sdk,
  ({ S3Client }) =>
    new S3Client({
      credentials: config().emulatorCredentials,
      forcePathStyle: config().s3EndpointOverride,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    }),
);

export async function s3Presigner(): Promise<S3Client> {
  return s3PresignClient.get();
}

const dynamoClient = /* @__PURE__ */ lazy(() =>
  honourDeadlines(
    new DynamoDBClient({
      credentials: config().emulatorCredentials,
      maxAttempts: 4,
      requestHandler: requestHandler(timeBounds().dynamo),
    }),
  ),
);

export function dynamo(): DynamoDBClient {
  return dynamoClient.get();
}

// Two attempts only: a throttled submit is better answered 429 quickly than retried into the
// API Gateway 30 s limit; the caller can retry with the same inferenceId safely.
const sageMakerClient = /* @__PURE__ */ lazy(() =>
  honourDeadlines(
    new SageMakerRuntimeClient({
      credentials: config().emulatorCredentials,
      maxAttempts: 2,
      requestHandler: requestHandler(timeBounds().sageMaker),
    }),
  ),
);

export function sageMaker(): SageMakerRuntimeClient {
  return sageMakerClient.get();
}

const eventBridgeClient = /* @__PURE__ */ lazyLoaded(eventBridgeSdk, ({ EventBridgeClient }) =>
  honourDeadlines(
    new EventBridgeClient({
      credentials: config().emulatorCredentials,
      maxAttempts: 3,
      requestHandler: requestHandler(timeBounds().eventBridge),
    }),
  ),
);

export async function eventBridge(): Promise<EventBridgeClient> {
  return eventBridgeClient.get();
}

/** SQS, for the dead-letter queue a refused notification is sent to. */
const sqsClient = /* @__PURE__ */ lazyLoaded(sqsSdk, ({ SQSClient }) =>
  honourDeadlines(
    new SQSClient({
      credentials: config().emulatorCredentials,
      maxAttempts: 3,
      requestHandler: requestHandler(timeBounds().sqs),
    }),
  ),
);

export async function sqs(): Promise<SQSClient> {
  return sqsClient.get();
}

/**
 * SageMaker's control plane, for DescribeEndpoint (the dispatcher's window, docs/queue.md): its
 * SDK is loaded on the first call, so only the dispatcher pays for it.
 */
const sageMakerControlClient = /* @__PURE__ */ lazyLoaded(
  sageMakerControlSdk,
  ({ SageMakerClient }) =>
    honourDeadlines(
      new SageMakerClient({
        credentials: config().emulatorCredentials,
        maxAttempts: 3,
        requestHandler: requestHandler(timeBounds().sageMaker),
      }),
    ),
);

export async function sageMakerControl(): Promise<SageMakerClient> {
  return sageMakerControlClient.get();
}

let store: JobStore | undefined;

export function jobStore(): JobStore {
  store ??= new JobStore(dynamo(), config().jobsTable);
  return store;
}

/** For tests that point the process at new emulator ports. */
export function resetClients(): void {
  for (const cell of [
    s3Client,
    s3PresignClient,
    dynamoClient,
    sageMakerClient,
    eventBridgeClient,
    sqsClient,
    sageMakerControlClient,
  ]) {
    cell.reset();
  }
  store = undefined;
}
