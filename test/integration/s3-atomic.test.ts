import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientOptions, startS3, type Emulator } from '../../src/local/emulators.ts';

/*
 * S3's PUT is atomic: a GET of a key being overwritten gets the old object or the new one, whole.
 * s3rver writes in place, so the sandbox's S3 (its front, src/local/s3Front.ts) orders reads and
 * writes of one key. Without that, a GET during a PUT answered the old length with fewer bytes
 * and its client waited for the rest until its socket timeout.
 */

const BUCKET = 'atomic-bucket';
let s3e: Emulator;
let s3: S3Client;

beforeAll(async () => {
  s3e = await startS3({ buckets: [BUCKET] });
  s3 = new S3Client({ ...localClientOptions(s3e.url), forcePathStyle: true });
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await s3e?.close();
});

const versions = [Buffer.alloc(512 * 1024, 'a'), Buffer.alloc(2 * 1024 * 1024, 'b')];

describe('the sandbox S3 under overwrites', () => {
  it('answers every GET of a key being rewritten with one whole version', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: versions[0] }));
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 40; i++) {
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: versions[i % 2] }));
      }
      writing = false;
    })();
    const seen = new Set<string>();
    const reader = async () => {
      while (writing) {
        const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }));
        const body = Buffer.from(await res.Body!.transformToByteArray());
        expect(body.length).toBe(res.ContentLength);
        const match = versions.findIndex((v) => v.equals(body));
        expect(
          match,
          `a body of ${body.length} bytes that is neither version`,
        ).toBeGreaterThanOrEqual(0);
        seen.add(String(match));
      }
    };
    await Promise.all([writer, reader(), reader(), reader()]);
    expect(seen.size).toBeGreaterThan(0);
  }, 120_000);
});
