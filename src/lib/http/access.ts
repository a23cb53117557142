import type { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import {
  BadRequest,
  Conflict,
  NotFound,
  PayloadTooLarge,
  UnsupportedMediaType,
} from '../domain/errors.ts';
import type { Job } from '../domain/jobs.ts';
import type { Upload } from '../domain/wire.ts';
import type { ClientSource } from '../adapters/client-source.ts';
import { allowedLocation, s3Uri } from '../domain/locations.ts';
import { presignGet, presignPut } from '../adapters/storage.ts';

/*
 * Getting data in and out without passing it through Lambda: presigned URLs for large inputs
 * (SageMaker async accepts up to 1 GB, a Lambda request 6 MB) and for large results.
 */

/** How long a presigned URL lives: long enough to start a transfer, short enough to leak little. */
export const UPLOAD_URL_SECONDS = 900;
export const RESULT_URL_SECONDS = 300;

const MEDIA_TYPE =
  /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+*-]{1,127}(\s*;\s*[\x20-\x7e]*)?$/;

/**
 * The largest input an upload URL is signed for. SageMaker Asynchronous Inference takes "large
 * payload sizes (up to 1GB)" (https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference.html);
 * read as 10^9 bytes, the stricter reading, so nothing accepted here is refused at invocation.
 */
export const MAX_UPLOAD_BYTES = 1_000_000_000;

/** Base64 of a 32-byte digest: 43 characters and one `=`. */
const SHA256_BASE64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export type { Upload } from '../domain/wire.ts';

/** The query of POST /uploads, as sent (strings, possibly missing). */
export interface UploadRequest {
  contentType?: string;
  contentLength?: string;
  checksumSha256?: string;
}

/**
 * POST /uploads: where to PUT a large input, and the inputLocation to submit it with. The URL is
 * signed for exactly this type, this size (at most MAX_UPLOAD_BYTES) and, when given, this
 * SHA-256; it can create its object once and never replace it (storage.ts `presignPut`).
 */
export async function createUpload(
  req: UploadRequest,
  deps: { config: Config; s3: ClientSource<S3Client>; now?: () => Date },
): Promise<Upload> {
  const type = req.contentType?.trim() || 'application/octet-stream';
  if (type.length > 1024 || !MEDIA_TYPE.test(type)) {
    throw new UnsupportedMediaType('contentType must be a valid media type, such as text/csv');
  }
  const contentLength = uploadSize(req.contentLength);
  const checksumSha256 = req.checksumSha256?.trim() || undefined;
  if (checksumSha256 !== undefined && !SHA256_BASE64.test(checksumSha256)) {
    throw new BadRequest('checksumSha256 must be the base64 of a SHA-256 digest (44 characters)');
  }
  const loc = {
    bucket: deps.config.inputBucket,
    key: `${deps.config.inputPrefix}uploads/${randomUUID()}`,
  };
  const now = deps.now?.() ?? new Date();
  const signed = await presignPut(
    await deps.s3(),
    loc,
    { contentType: type, contentLength, checksumSha256 },
    UPLOAD_URL_SECONDS,
  );
  return {
    method: 'PUT',
    uploadUrl: signed.url,
    headers: signed.headers,
    inputLocation: s3Uri(loc),
    expiresAt: new Date(now.getTime() + UPLOAD_URL_SECONDS * 1000).toISOString(),
  };
}

function uploadSize(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') {
    throw new BadRequest('contentLength is required: the size of the input in bytes');
  }
  if (!/^\d{1,16}$/.test(raw.trim())) {
    throw new BadRequest('contentLength must be a whole number of bytes');
  }
  const n = Number(raw.trim());
  if (n < 1) throw new BadRequest('contentLength must be at least 1: an input cannot be empty');
  if (n > MAX_UPLOAD_BYTES) {
    throw new PayloadTooLarge(
      `contentLength ${n} is above ${MAX_UPLOAD_BYTES} bytes, the largest input SageMaker asynchronous inference takes`,
    );
  }
  return n;
}

export type ResultAnswer =
  { kind: 'inline'; body: Buffer; contentType: string } | { kind: 'redirect'; url: string };

/** GET /jobs/{id}/result: the output itself when stored inline, else a short-lived S3 URL. */
export async function resultOf(
  job: Job | undefined,
  inferenceId: string,
  deps: { config: Config; s3: ClientSource<S3Client> },
): Promise<ResultAnswer> {
  if (!job) throw new NotFound(`no job ${inferenceId}`);
  if (job.status !== 'COMPLETED') {
    const detail =
      job.status === 'FAILED' ? `FAILED: ${job.failureReason ?? 'no reason'}` : job.status;
    throw new Conflict(`job ${inferenceId} has no result: it is ${detail}`, inferenceId);
  }
  if (job.result !== undefined) {
    const body =
      job.resultEncoding === 'base64'
        ? Buffer.from(job.result, 'base64')
        : Buffer.from(job.result, 'utf8');
    return {
      kind: 'inline',
      body,
      contentType: job.outputContentType ?? 'application/octet-stream',
    };
  }
  if (!job.outputLocation) throw new NotFound(`job ${inferenceId} has no output location`);
  const loc = allowedLocation(job.outputLocation, deps.config.outputBuckets, 'outputLocation');
  return { kind: 'redirect', url: await presignGet(await deps.s3(), loc, RESULT_URL_SECONDS) };
}
