import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ClientSource } from './client-source.ts';
import type { RefusedLetter } from './deadletter.ts';
import type { EventDeps } from './events.ts';
import type { BatchView } from '../domain/batches.ts';
import type { Job } from '../domain/jobs.ts';
import type { S3Location } from '../domain/locations.ts';
import type { ReadResult } from './storage.ts';

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

/** `readBounded` of the S3 adapter, loaded on first use. */
export async function readOnDemand(
  s3: ClientSource<S3Client>,
  loc: S3Location,
  maxBytes: number,
): Promise<ReadResult> {
  const { readBounded } = await storage();
  return readBounded(await s3(), loc, maxBytes);
}

/** `putObject` of the S3 adapter, loaded on first use. */
export async function putOnDemand(
  s3: ClientSource<S3Client>,
  loc: S3Location,
  body: Uint8Array,
  contentType: string,
): Promise<void> {
  const { putObject } = await storage();
  await putObject(await s3(), loc, body, contentType);
}

/** `presignGet` of the S3 adapter, loaded on first use. */
export async function presignOnDemand(
  s3: ClientSource<S3Client>,
  loc: S3Location,
  expiresInSeconds: number,
): Promise<string> {
  const { presignGet } = await storage();
  return presignGet(await s3(), loc, expiresInSeconds);
}

/** `announceBatch` of the outcome events (BatchCompleted), loaded on first use. */
export async function announceBatchOnDemand(
  eventBridge: ClientSource<EventBridgeClient>,
  busName: string,
  view: BatchView,
): Promise<void> {
  const { announceBatch } = await events();
  await announceBatch(await eventBridge(), busName, view);
}

/** `announce` of the outcome events, loaded on first use. */
export async function announceOnDemand(
  job: Job | undefined,
  deps: EventDeps,
  fresh = false,
): Promise<void> {
  const { announce } = await events();
  await announce(job, deps, fresh);
}

/** `sendToDeadLetter` of the dead-letter adapter, loaded on first use. */
export async function deadLetterOnDemand(
  sqs: ClientSource<SQSClient>,
  queueUrl: string,
  letter: RefusedLetter,
): Promise<void> {
  const { sendToDeadLetter } = await deadLetter();
  await sendToDeadLetter(await sqs(), queueUrl, letter);
}
