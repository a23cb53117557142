import {
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { OutputMissing, S3AccessDenied } from '../../../../src/lib/domain/errors.ts';
import { headObject, presignPut, readBounded } from '../../../../src/lib/adapters/storage.ts';

const s3mock = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1' });
const loc = { bucket: 'out', key: 'outputs/a.out' };

/** A body stream that records how much of it was consumed and whether it was dropped. */
function body(chunks: Buffer[]) {
  const state = { pulled: 0, destroyed: false };
  const stream = Readable.from(
    (function* () {
      for (const c of chunks) {
        state.pulled++;
        yield c;
      }
    })(),
  );
  stream.on('close', () => (state.destroyed = true));
  return { stream, state };
}

beforeEach(() => s3mock.reset());

describe('readBounded', () => {
  it('holds a small object whole, with its content type', async () => {
    const { stream } = body([Buffer.from('{"a":'), Buffer.from('1}')]);
    s3mock
      .on(GetObjectCommand)
      .resolves({ Body: stream as never, ContentLength: 7, ContentType: 'application/json' });
    const read = await readBounded(client, loc, 100);
    expect(read).toEqual({
      inline: true,
      body: Buffer.from('{"a":1}'),
      bytes: 7,
      contentType: 'application/json',
    });
    expect(s3mock.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'out', Key: 'outputs/a.out' },
    ]);
    expect(s3mock.calls()).toHaveLength(1);
  });

  it('does not download an object whose length is over the limit', async () => {
    const { stream, state } = body([Buffer.alloc(10), Buffer.alloc(10)]);
    s3mock.on(GetObjectCommand).resolves({ Body: stream as never, ContentLength: 268_435_456 });
    const read = await readBounded(client, loc, 1024);
    expect(read).toEqual({ inline: false, bytes: 268_435_456, contentType: undefined });
    expect(state.pulled).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(state.destroyed).toBe(true);
  });

  it('stops reading a stream of unknown length as soon as it passes the limit', async () => {
    const { stream, state } = body(Array.from({ length: 100 }, () => Buffer.alloc(64)));
    s3mock.on(GetObjectCommand).resolves({ Body: stream as never });
    const read = await readBounded(client, loc, 100);
    expect(read.inline).toBe(false);
    expect(state.pulled).toBeLessThanOrEqual(3);
  });

  it('turns NoSuchKey into OutputMissing (retryable)', async () => {
    s3mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'gone', $metadata: {} }));
    const err = await readBounded(client, loc, 100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputMissing);
    expect((err as OutputMissing).retryable).toBe(true);
  });

  it('lets any other S3 error through as it is, for the retry path', async () => {
    // S3 answers 503 SlowDown when a prefix is over its request rate (S3 API reference, Errors).
    const slowDown = Object.assign(new Error('slow down'), {
      name: 'SlowDown',
      $metadata: { httpStatusCode: 503 },
    });
    s3mock.on(GetObjectCommand).rejects(slowDown);
    const err = await readBounded(client, loc, 100).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(OutputMissing);
    expect(err).toMatchObject({ name: 'SlowDown', message: 'slow down' });
  });
});

describe('headObject', () => {
  it('answers what S3 says of the object, in one HeadObject', async () => {
    s3mock.on(HeadObjectCommand).resolves({
      ContentType: 'image/png',
      ContentLength: 5,
      ETag: '"abc"',
      VersionId: 'v1',
    });
    expect(await headObject(client, loc)).toEqual({
      contentType: 'image/png',
      bytes: 5,
      etag: '"abc"',
      versionId: 'v1',
    });
    expect(s3mock.commandCalls(HeadObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'out', Key: 'outputs/a.out' },
    ]);
  });

  // HeadObject has no body: a missing key is a bare 404 the SDK names NotFound; without
  // s3:ListBucket it would be a 403 (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
  it('answers a missing key (404 NotFound) as no object', async () => {
    s3mock
      .on(HeadObjectCommand)
      .rejects(new NotFound({ message: 'UnknownError', $metadata: { httpStatusCode: 404 } }));
    expect(await headObject(client, loc)).toBeUndefined();
  });

  it('answers a 403 as S3AccessDenied, naming the permission, never as a missing object', async () => {
    s3mock.on(HeadObjectCommand).rejects(
      new S3ServiceException({
        name: 'Forbidden',
        $fault: 'client',
        message: 'Forbidden',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const err = await headObject(client, loc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3AccessDenied);
    expect((err as Error).message).toMatch(/AccessDenied/);
  });
});

/*
 * Presigning is local (no request is sent), so these run against real clients. Since SDK 3.729 a
 * client's default requestChecksumCalculation is WHEN_SUPPORTED and a presigned PutObject then
 * carries x-amz-checksum-crc32 of an empty body (AAAAAA==) that S3 checks every upload against
 * (aws/aws-sdk-js-v3#6994; S3 User Guide, "Checking object integrity in Amazon S3",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
 */
describe('presignPut', () => {
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
  const presigner = new S3Client({
    region: 'eu-west-1',
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const input = { bucket: 'in', key: 'inputs/uploads/u1' };
  const sha = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';
  // Names of every checksum S3 takes on PutObject (PutObject API reference, request headers).
  const CHECKSUM = /checksum|x-amz-trailer/i;

  it('carries no checksum of a body it has not seen', async () => {
    const up = await presignPut(
      presigner,
      input,
      { contentType: 'text/csv', contentLength: 10 },
      900,
    );
    const params = [...new URL(up.url).searchParams.keys()];
    expect(params.filter((k) => CHECKSUM.test(k))).toEqual([]);
    expect(new URL(up.url).searchParams.get('X-Amz-SignedHeaders')).toBe(
      'content-length;content-type;host;if-none-match',
    );
    expect(up.headers).toEqual({
      'content-type': 'text/csv',
      'content-length': '10',
      'if-none-match': '*',
    });
  });

  it("signs the caller's SHA-256 as a header the uploader sends, not as a query parameter", async () => {
    const up = await presignPut(
      presigner,
      input,
      { contentType: 'text/csv', contentLength: 10, checksumSha256: sha },
      900,
    );
    const url = new URL(up.url);
    expect([...url.searchParams.keys()].filter((k) => CHECKSUM.test(k))).toEqual([]);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe(
      'content-length;content-type;host;if-none-match;x-amz-checksum-sha256',
    );
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(up.headers['x-amz-checksum-sha256']).toBe(sha);
  });

  it("refuses to sign with a client left on the SDK's default checksums", async () => {
    const defaults = new S3Client({ region: 'eu-west-1', credentials });
    await expect(
      presignPut(defaults, input, { contentType: 'text/csv', contentLength: 10 }, 900),
    ).rejects.toThrow(/x-amz-checksum-crc32.*WHEN_REQUIRED/);
  });
});
