import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presignPut } from '../../src/lib/adapters/storage.ts';
import { EMULATOR_CREDENTIALS, startS3, type Emulator } from '../../src/local/emulators.ts';
import { crc32c } from '../../src/local/s3Front.ts';

/*
 * The local S3 refuses what real S3 refuses, so a presigned URL or a checksum that AWS would reject
 * fails here too. Real SDK clients and real HTTP PUTs against s3rver behind its front.
 * Codes and messages: S3 API reference "Error responses" (List of error codes), S3 User Guide
 * "Checking object integrity in Amazon S3" (BadDigest: "The CRC32 you specified did not match the
 * calculated checksum."), "How to prevent object overwrites with conditional writes" (412
 * PreconditionFailed).
 */

const BUCKET = 'front-test';
let s3e: Emulator;
let sdk: S3Client; // the SDK's defaults: requestChecksumCalculation WHEN_SUPPORTED
let presigner: S3Client; // as src/lib/adapters/clients.ts s3Presigner

beforeAll(async () => {
  s3e = await startS3({ buckets: [BUCKET] });
  const common = {
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
    endpoint: s3e.url,
    forcePathStyle: true,
  };
  sdk = new S3Client(common);
  presigner = new S3Client({ ...common, requestChecksumCalculation: 'WHEN_REQUIRED' });
});
afterAll(async () => {
  sdk?.destroy();
  presigner?.destroy();
  await s3e?.close();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');
const read = async (key: string) => {
  const res = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
};
const errorOf = async (res: Response) => {
  const xml = await res.text();
  return {
    status: res.status,
    code: /<Code>([^<]*)<\/Code>/.exec(xml)?.[1],
    message: /<Message>([^<]*)<\/Message>/.exec(xml)?.[1],
  };
};
let n = 0;
const key = () => `k/${++n}-${Date.now()}`;

describe('the SDK ordinary PutObject (default checksums)', () => {
  it('stores a buffer sent with its CRC32 header', async () => {
    const k = key();
    const body = Buffer.from('a,b\n1,2\n');
    await sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: body }));
    expect(await read(k)).toEqual(body);
  });

  it('stores a stream sent aws-chunked with a trailing checksum, without its framing', async () => {
    const k = key();
    const body = Buffer.alloc(300_000, 0x61);
    await sdk.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: k,
        Body: Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]),
        ContentLength: body.length,
      }),
    );
    expect(await read(k)).toEqual(body);
  });
});

describe('checksums of a PUT body', () => {
  it('refuses the default presigned URL (CRC32 of an empty body) with BadDigest', async () => {
    const url = await getSignedUrl(sdk, new PutObjectCommand({ Bucket: BUCKET, Key: key() }), {
      expiresIn: 60,
    });
    expect(new URL(url).searchParams.get('x-amz-checksum-crc32')).toBe('AAAAAA==');
    const res = await fetch(url, { method: 'PUT', body: 'not empty' });
    expect(await errorOf(res)).toEqual({
      status: 400,
      code: 'BadDigest',
      message: 'The CRC32 you specified did not match the calculated checksum.',
    });
  });

  it('checks crc32c, sha1 and sha256 headers, and Content-MD5', async () => {
    const body = Buffer.from('123456789');
    // CRC-32C check value of "123456789" (RFC 3720, B.4): 0xE3069283.
    expect(crc32c(body)).toBe(0xe3069283);
    const url = (k: string) => `${s3e.url}/${BUCKET}/${k}`;
    const good = {
      'x-amz-checksum-crc32c': Buffer.from('e3069283', 'hex').toString('base64'),
      'x-amz-checksum-sha1': createHash('sha1').update(body).digest('base64'),
      'x-amz-checksum-sha256': sha256(body),
      'content-md5': createHash('md5').update(body).digest('base64'),
    };
    for (const [h, v] of Object.entries(good)) {
      expect((await fetch(url(key()), { method: 'PUT', headers: { [h]: v }, body })).status).toBe(
        200,
      );
    }
    const other = Buffer.from('12345678X');
    const bad = await fetch(url(key()), {
      method: 'PUT',
      headers: { 'x-amz-checksum-sha256': good['x-amz-checksum-sha256'] },
      body: other,
    });
    expect(await errorOf(bad)).toMatchObject({
      status: 400,
      code: 'BadDigest',
      message: 'The SHA256 you specified did not match the calculated checksum.',
    });
    const badMd5 = await fetch(url(key()), {
      method: 'PUT',
      headers: { 'content-md5': good['content-md5'] },
      body: other,
    });
    expect(await errorOf(badMd5)).toMatchObject({ status: 400, code: 'BadDigest' });
    const notMd5 = await fetch(url(key()), {
      method: 'PUT',
      headers: { 'content-md5': 'abc' },
      body,
    });
    expect(await errorOf(notMd5)).toMatchObject({ status: 400, code: 'InvalidDigest' });
  });
});

describe('a presigned upload bound to its terms (storage.ts presignPut)', () => {
  const body = Buffer.from('x,y\n'.repeat(1000));
  const sign = (k: string, terms: Partial<Parameters<typeof presignPut>[2]> = {}) =>
    presignPut(
      presigner,
      { bucket: BUCKET, key: k },
      {
        contentType: 'text/csv',
        contentLength: body.length,
        checksumSha256: sha256(body),
        ...terms,
      },
      60,
    );

  it('is accepted with the headers it lists, and stores the body', async () => {
    const k = key();
    const up = await sign(k);
    const res = await fetch(up.url, { method: 'PUT', headers: up.headers, body });
    expect(res.status).toBe(200);
    expect(await read(k)).toEqual(body);
  });

  it('is accepted without a caller checksum too', async () => {
    const k = key();
    const up = await sign(k, { checksumSha256: undefined });
    expect(up.headers).not.toHaveProperty('x-amz-checksum-sha256');
    expect((await fetch(up.url, { method: 'PUT', headers: up.headers, body })).status).toBe(200);
  });

  it('refuses a body that is not the one whose SHA-256 was signed: BadDigest', async () => {
    const up = await sign(key());
    const other = Buffer.from(body);
    other[0] = 0x7a; // same length, other bytes
    const res = await fetch(up.url, { method: 'PUT', headers: up.headers, body: other });
    expect(await errorOf(res)).toEqual({
      status: 400,
      code: 'BadDigest',
      message: 'The SHA256 you specified did not match the calculated checksum.',
    });
  });

  it('refuses another length, another content type, a dropped header: SignatureDoesNotMatch', async () => {
    const up = await sign(key(), { checksumSha256: undefined });
    const longer = Buffer.concat([body, Buffer.from('more')]);
    const cases: [Record<string, string>, Buffer][] = [
      [{ ...up.headers, 'content-length': String(longer.length) }, longer],
      [{ ...up.headers, 'content-type': 'text/html' }, body],
      [{ 'content-type': 'text/csv' }, body], // without If-None-Match: *
    ];
    for (const [headers, sent] of cases) {
      const res = await fetch(up.url, { method: 'PUT', headers, body: sent });
      expect(await errorOf(res)).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    }
  });

  it('refuses an x-amz- header that was not signed', async () => {
    const up = await sign(key(), { checksumSha256: undefined });
    const res = await fetch(up.url, {
      method: 'PUT',
      headers: { ...up.headers, 'x-amz-meta-owner': 'someone' },
      body,
    });
    expect(await errorOf(res)).toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  it('creates its object once: a second PUT, even through the same URL, is PreconditionFailed', async () => {
    const k = key();
    const up = await sign(k);
    expect((await fetch(up.url, { method: 'PUT', headers: up.headers, body })).status).toBe(200);
    const again = await fetch(up.url, { method: 'PUT', headers: up.headers, body });
    expect(await errorOf(again)).toEqual({
      status: 412,
      code: 'PreconditionFailed',
      message: 'At least one of the pre-conditions you specified did not hold',
    });
    expect(await read(k)).toEqual(body);
  });

  it('refuses an expired URL', async () => {
    const up = await presignPut(
      presigner,
      { bucket: BUCKET, key: key() },
      { contentType: 'text/csv', contentLength: body.length },
      60,
    );
    const url = new URL(up.url);
    url.searchParams.set('X-Amz-Date', '20200101T000000Z');
    const res = await fetch(url, { method: 'PUT', headers: up.headers, body });
    expect(await errorOf(res)).toMatchObject({ status: 403, code: 'AccessDenied' });
  });
});

describe('a presigned GET', () => {
  it('serves with its signature, and refuses another key or a forged expiry with 403', async () => {
    const k = key();
    const body = Buffer.from('result');
    await sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: body }));
    const url = new URL(
      await getSignedUrl(presigner, new GetObjectCommand({ Bucket: BUCKET, Key: k }), {
        expiresIn: 60,
      }),
    );
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(body);
    const otherKey = new URL(url);
    otherKey.pathname = otherKey.pathname.replace(/[^/]+$/, 'someone-else');
    expect(await errorOf(await fetch(otherKey))).toMatchObject({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
    const longer = new URL(url);
    longer.searchParams.set('X-Amz-Expires', '604800');
    expect(await errorOf(await fetch(longer))).toMatchObject({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
  });
});
