import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { BadRequest, OutputMissing, RefusedNotification, awsErrorName } from './errors.ts';

/** `s3://bucket/key`: a DNS-compatible bucket name and a non-empty key. */
export const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.{1,1024})$/s;

export interface S3Location {
  bucket: string;
  key: string;
}

export function parseS3Uri(uri: string): S3Location | undefined {
  const m = S3_URI.exec(uri);
  if (!m?.[1] || !m[2]) return undefined;
  // Keys with control characters or relative segments are not something SageMaker writes.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(m[2]) || m[2].split('/').some((s) => s === '..')) return undefined;
  return { bucket: m[1], key: m[2] };
}

export function s3Uri(loc: S3Location): string {
  return `s3://${loc.bucket}/${loc.key}`;
}

/** The trust boundary of the notification path: only the configured output buckets are read. */
export function allowedLocation(uri: string, buckets: readonly string[], what: string): S3Location {
  const loc = parseS3Uri(uri);
  if (!loc) throw new RefusedNotification(`${what} is not a valid s3:// URI`);
  if (!buckets.includes(loc.bucket)) {
    throw new RefusedNotification(`${what} is outside the configured OUTPUT_BUCKETS`);
  }
  return loc;
}

/** The submit path's boundary: an input given by location must already be in the input bucket. */
export function inputLocation(uri: string, inputBucket: string): S3Location {
  const loc = parseS3Uri(uri);
  if (!loc) throw new BadRequest('inputLocation must be an s3://bucket/key URI');
  if (loc.bucket !== inputBucket) {
    throw new BadRequest(`inputLocation must be in the input bucket ${inputBucket}`);
  }
  return loc;
}

export async function putObject(
  client: S3Client,
  loc: S3Location,
  body: Uint8Array,
  contentType: string,
): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: loc.bucket,
      Key: loc.key,
      Body: body,
      ContentType: contentType,
      ContentLength: body.byteLength,
    }),
  );
}

export type ReadResult =
  | { inline: true; body: Buffer; bytes: number; contentType?: string }
  | { inline: false; bytes: number; contentType?: string };

/**
 * Reads an object with one GetObject and holds at most `maxBytes` of it. A larger object is not
 * downloaded: the stream is dropped as soon as its length (or its first `maxBytes + 1` bytes) says
 * it is too large, so memory stays flat whatever the output size.
 */
export async function readBounded(
  client: S3Client,
  loc: S3Location,
  maxBytes: number,
): Promise<ReadResult> {
  let res;
  try {
    res = await client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
  } catch (err) {
    if (err instanceof NoSuchKey || awsErrorName(err) === 'NoSuchKey') {
      throw new OutputMissing(`no object at the location named by the notification`);
    }
    throw err;
  }
  const contentType = res.ContentType;
  const body = res.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
  const declared = res.ContentLength;
  if (declared !== undefined && declared > maxBytes) {
    body?.destroy?.();
    return { inline: false, bytes: declared, contentType };
  }
  const chunks: Uint8Array[] = [];
  let held = 0;
  if (body) {
    for await (const chunk of body) {
      held += chunk.byteLength;
      if (held > maxBytes) {
        body.destroy?.();
        return { inline: false, bytes: declared ?? held, contentType };
      }
      chunks.push(chunk);
    }
  }
  return { inline: true, body: Buffer.concat(chunks, held), bytes: held, contentType };
}

/** A short-lived URL to GET an object, for results too large to answer inline. */
export async function presignGet(
  client: S3Client,
  loc: S3Location,
  expiresInSeconds: number,
): Promise<string> {
  const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
  return getSignedUrl(client, new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), {
    expiresIn: expiresInSeconds,
  });
}

/** A short-lived URL to PUT an input of the given content type, for inputs above Lambda's limit. */
export async function presignPut(
  client: S3Client,
  loc: S3Location,
  contentType: string,
  expiresInSeconds: number,
): Promise<string> {
  const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
  return getSignedUrl(
    client,
    new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, ContentType: contentType }),
    { expiresIn: expiresInSeconds },
  );
}
