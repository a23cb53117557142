import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import {
  MAX_UPLOAD_BYTES,
  UPLOAD_URL_SECONDS,
  createUpload,
} from '../../../../src/lib/http/access.ts';
import type { Config } from '../../../../src/lib/config.ts';
import { AppError } from '../../../../src/lib/domain/errors.ts';
import { errorAnswer } from '../../../../src/lib/http/errors.ts';

/*
 * POST /uploads, without S3: presigning is local. The limit is SageMaker's: asynchronous inference
 * takes "large payload sizes (up to 1GB)" (https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference.html).
 */

const s3 = new S3Client({
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
});
const config = { inputBucket: 'in', inputPrefix: 'inputs/' } as Config;
const now = () => new Date('2026-11-26T06:00:00.000Z');
const upload = (q: Record<string, string | undefined>) =>
  createUpload(q, { config, s3: () => s3, now });
const statusOf = (p: Promise<unknown>) =>
  p.then(
    () => 201,
    (e: unknown) => (e instanceof AppError ? errorAnswer(e).status : 500),
  );
const SHA = 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=';

describe('createUpload', () => {
  it('answers the URL, every header the uploader must send, and where the input will be', async () => {
    const up = await upload({
      contentType: 'text/csv',
      contentLength: '7340032',
      checksumSha256: SHA,
    });
    expect(up.method).toBe('PUT');
    expect(up.inputLocation).toMatch(/^s3:\/\/in\/inputs\/uploads\/[0-9a-f-]{36}$/);
    expect(up.headers).toEqual({
      'content-type': 'text/csv',
      'content-length': '7340032',
      'if-none-match': '*',
      'x-amz-checksum-sha256': SHA,
    });
    expect(up.expiresAt).toBe(new Date(now().getTime() + UPLOAD_URL_SECONDS * 1000).toISOString());
    expect(new URL(up.uploadUrl).pathname).toMatch(/\/inputs\/uploads\/[0-9a-f-]{36}$/);
  });

  it('needs the size, as a whole positive number of bytes: 400', async () => {
    for (const contentLength of [undefined, '', 'ten', '1.5', '-3', '0', '1e6']) {
      expect(await statusOf(upload({ contentType: 'text/csv', contentLength }))).toBe(400);
    }
  });

  it('refuses a size above what SageMaker async takes: 413', async () => {
    const q = { contentType: 'text/csv' };
    expect(await statusOf(upload({ ...q, contentLength: String(MAX_UPLOAD_BYTES) }))).toBe(201);
    expect(await statusOf(upload({ ...q, contentLength: String(MAX_UPLOAD_BYTES + 1) }))).toBe(413);
  });

  it('refuses a malformed content type (415) or checksum (400)', async () => {
    expect(await statusOf(upload({ contentType: 'nope', contentLength: '1' }))).toBe(415);
    for (const checksumSha256 of ['abc', 'a'.repeat(44), `${SHA.slice(0, -2)}==`, 'Zm9v']) {
      expect(await statusOf(upload({ contentLength: '1', checksumSha256 }))).toBe(400);
    }
  });

  it('defaults the content type to application/octet-stream', async () => {
    const up = await upload({ contentLength: '5' });
    expect(up.headers['content-type']).toBe('application/octet-stream');
  });
});
