import type { Job } from '../domain/jobs.ts';

/*
 * The long-poll of GET /jobs/{id}?wait=N: answer the moment the job is terminal, else after N
 * seconds with the current record. A Lambda cannot be told when DynamoDB changes (a stream
 * triggers another function, not this invocation), so it reads again on a schedule: quickly at
 * first (most jobs a caller waits on are about to finish), then once a second. Each read after the
 * first is eventually consistent: half a read unit for a record up to 4 KiB, and a terminal state
 * never regresses, so a stale read only delays the answer to the next read, never falsifies it.
 */

/** The pause before each re-read, in ms; the last one repeats. */
export const WAIT_SCHEDULE_MS = [250, 500, 1000] as const;

/**
 * Kept free at the end of the invocation for the last answer: getJob's timeout (29 s) less the
 * longest wait (20 s) leaves 9 s, of which the first read and the S3 check use the rest.
 */
export const WAIT_RESERVE_MS = 3000;

export interface WaitDeps {
  /** One read of the record (eventually consistent is enough). */
  read(): Promise<Job | undefined>;
  /** Milliseconds, monotonic enough for a deadline. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Lambda's context.getRemainingTimeInMillis: the wait never outlives the invocation. */
  remainingMs?(): number;
}

export const isTerminal = (job: Pick<Job, 'status'>): boolean => job.status !== 'IN_PROGRESS';

/**
 * Re-reads `job` on WAIT_SCHEDULE_MS until it is terminal or `waitMs` has passed (or the
 * invocation is about to end), and returns the last record read with how many reads it took.
 */
export async function waitForTerminal(
  job: Job,
  waitMs: number,
  deps: WaitDeps,
): Promise<{ job: Job; reads: number }> {
  const start = deps.now();
  const budget = Math.min(
    waitMs,
    deps.remainingMs ? deps.remainingMs() - WAIT_RESERVE_MS : Number.POSITIVE_INFINITY,
  );
  const deadline = start + Math.max(0, budget);
  let current = job;
  let reads = 0;
  for (let step = 0; !isTerminal(current); step++) {
    const left = deadline - deps.now();
    if (left <= 0) break;
    const pause = WAIT_SCHEDULE_MS[Math.min(step, WAIT_SCHEDULE_MS.length - 1)] as number;
    // The last pause is cut to the deadline, so the answer after N s carries a read made at N s.
    await deps.sleep(Math.min(pause, left));
    current = (await deps.read()) ?? current;
    reads++;
  }
  return { job: current, reads };
}

/** The most reads one wait of `waitMs` can make (what docs/api.md's read budget is built from). */
export function maxReads(waitMs: number): number {
  let t = 0;
  let n = 0;
  for (let step = 0; t < waitMs; step++) {
    t += WAIT_SCHEDULE_MS[Math.min(step, WAIT_SCHEDULE_MS.length - 1)] as number;
    n++;
  }
  return n;
}
