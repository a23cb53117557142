import type { ActivityLog } from '../../../src/lib/app/ports/activity.ts';
import {
  addInto,
  bucketOf,
  emptyMinute,
  type ActivityEnding,
  type MinuteCounts,
} from '../../../src/lib/domain/activity.ts';

const FIELD = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  EXPIRED: 'expired',
} as const;

/** The ActivityLog port in memory: one bucket per (endpoint, minute, shard), as the table keeps. */
export class FakeActivityLog implements ActivityLog {
  readonly buckets = new Map<string, MinuteCounts>();
  /** Every ending counted, in order. */
  readonly counted: ActivityEnding[] = [];

  async count(ending: ActivityEnding): Promise<void> {
    this.counted.push({ ...ending });
    const key = `${ending.endpointName}\u0000${ending.minute}\u0000${ending.shard}`;
    const bucket = this.buckets.get(key) ?? emptyMinute(ending.minute);
    bucket[FIELD[ending.status]]++;
    if (ending.toResultMs !== undefined) {
      const i = bucketOf(ending.toResultMs);
      bucket.histogram[i] = (bucket.histogram[i] ?? 0) + 1;
    }
    this.buckets.set(key, bucket);
  }

  async read(
    endpointNames: readonly string[],
    minutes: readonly string[],
  ): Promise<MinuteCounts[]> {
    return minutes.map((minute) => {
      const sum = emptyMinute(minute);
      for (const [key, bucket] of this.buckets) {
        const [endpoint, m] = key.split('\u0000');
        if (m === minute && endpointNames.includes(endpoint!)) addInto(sum, bucket);
      }
      return sum;
    });
  }
}
