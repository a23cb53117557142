import { describe, expect, it } from 'vitest';
import type { ActivityLog } from '../../src/lib/app/ports/activity.ts';
import { ACTIVITY_SHARDS, bucketOf, type ActivityEnding } from '../../src/lib/domain/activity.ts';
import { freshId, useRig } from './rig.ts';

/*
 * What every ActivityLog does, the fake (test/support/fakes/activity.ts) and the DynamoDB
 * adapter against dynalite alike: counts by status summed over shards, the histogram's buckets,
 * endpoints kept apart, minutes answered in the order asked with zeros where nothing ended, and
 * a window wider than one BatchGetItem (100 keys).
 */

export interface ActivityRig {
  log: ActivityLog;
  /** The TTL attribute (epoch seconds) of one bucket item, as stored. */
  expiresAt(endpointName: string, minute: string, shard: number): Promise<number | undefined>;
  close(): Promise<void>;
}

const M1 = '2026-11-24T12:00';
const M2 = '2026-11-24T12:01';

const ending = (endpointName: string, extra: Partial<ActivityEnding> = {}): ActivityEnding => ({
  endpointName,
  status: 'COMPLETED',
  minute: M1,
  shard: 0,
  ...extra,
});

export function activityContract(name: string, start: () => Promise<ActivityRig>): void {
  describe(`ActivityLog contract: ${name}`, () => {
    let rig: ActivityRig;
    let log: ActivityLog;
    useRig(start, (started) => {
      rig = started;
      log = started.log;
    });

    it('sums each status over the shards of a minute, and a histogram bucket per time', async () => {
      const ep = freshId('ep');
      await log.count(ending(ep, { shard: 0, toResultMs: 1000 }));
      await log.count(ending(ep, { shard: ACTIVITY_SHARDS - 1, toResultMs: 1000 }));
      await log.count(ending(ep, { shard: 3, toResultMs: 60_000 }));
      await log.count(ending(ep, { shard: 3, status: 'FAILED' }));
      await log.count(ending(ep, { shard: 5, status: 'CANCELLED' }));
      await log.count(ending(ep, { shard: 5, status: 'EXPIRED' }));
      await log.count(ending(ep, { minute: M2, status: 'FAILED' }));
      const [m1, m2] = await log.read([ep], [M1, M2]);
      expect(m1).toEqual({
        minute: M1,
        completed: 3,
        failed: 1,
        cancelled: 1,
        expired: 1,
        histogram: { [bucketOf(1000)]: 2, [bucketOf(60_000)]: 1 },
      });
      expect(m2).toEqual({
        minute: M2,
        completed: 0,
        failed: 1,
        cancelled: 0,
        expired: 0,
        histogram: {},
      });
    });

    it('keeps endpoints apart, and sums those asked for together', async () => {
      const a = freshId('ep-a');
      const b = freshId('ep-b');
      await log.count(ending(a));
      await log.count(ending(b));
      await log.count(ending(b, { shard: 7 }));
      expect((await log.read([a], [M1]))[0]!.completed).toBe(1);
      expect((await log.read([b], [M1]))[0]!.completed).toBe(2);
      expect((await log.read([a, b], [M1]))[0]!.completed).toBe(3);
    });

    it('answers minutes in the order asked, zeros where nothing ended, past one batch read', async () => {
      const ep = freshId('ep');
      const minutes = Array.from(
        { length: 60 },
        (_, i) => `2026-11-24T13:${String(i).padStart(2, '0')}`,
      );
      await log.count(ending(ep, { minute: minutes[59]!, shard: ACTIVITY_SHARDS - 1 }));
      await log.count(ending(ep, { minute: minutes[0]!, status: 'EXPIRED' }));
      const read = await log.read([ep], minutes);
      expect(read.map((m) => m.minute)).toEqual(minutes);
      expect(read[0]!.expired).toBe(1);
      expect(read[59]!.completed).toBe(1);
      expect(read.slice(1, 59).every((m) => m.completed + m.expired === 0)).toBe(true);
    });

    it('gives a bucket a TTL past the longest window', async () => {
      const ep = freshId('ep');
      await log.count(ending(ep, { shard: 2 }));
      const minuteEpoch = Date.parse(`${M1}:00Z`) / 1000;
      const ttl = await rig.expiresAt(ep, M1, 2);
      if (ttl === undefined) return; // the fake keeps no TTL: nothing to expire
      expect(ttl).toBeGreaterThanOrEqual(minuteEpoch + 180 * 60);
    });
  });
}
