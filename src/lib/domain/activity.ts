import type { Job, Outcome } from './jobs.ts';
import { shardOf } from './jobs.ts';
import type { ActivityMinute } from './wire.ts';

/*
 * The activity figures (GET /activity, the console's charts): per endpoint and minute, how many
 * jobs ended in each terminal status and a histogram of their submit-to-result times. One bucket
 * item per (endpoint, minute, shard), ADDed once per ending and kept a few hours (its TTL): a
 * read of the last hour is a fixed number of keys, whatever the table holds.
 */

/**
 * An ending is one ADD on one bucket item (under 1 KiB: 1 WCU). At 10,000 endings/s on one
 * endpoint that is 10,000 WCU/s on one minute's keys: ~625 per key over 16 shards (a hash of the
 * id, like SHARDS), under DynamoDB's ~1,000 per key value; 8 would be 1,250. Reading an hour is
 * 60 x 16 = 960 keys, ten BatchGetItem calls of 100.
 */
export const ACTIVITY_SHARDS = 16;

/** The longest window GET /activity reads, and so how long a bucket must live. */
export const MAX_ACTIVITY_MINUTES = 180;

/** A bucket's TTL past its minute: the longest window, and an hour of margin. */
export const ACTIVITY_TTL_SECONDS = (MAX_ACTIVITY_MINUTES + 60) * 60;

/**
 * The histogram: bucket i holds times in [2^(i/4), 2^((i+1)/4)) ms (the first also below 1 ms,
 * the last everything from 2^(99/4) ms, about 7.8 h, up). A quantile is answered as its bucket's
 * geometric middle, so within 2^(1/8) - 1 (9.1%) of the true value, below the last bucket.
 */
export const HISTOGRAM_STEPS_PER_DOUBLING = 4;
export const HISTOGRAM_BUCKETS = 100;
export const QUANTILE_RELATIVE_ERROR = 2 ** (1 / (2 * HISTOGRAM_STEPS_PER_DOUBLING)) - 1;

export type EndedStatus = Outcome['status'];

/** One ending, as a bucket counts it. */
export interface ActivityEnding {
  endpointName: string;
  status: EndedStatus;
  /** The minute it ended in: `YYYY-MM-DDTHH:MM` (UTC). */
  minute: string;
  shard: number;
  /** Submit to result, for a COMPLETED job whose submit time is known. */
  toResultMs?: number;
}

/** A minute's counts, summed over shards (and endpoints, when read for several). */
export interface MinuteCounts {
  minute: string;
  completed: number;
  failed: number;
  cancelled: number;
  expired: number;
  /** Sparse: bucket index -> jobs. */
  histogram: Record<number, number>;
}

export function minuteOf(at: Date): string {
  return at.toISOString().slice(0, 16);
}

export function bucketOf(ms: number): number {
  if (!(ms >= 1)) return 0;
  const i = Math.floor(Math.log2(ms) * HISTOGRAM_STEPS_PER_DOUBLING);
  return Math.min(i, HISTOGRAM_BUCKETS - 1);
}

/** The value a bucket stands for: its geometric middle. */
export function bucketValue(i: number): number {
  return 2 ** ((i + 0.5) / HISTOGRAM_STEPS_PER_DOUBLING);
}

/** The q-quantile (0 < q <= 1) of a histogram, rounded to the ms; null when it is empty. */
export function quantile(histogram: Record<number, number>, q: number): number | null {
  const buckets = Object.entries(histogram)
    .map(([i, n]) => [Number(i), n] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [i, n] of buckets) {
    seen += n;
    if (seen >= rank) return Math.round(bucketValue(i));
  }
  return Math.round(bucketValue(buckets[buckets.length - 1]![0]));
}

/** What a terminal record counts; undefined for a record that is not terminal. */
export function endingOf(job: Job, now: Date): ActivityEnding | undefined {
  if (job.status === 'IN_PROGRESS' || !job.endpointName) return undefined;
  const ended = job.completedAt ? new Date(job.completedAt) : now;
  const at = Number.isNaN(ended.getTime()) ? now : ended;
  const submitted = job.submittedAt ? Date.parse(job.submittedAt) : NaN;
  const toResultMs =
    job.status === 'COMPLETED' && !Number.isNaN(submitted)
      ? Math.max(0, at.getTime() - submitted)
      : undefined;
  return {
    endpointName: job.endpointName,
    status: job.status,
    minute: minuteOf(at),
    shard: shardOf(job.inferenceId, ACTIVITY_SHARDS),
    toResultMs,
  };
}

/** The `count` whole minutes up to and including `now`'s, oldest first. */
export function windowOf(now: Date, count: number): string[] {
  const last = Math.floor(now.getTime() / 60_000);
  return Array.from({ length: count }, (_, k) =>
    minuteOf(new Date((last - count + 1 + k) * 60_000)),
  );
}

export function emptyMinute(minute: string): MinuteCounts {
  return { minute, completed: 0, failed: 0, cancelled: 0, expired: 0, histogram: {} };
}

/** Adds `b` into `a`. */
export function addInto(a: MinuteCounts, b: MinuteCounts): void {
  a.completed += b.completed;
  a.failed += b.failed;
  a.cancelled += b.cancelled;
  a.expired += b.expired;
  for (const [i, n] of Object.entries(b.histogram)) {
    a.histogram[Number(i)] = (a.histogram[Number(i)] ?? 0) + n;
  }
}

export function pointOf(m: MinuteCounts): ActivityMinute {
  return {
    at: `${m.minute}:00.000Z`,
    completed: m.completed,
    failed: m.failed,
    cancelled: m.cancelled,
    expired: m.expired,
    p50Ms: quantile(m.histogram, 0.5),
    p99Ms: quantile(m.histogram, 0.99),
  };
}
