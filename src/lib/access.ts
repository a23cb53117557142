import type { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.ts';
import { AppError, NotFound, UnsupportedMediaType } from './errors.ts';
import type { Job } from './jobs.ts';
import type { ClientSource } from './lazy.ts';
import { allowedLocation, s3Uri } from './locations.ts';
import { presignGet, presignPut } from './storage.ts';

/*
 * Getting data in and out without passing it through Lambda: presigned URLs for large inputs
 * (SageMaker async accepts up to 1 GB, a Lambda request 6 MB) and for large results.
 */

/** How long a presigned URL lives: long enough to start a transfer, short enough to leak little. */
export const UPLOAD_URL_SECONDS = 900;
export const RESULT_URL_SECONDS = 300;

const MEDIA_TYPE =
  /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+*-]{1,127}(\s*;\s*[\x20-\x7e]*)?$/;

export interface Upload {
  method: 'PUT';
  uploadUrl: string;
  headers: Record<string, string>;
  inputLocation: string;
  expiresAt: string;
}

/** POST /uploads: where to PUT a large input, and the inputLocation to submit it with. */
export async function createUpload(
  contentType: string | undefined,
  deps: { config: Config; s3: ClientSource<S3Client>; now?: () => Date },
): Promise<Upload> {
  const type = contentType?.trim() || 'application/octet-stream';
  if (type.length > 1024 || !MEDIA_TYPE.test(type)) {
    throw new UnsupportedMediaType('contentType must be a valid media type, such as text/csv');
  }
  const loc = {
    bucket: deps.config.inputBucket,
    key: `${deps.config.inputPrefix}uploads/${randomUUID()}`,
  };
  const now = deps.now?.() ?? new Date();
  return {
    method: 'PUT',
    uploadUrl: await presignPut(await deps.s3(), loc, type, UPLOAD_URL_SECONDS),
    headers: { 'content-type': type },
    inputLocation: s3Uri(loc),
    expiresAt: new Date(now.getTime() + UPLOAD_URL_SECONDS * 1000).toISOString(),
  };
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
      job.status === 'FAILED' ? `FAILED: ${job.failureReason ?? 'no reason'}` : 'IN_PROGRESS';
    throw new AppError(`job ${inferenceId} has no result: it is ${detail}`, { status: 409 });
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
