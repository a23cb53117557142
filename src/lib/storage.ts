import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { OutputMissing, S3AccessDenied, awsErrorName, awsStatus } from './errors.ts';
import { logger } from './logger.ts';
import type { S3Location } from './locations.ts';

/*
 * S3 reads and writes. Paths that need S3 on every call (submit, upload URLs, results) import this
 * module; paths that need it only sometimes load it on first use through src/lib/lazy.ts, so its
 * SDK is a chunk of its own that their INIT never reads.
 */

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

/** The message alarms count (deploy/alarms.yml, S3AccessDeniedMetricFilter): keep them in step. */
export const ACCESS_DENIED_LOG = 'S3 access denied';

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
    // Without s3:ListBucket S3 answers 403 for a missing key too (GetObject API reference,
    // "Permissions"); the stack grants it, so a 403 here is a permission that is really missing.
    if (awsErrorName(err) === 'AccessDenied' || awsStatus(err) === 403) {
      logger.error(ACCESS_DENIED_LOG, {
        bucket: loc.bucket,
        key: loc.key,
        error: awsErrorName(err),
        needs: 's3:GetObject on the object, s3:ListBucket on the bucket, kms:Decrypt on its key',
      });
      throw new S3AccessDenied(
        'S3 denied reading the output (AccessDenied): the function role lacks s3:GetObject, s3:ListBucket or kms:Decrypt',
      );
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
