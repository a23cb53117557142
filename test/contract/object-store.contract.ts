import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../src/lib/app/ports/object-store.ts';
import { OutputMissing } from '../../src/lib/domain/errors.ts';
import { freshId, useRig } from './rig.ts';

/*
 * What every ObjectStore does, the fake and the S3 adapter against s3rver alike: bounded reads,
 * ranges and the whole size, a missing key (OutputMissing, or none for head), listings in key
 * order by pages.
 */

export interface ObjectStoreRig {
  objects: ObjectStore;
  bucket: string;
  close(): Promise<void>;
}

export function objectStoreContract(
  name: string,
  start: () => Promise<ObjectStoreRig>,
  /** False where the emulator cannot list (s3rver answered these listings InternalError). */
  listing = true,
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let rig: ObjectStoreRig;
    const loc = (key: string) => ({ bucket: rig.bucket, key });
    const fresh = () => `contract/${freshId('keys')}/`;
    useRig(start, (started) => {
      rig = started;
    });

    it('reads what was put, inline up to the limit, only its size beyond it', async () => {
      const key = `${fresh()}a.json`;
      await rig.objects.put(loc(key), Buffer.from('{"a":1}'), 'application/json');
      const small = await rig.objects.read(loc(key), 64);
      expect(small).toMatchObject({ inline: true, bytes: 7, contentType: 'application/json' });
      expect(small.inline && small.body.toString()).toBe('{"a":1}');
      expect(await rig.objects.read(loc(key), 6)).toMatchObject({ inline: false, bytes: 7 });
    });

    it('answers a missing key as OutputMissing (read, readRange) or none (head)', async () => {
      const key = `${fresh()}missing`;
      await expect(rig.objects.read(loc(key), 10)).rejects.toBeInstanceOf(OutputMissing);
      await expect(rig.objects.readRange(loc(key), 0, 10)).rejects.toBeInstanceOf(OutputMissing);
      expect(await rig.objects.head(loc(key))).toBeUndefined();
    });

    it('reads a range and the whole size', async () => {
      const key = `${fresh()}lines.jsonl`;
      await rig.objects.put(loc(key), Buffer.from('0123456789'), 'application/x-ndjson');
      expect(await rig.objects.readRange(loc(key), 2, 3)).toEqual({
        bytes: Buffer.from('234'),
        size: 10,
      });
      // A range running past the end answers what there is.
      expect(await rig.objects.readRange(loc(key), 8, 100)).toEqual({
        bytes: Buffer.from('89'),
        size: 10,
      });
    });

    it('heads an object: its type, size and an ETag', async () => {
      const key = `${fresh()}img.png`;
      await rig.objects.put(loc(key), Buffer.from('PNG!!'), 'image/png');
      expect(await rig.objects.head(loc(key))).toMatchObject({
        contentType: 'image/png',
        bytes: 5,
        etag: expect.stringMatching(/^".+"$/),
      });
    });

    it.runIf(listing)('lists the keys under a prefix in key order, by pages', async () => {
      const prefix = fresh();
      // (No folder placeholder beside a key under it: s3rver stores objects as files.)
      const keys = ['b', 'a', 'c', 'd/e', 'f'].map((k) => `${prefix}${k}`);
      for (const key of keys) await rig.objects.put(loc(key), Buffer.from('x'), 'text/plain');
      const all = await rig.objects.list(loc(prefix), 10);
      expect(all.keys.map((k) => k.slice(prefix.length))).toEqual(['a', 'b', 'c', 'd/e', 'f']);
      expect(all.next).toBeUndefined();
      const first = await rig.objects.list(loc(prefix), 2);
      expect(first.keys.map((k) => k.slice(prefix.length))).toEqual(['a', 'b']);
      // More to come: a token. (Following it is not asserted here: s3rver answers the
      // continued ListObjectsV2 with InternalError; the fake continues after the last key, as
      // ListObjectsV2 does: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html.)
      expect(first.next).toBeDefined();
    });

    it('presigns a GET naming the object', async () => {
      const key = `${fresh()}r.out`;
      const url = new URL(await rig.objects.presignGet(loc(key), 900));
      expect(`${url.hostname}${url.pathname}`).toContain(key);
    });
  });
}
