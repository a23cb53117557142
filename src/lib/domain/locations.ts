import { BadRequest, RefusedNotification } from './errors.ts';

/*
 * S3 locations: parsed and checked before they reach a key or a URL. No SDK here, so the paths
 * that only validate a location (every notification, getJob) do not load the S3 client with it.
 */

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
