import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetters } from '../app/ports/dead-letters.ts';
import type { EventPublisher } from '../app/ports/event-publisher.ts';
import type { ObjectStore } from '../app/ports/object-store.ts';
import type { ClientSource } from './client-source.ts';

/*
 * What only some paths need, loaded on first use. Each `import()` is a chunk of its own in the
 * bundle (esbuild splitting), so INIT never reads it: getJob pays for DynamoDB alone until a stale
 * job sends it to S3, and a notification carrying `responseBody` never loads the S3 client. Where
 * a handler's every call needs a module, a static import puts it in INIT instead, and the
 * `import()` here then resolves to what is already loaded.
 */

export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    // A failed load (a missing chunk) is not kept: the next call tries again.
    loaded ??= load().catch((err: unknown) => {
      loaded = undefined;
      throw err;
    });
    return loaded;
  };
}

/** The S3 adapter (and with it the S3 SDK). */
const storage = once(() => import('./storage.ts'));
/** Outcome events on the bus (and with them the EventBridge SDK). */
const events = once(() => import('./events.ts'));
export const s3Sdk = once(() => import('@aws-sdk/client-s3'));
export const eventBridgeSdk = once(() => import('@aws-sdk/client-eventbridge'));
/** Dead-lettering a refused notification (and with it the SQS SDK): rare, so never in INIT. */
const deadLetter = once(() => import('./deadletter.ts'));
export const sqsSdk = once(() => import('@aws-sdk/client-sqs'));
/** SageMaker's control plane (DescribeEndpoint): the dispatcher's alone, so never in INIT. */
export const sageMakerControlSdk = once(() => import('@aws-sdk/client-sagemaker'));

/**
 * The ObjectStore port over S3, the adapter (storage.ts) and its SDK loaded on the first call. A
 * handler whose every call reads or writes S3 imports storage.ts itself, so this finds it loaded
 * at INIT.
 */
export function objectStoreOnDemand(s3: ClientSource<S3Client>): ObjectStore {
  return {
    async put(loc, body, contentType) {
      const { putObject } = await storage();
      await putObject(await s3(), loc, body, contentType);
    },
    async read(loc, maxBytes) {
      const { readBounded } = await storage();
      return readBounded(await s3(), loc, maxBytes);
    },
    async readRange(loc, start, length) {
      const { readRange } = await storage();
      return readRange(await s3(), loc, start, length);
    },
    async head(loc) {
      const { headObject } = await storage();
      return headObject(await s3(), loc);
    },
    async list(prefix, max, token) {
      const { listKeys } = await storage();
      return listKeys(await s3(), prefix, max, token);
    },
    async presignGet(loc, expiresInSeconds) {
      const { presignGet } = await storage();
      return presignGet(await s3(), loc, expiresInSeconds);
    },
  };
}

/** The EventPublisher port over one bus, its adapter (events.ts) and SDK loaded on first publish. */
export function eventsOnDemand(
  eventBridge: ClientSource<EventBridgeClient>,
  busName: string,
): EventPublisher {
  return {
    async publish(event) {
      const { publishEvent } = await events();
      await publishEvent(await eventBridge(), busName, event);
    },
  };
}

/** The DeadLetters port over one queue: rare, so its adapter and SDK load on the first letter. */
export function deadLettersOnDemand(sqs: ClientSource<SQSClient>, queueUrl: string): DeadLetters {
  return {
    async send(letter) {
      const { sendToDeadLetter } = await deadLetter();
      await sendToDeadLetter(await sqs(), queueUrl, letter);
    },
  };
}
