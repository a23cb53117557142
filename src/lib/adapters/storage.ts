import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { OutputMissing, S3AccessDenied, awsErrorName, awsStatus } from '../domain/errors.ts';
import { logger } from './logger.ts';
import type { S3Location } from '../domain/locations.ts';
import type { ObjectHead, ObjectPage, ObjectRange, ReadResult } from '../app/ports/object-store.ts';

/*
 * S3 reads and writes. Paths that need S3 on every call (submit, upload URLs, results) import this
 * module; paths that need it only sometimes load it on first use through src/lib/adapters/lazy.ts, so its
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

/**
 * What S3 says of an object without reading it; undefined when it does not exist. HeadObject has no
 * body, so a missing key answers a bare 404 (`NotFound`), or 403 when the caller may not
 * s3:ListBucket (HeadObject API reference, "Permissions":
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html). The stack grants the
 * listing, so a 403 is a permission that is really missing.
 */
export async function headObject(
  client: S3Client,
  loc: S3Location,
): Promise<ObjectHead | undefined> {
  try {
    const res = await client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    return {
      contentType: res.ContentType,
      bytes: res.ContentLength,
      etag: res.ETag,
      versionId: res.VersionId,
    };
  } catch (err) {
    const name = awsErrorName(err);
    if (name === 'NotFound' || name === 'NoSuchKey' || awsStatus(err) === 404) return undefined;
    if (name === 'AccessDenied' || name === 'Forbidden' || awsStatus(err) === 403) {
      logger.error(ACCESS_DENIED_LOG, {
        bucket: loc.bucket,
        key: loc.key,
        error: name,
        needs: 's3:GetObject on the object, s3:ListBucket on the bucket',
      });
      throw new S3AccessDenied(
        'S3 denied reading the object (AccessDenied): the function role lacks s3:GetObject or s3:ListBucket',
      );
    }
    throw err;
  }
}

/**
 * Up to `length` bytes of an object from `start` (one ranged GetObject), and its whole size from
 * the answer's Content-Range. A missing key reads as OutputMissing, as `readBounded` does.
 */
export async function readRange(
  client: S3Client,
  loc: S3Location,
  start: number,
  length: number,
): Promise<ObjectRange> {
  let res;
  try {
    res = await client.send(
      new GetObjectCommand({
        Bucket: loc.bucket,
        Key: loc.key,
        Range: `bytes=${start}-${start + length - 1}`,
      }),
    );
  } catch (err) {
    if (err instanceof NoSuchKey || awsErrorName(err) === 'NoSuchKey') {
      throw new OutputMissing('no object at the location read');
    }
    throw err;
  }
  const size = Number(/\/(\d+)$/.exec(res.ContentRange ?? '')?.[1] ?? res.ContentLength ?? 0);
  const bytes = res.Body ? Buffer.from(await res.Body.transformToByteArray()) : Buffer.alloc(0);
  return { bytes, size };
}

/** One page of ListObjectsV2 under a prefix: its keys in S3's (UTF-8 binary) order. */
export async function listKeys(
  client: S3Client,
  prefix: S3Location,
  max: number,
  token?: string,
): Promise<ObjectPage> {
  const res = await client.send(
    new ListObjectsV2Command({
      Bucket: prefix.bucket,
      Prefix: prefix.key,
      MaxKeys: max,
      ContinuationToken: token,
    }),
  );
  const keys = (res.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
  return {
    keys,
    next: res.IsTruncated && res.NextContinuationToken ? res.NextContinuationToken : undefined,
  };
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

/** What a presigned upload is bound to: S3 refuses a PUT through the URL that differs in any. */
export interface UploadTerms {
  contentType: string;
  /** The exact body size: signed as `Content-Length`. */
  contentLength: number;
  /** Base64 SHA-256 of the body, when the caller knows it: signed as `x-amz-checksum-sha256`. */
  checksumSha256?: string;
}

export interface PresignedUpload {
  url: string;
  /** Every header the uploader must send, with its value: each one is part of the signature. */
  headers: Record<string, string>;
}

/**
 * Query parameters that carry a checksum the SDK computed itself. Presigning has no body, so such
 * a checksum is the one of an empty body (CRC32 `AAAAAA==`, aws/aws-sdk-js-v3#6994): every real
 * upload through the URL would fail its check. The caller's own checksum travels as a header.
 */
const SDK_CHECKSUM_PARAM = /^x-amz-(checksum-[a-z0-9]+|sdk-checksum-algorithm|trailer)$/i;

/**
 * A short-lived URL to PUT one input, for inputs above Lambda's request limit. The PUT is bound
 * to its terms by SigV4 (S3 recomputes the signature over the signed headers, so a different
 * type, length or checksum is refused with 403 SignatureDoesNotMatch) and to the body by the
 * caller's SHA-256, which S3 verifies before storing (400 BadDigest; "Checking object integrity
 * in Amazon S3", https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
 * `If-None-Match: *` makes it create-only: a second PUT to the key answers 412 PreconditionFailed
 * ("How to prevent object overwrites with conditional writes",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html), so an input
 * cannot be replaced once it is there, even with the same URL before it expires.
 *
 * `client` must be built with `requestChecksumCalculation: 'WHEN_REQUIRED'` (clients.ts
 * `s3Presigner`): otherwise the SDK signs the CRC32 of an empty body into the URL; this function
 * refuses to hand out such a URL.
 */
export async function presignPut(
  client: S3Client,
  loc: S3Location,
  terms: UploadTerms,
  expiresInSeconds: number,
): Promise<PresignedUpload> {
  const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
  const url = await getSignedUrl(
    client,
    new PutObjectCommand({
      Bucket: loc.bucket,
      Key: loc.key,
      ContentType: terms.contentType,
      ContentLength: terms.contentLength,
      ChecksumSHA256: terms.checksumSha256,
      IfNoneMatch: '*',
    }),
    {
      expiresIn: expiresInSeconds,
      // The S3 presigner leaves Content-Type unsigned unless asked to sign it.
      signableHeaders: new Set(['content-type']),
      // A header, not a query parameter: the uploader sends it, and S3 checks the body against
      // it as for any PutObject (PutObject API reference, x-amz-checksum-sha256).
      unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
    },
  );
  const unseen = [...new URL(url).searchParams.keys()].filter((k) => SDK_CHECKSUM_PARAM.test(k));
  if (unseen.length > 0) {
    throw new Error(
      `presigned upload would carry ${unseen.join(', ')} of a body it has not seen: ` +
        "presign with a client built with requestChecksumCalculation: 'WHEN_REQUIRED'",
    );
  }
  const headers: Record<string, string> = {
    'content-type': terms.contentType,
    'content-length': String(terms.contentLength),
    'if-none-match': '*',
  };
  if (terms.checksumSha256) headers['x-amz-checksum-sha256'] = terms.checksumSha256;
  return { url, headers };
}
