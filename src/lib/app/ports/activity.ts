import type { ActivityEnding, MinuteCounts } from '../../domain/activity.ts';

/*
 * The per-minute activity buckets (src/lib/domain/activity.ts): counted once per ending, read a
 * window at a time. Production: src/lib/adapters/store/activity.ts (DynamoDB, in the jobs table);
 * fake: test/support/fakes/activity.ts; both held to test/contract/activity.contract.ts.
 */
export interface ActivityLog {
  /** Adds one ending to its bucket. Not idempotent: the caller counts each ending once. */
  count(ending: ActivityEnding): Promise<void>;
  /**
   * The given minutes (`YYYY-MM-DDTHH:MM`), in that order, each summed over its shards and over
   * `endpointNames`; a minute nothing ended in is all zeros.
   */
  read(endpointNames: readonly string[], minutes: readonly string[]): Promise<MinuteCounts[]>;
}
