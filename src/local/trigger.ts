import { randomUUID } from 'node:crypto';
import { LOCAL } from './names.ts';

/*
 * The sandbox's stand-in for S3 -> EventBridge -> SQS -> onInputObject (deploy/trigger.yml): each
 * object s3rver reports created under the trigger prefix of the input bucket reaches the function
 * as the SQS record the deployed queue would deliver, whose body is EventBridge's "Object Created"
 * event (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html). A record the
 * function reports in batchItemFailures is delivered again after a growing delay, five times at
 * most, as the queue's redrive policy allows; then it is logged as dead-lettered.
 */

export interface TriggerDelivery {
  /** s3rver's `event` listener. */
  onS3Event(event: unknown): void;
  /** Resolves when every delivery so far finished or gave up. */
  idle(): Promise<void>;
}

interface S3rverRecord {
  eventName?: string;
  s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number; eTag?: string } };
}

export const MAX_RECEIVES = 5;

export function objectCreatedEvent(bucket: string, key: string, size?: number, etag?: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '000000000000',
    time: new Date().toISOString(),
    region: LOCAL.region,
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: { key, size, etag },
      reason: 'PutObject',
    },
  };
}

export function createTriggerDelivery(opts: {
  /** Runs onInputObject with the SQS event; resolves with its answer (batchItemFailures). */
  invoke: (event: unknown) => Promise<unknown>;
  bucket?: string;
  prefix?: string;
  /** The delay before the nth redelivery (1-based); the default grows from 200 ms. */
  backoffMs?: (attempt: number) => number;
  log: (msg: string, fields: Record<string, unknown>) => void;
}): TriggerDelivery {
  const bucket = opts.bucket ?? LOCAL.inputBucket;
  const prefix = opts.prefix ?? LOCAL.triggerPrefix;
  const backoff = opts.backoffMs ?? ((n: number) => 200 * 2 ** (n - 1));
  const inFlight = new Set<Promise<void>>();
  const call = opts.invoke;

  async function invokeOnce(messageId: string, body: string): Promise<boolean> {
    const record = {
      messageId,
      receiptHandle: messageId,
      body,
      attributes: {},
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${LOCAL.region}:000000000000:async-jobs-local-trigger`,
      awsRegion: LOCAL.region,
    };
    try {
      const answer = (await call({ Records: [record] })) as
        { batchItemFailures?: { itemIdentifier: string }[] } | undefined;
      return !(answer?.batchItemFailures ?? []).some((f) => f.itemIdentifier === messageId);
    } catch {
      // The function is not up yet, or failed: the queue would deliver the record again.
      return false;
    }
  }

  async function deliver(key: string, body: string): Promise<void> {
    const messageId = randomUUID();
    for (let receive = 1; receive <= MAX_RECEIVES; receive++) {
      if (await invokeOnce(messageId, body)) {
        opts.log('object delivered to onInputObject', { key, receive });
        return;
      }
      if (receive < MAX_RECEIVES) await new Promise((r) => setTimeout(r, backoff(receive)));
    }
    opts.log('object dead-lettered after every receive', { key, receives: MAX_RECEIVES });
  }

  return {
    onS3Event(event) {
      const records = (event as { Records?: S3rverRecord[] }).Records ?? [];
      for (const r of records) {
        const key = r.s3?.object?.key;
        if (!String(r.eventName).startsWith('ObjectCreated:') || !key) continue;
        if (r.s3?.bucket?.name !== bucket || !key.startsWith(prefix)) continue;
        const body = JSON.stringify(
          objectCreatedEvent(bucket, key, r.s3?.object?.size, r.s3?.object?.eTag),
        );
        const p = deliver(key, body).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
