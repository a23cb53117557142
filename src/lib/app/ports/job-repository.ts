import type { IndexEntry, Job, Outcome, Transition } from '../../domain/jobs.ts';
import type { TaskCallback } from '../../domain/task-callback.ts';

/*
 * The job records and their state machine, as the use cases need them: (none) -> IN_PROGRESS
 * (claim), a dead claim taken over or released, IN_PROGRESS -> COMPLETED | FAILED (transition),
 * and the small items beside the records (announcement markers, reconcile's cursor). Each
 * conditional method decides a race: of two callers exactly one is answered that it won.
 * Production: src/lib/adapters/job-store.ts (DynamoDB); fake: test/support/fakes/job-repository.ts;
 * both held to test/contract/job-repository.contract.ts.
 */
export interface JobRepository {
  /** The record, strongly consistent; undefined when there is none. */
  get(inferenceId: string): Promise<Job | undefined>;
  /** Records by id, eventually consistent; ids without a record are left out. */
  getMany(ids: string[]): Promise<Job[]>;
  /** The record, eventually consistent (getJob's `?wait=` re-reads). */
  peek(inferenceId: string): Promise<Job | undefined>;
  /** (none) -> IN_PROGRESS: undefined when this claim holds the id, else the record there. */
  claim(job: Job): Promise<Job | undefined>;
  /** Fills in where SageMaker will write (never replaces a location, never the status). */
  markQueued(
    inferenceId: string,
    locations: { outputLocation?: string; failureLocation?: string },
  ): Promise<Job>;
  /** A dead claim (IN_PROGRESS, never queued, token `staleToken`) replaced by `claim`, once. */
  takeOver(
    claim: Job,
    staleToken: string,
  ): Promise<{ taken: true } | { taken: false; current?: Job }>;
  /** Removes an untouched claim of `claimToken`; answers whether this call removed it. */
  release(inferenceId: string, claimToken: string): Promise<boolean>;
  /** IN_PROGRESS (or none) -> terminal, once; answers the record after it, or as found. */
  transition(inferenceId: string, outcome: Outcome): Promise<Transition>;
  /** getJob looked in S3 and found nothing yet (only while IN_PROGRESS). */
  markChecked(inferenceId: string, at: string): Promise<void>;
  /** Index entries of one shard key with `from <= submittedAt < to`, oldest first. */
  entries(key: string, from?: string, to?: string, pageSize?: number): AsyncIterable<IndexEntry>;
  reconcileCursor(): Promise<Record<string, string>>;
  saveReconcileCursor(done: Record<string, string>): Promise<void>;
  /** The outcome event of the job was accepted by the bus (a marker expiring with the job). */
  markAnnounced(inferenceId: string, at: string, expires?: number): Promise<void>;
  announced(inferenceId: string): Promise<boolean>;
  /** The original's latest attempt `from` -> `to`, once; false when another retry won. */
  takeAttempt(baseId: string, from: number, to: number, retriedBy: string): Promise<boolean>;
  /** The task callback PENDING -> settled (its token dropped), once. */
  settleCallback(inferenceId: string, callback: TaskCallback): Promise<boolean>;
}
