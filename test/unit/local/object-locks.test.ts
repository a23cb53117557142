import { describe, expect, it } from 'vitest';
import { ObjectLocks } from '../../../src/local/s3Front.ts';

/** Settles what is ready, so a grant that was due has happened. */
const settle = () => new Promise((r) => setImmediate(r));

describe('ObjectLocks (one object: reads share, a write is alone)', () => {
  it('lets reads share a key, and keeps a write waiting until the last read ends', async () => {
    const locks = new ObjectLocks();
    const r1 = await locks.acquire('/b/k', false);
    const r2 = await locks.acquire('/b/k', false);
    let written = false;
    const w = locks.acquire('/b/k', true).then((release) => {
      written = true;
      return release;
    });
    r1();
    await settle();
    expect(written).toBe(false);
    r2();
    (await w)();
    expect(written).toBe(true);
    expect(locks.busy).toBe(0);
  });

  it('serves in arrival order: a read after a waiting write waits for that write', async () => {
    const locks = new ObjectLocks();
    const order: string[] = [];
    const r1 = await locks.acquire('/b/k', false);
    const w = locks.acquire('/b/k', true).then((release) => (order.push('write'), release));
    const r2 = locks.acquire('/b/k', false).then((release) => (order.push('read'), release));
    await settle();
    expect(order).toEqual([]);
    r1();
    (await w)();
    (await r2)();
    expect(order).toEqual(['write', 'read']);
  });

  it('keeps keys apart, and a release twice counts once', async () => {
    const locks = new ObjectLocks();
    const w1 = await locks.acquire('/b/one', true);
    const w2 = await locks.acquire('/b/two', true);
    const r = locks.acquire('/b/one', false);
    w1();
    w1();
    (await r)();
    w2();
    expect(locks.busy).toBe(0);
  });
});
