import { createHash } from 'node:crypto';

/*
 * S3-triggered jobs: what an "object created" message says, which object it names, the job id that
 * object always maps to, and why an object is refused. Two shapes reach the trigger queue:
 * - the deployed path, S3 -> EventBridge "Object Created" -> SQS: the key as S3 stores it
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html);
 * - a direct S3 event notification (a bucket notification sent to the queue), whose key is
 *   URL-encoded with "+" for spaces, and whose set-up sends `s3:TestEvent`
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
 */

export interface CreatedObject {
  bucket: string;
  key: string;
  size?: number;
  etag?: string;
  versionId?: string;
  /** The direct notification's encoded key: the first read may need the raw form too. */
  encodedKey?: string;
}

export type TriggerMessage =
  | { kind: 'test'; bucket?: string }
  | { kind: 'objects'; objects: CreatedObject[] }
  | { kind: 'unknown'; why: string };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v : undefined;
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
};

/** The URL decoding S3 applies to notification keys: form encoding, "+" is a space. */
export function decodeNotificationKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

/** Reads one queue message body (already JSON-parsed). Never throws. */
export function parseTriggerMessage(body: unknown): TriggerMessage {
  if (!isRecord(body)) return { kind: 'unknown', why: 'not a JSON object' };
  if (body.Event === 's3:TestEvent') return { kind: 'test', bucket: str(body.Bucket) };
  if (body.source === 'aws.s3') {
    if (body['detail-type'] !== 'Object Created') {
      return { kind: 'unknown', why: `S3 event ${String(body['detail-type'])}` };
    }
    const detail = isRecord(body.detail) ? body.detail : {};
    const bucket = isRecord(detail.bucket) ? str(detail.bucket.name) : undefined;
    const object = isRecord(detail.object) ? detail.object : {};
    const key = str(object.key);
    if (!bucket || !key) return { kind: 'unknown', why: 'Object Created without bucket or key' };
    return {
      kind: 'objects',
      objects: [
        {
          bucket,
          key,
          size: num(object.size),
          etag: str(object.etag),
          versionId: str(object['version-id']),
        },
      ],
    };
  }
  if (Array.isArray(body.Records)) {
    const objects: CreatedObject[] = [];
    for (const r of body.Records) {
      if (!isRecord(r) || r.eventSource !== 'aws:s3' || !isRecord(r.s3)) continue;
      if (!String(r.eventName ?? '').startsWith('ObjectCreated:')) continue;
      const bucket = isRecord(r.s3.bucket) ? str(r.s3.bucket.name) : undefined;
      const object = isRecord(r.s3.object) ? r.s3.object : {};
      const encodedKey = str(object.key);
      if (!bucket || !encodedKey) continue;
      objects.push({
        bucket,
        key: decodeNotificationKey(encodedKey),
        encodedKey,
        size: num(object.size),
        etag: str(object.eTag),
        versionId: str(object.versionId),
      });
    }
    if (objects.length > 0) return { kind: 'objects', objects };
    return { kind: 'unknown', why: 'S3 notification without an ObjectCreated record' };
  }
  return { kind: 'unknown', why: 'neither an S3 event nor an EventBridge S3 event' };
}

/**
 * The job id an object always maps to: the same object (bucket, key, and its version, or its ETag
 * in an unversioned bucket) gives the same id, so a repeated S3 event claims the same record and
 * never invokes twice; a new upload to the same key is a new object and a new job. 64 characters
 * at most, in POST /jobs's alphabet.
 */
export function triggerInferenceId(o: {
  bucket: string;
  key: string;
  versionId?: string;
  etag?: string;
}): string {
  const version = o.versionId ?? o.etag?.replace(/"/g, '') ?? '';
  const digest = createHash('sha256')
    .update(`${o.bucket}\n${o.key}\n${version}`)
    .digest('hex')
    .slice(0, 40);
  // A readable hint of the file name, then the digest that makes it unique.
  const base = (o.key.split('/').pop() ?? '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 16);
  return base ? `s3-${base}-${digest}` : `s3-${digest}`;
}

export interface TriggerRules {
  inputBucket: string;
  prefix: string;
  /** POST /jobs writes inputs here: an object under it is never a trigger. */
  inputPrefix: string;
  maxBytes: number;
  /** Media types accepted (`type/*` allowed); empty: any valid media type. */
  contentTypes: readonly string[];
}

export type RefusalReason =
  | 'foreign-bucket'
  | 'outside-prefix'
  | 'folder'
  | 'empty'
  | 'too-large'
  | 'unsupported-type'
  | 'gone'
  | 'rejected';

export class TriggerRefusal extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'TriggerRefusal';
  }
}

/** Why the event's object is not a job, from the event alone; undefined when it may be one. */
export function refuseFromEvent(o: CreatedObject, rules: TriggerRules): TriggerRefusal | undefined {
  if (o.bucket !== rules.inputBucket) {
    return new TriggerRefusal('foreign-bucket', 'the object is not in the input bucket');
  }
  if (!rules.prefix || !o.key.startsWith(rules.prefix) || o.key.startsWith(rules.inputPrefix)) {
    return new TriggerRefusal('outside-prefix', `the object is not under ${rules.prefix}`);
  }
  if (o.key.endsWith('/')) return new TriggerRefusal('folder', 'the object is a folder marker');
  return refuseSize(o.size, rules);
}

export function refuseSize(size: number | undefined, rules: TriggerRules) {
  if (size === 0) return new TriggerRefusal('empty', 'the object is empty');
  if (size !== undefined && size > rules.maxBytes) {
    return new TriggerRefusal(
      'too-large',
      `the object is ${size} bytes, above the ${rules.maxBytes}-byte limit for an async input`,
    );
  }
  return undefined;
}

/** Whether a media type is in the allow-list (`type/*` matches the whole type). */
export function contentTypeAllowed(contentType: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const essence = contentType.split(';')[0]!.trim().toLowerCase();
  return allowed.some((a) => {
    const want = a.trim().toLowerCase();
    return want.endsWith('/*') ? essence.startsWith(want.slice(0, -1)) : essence === want;
  });
}
