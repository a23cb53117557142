import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IndexEntry, Job, JobStatus, Outcome, Transition } from '../domain/jobs.ts';
import type { TaskCallback } from '../domain/task-callback.ts';
import type { ActivityLog } from '../app/ports/activity.ts';
import { activityLog } from './store/activity.ts';
import { announced, markAnnounced } from './store/announcements.ts';
import { takeAttempt } from './store/attempts.ts';
import { dispatch, enqueue, requestCancel, requeue } from './store/job-admission.ts';
import { claim, release, takeOver } from './store/job-claims.ts';
import { entries, listByStatus } from './store/job-listing.ts';
import { markChecked, markQueued, readRecord, readRecords } from './store/job-records.ts';
import { transition } from './store/job-transitions.ts';
import { readCursor, saveCursor } from './store/reconcile-cursor.ts';
import { settleCallback } from './store/task-callbacks.ts';
import type { Table } from './store/table.ts';

/**
 * The jobs table as the use cases see it: one object over the modules of src/lib/adapters/store/,
 * each owning one kind of item or one state change (docs/store.md has the whole key space). The
 * state machine IN_PROGRESS -> COMPLETED | FAILED | CANCELLED | EXPIRED, and a job's way through
 * its lane (AdmissionJobs), are enforced by DynamoDB's conditions.
 */
export class JobStore {
  private readonly t: Table;

  constructor(client: DynamoDBClient, table: string) {
    this.t = { client, name: table };
  }

  /** The activity buckets (store/activity.ts), in the same table through the same client. */
  activity(): ActivityLog {
    return activityLog(this.t);
  }

  /** The record, consistent. */
  get(inferenceId: string): Promise<Job | undefined> {
    return readRecord(this.t, inferenceId);
  }

  /** The record, eventually consistent (getJob's `?wait=` re-reads). */
  peek(inferenceId: string): Promise<Job | undefined> {
    return readRecord(this.t, inferenceId, false);
  }

  getMany(ids: string[]): Promise<Job[]> {
    return readRecords(this.t, ids);
  }

  claim(job: Job): Promise<Job | undefined> {
    return claim(this.t, job);
  }

  takeOver(
    claimed: Job,
    staleToken: string,
  ): Promise<{ taken: true } | { taken: false; current?: Job }> {
    return takeOver(this.t, claimed, staleToken);
  }

  release(inferenceId: string, claimToken: string): Promise<boolean> {
    return release(this.t, inferenceId, claimToken);
  }

  markQueued(
    inferenceId: string,
    locations: { outputLocation?: string; failureLocation?: string },
  ): Promise<Job> {
    return markQueued(this.t, inferenceId, locations);
  }

  markChecked(inferenceId: string, at: string): Promise<void> {
    return markChecked(this.t, inferenceId, at);
  }

  transition(inferenceId: string, outcome: Outcome): Promise<Transition> {
    return transition(this.t, inferenceId, outcome);
  }

  entries(key: string, from?: string, to?: string, pageSize?: number): AsyncGenerator<IndexEntry> {
    return entries(this.t, key, from, to, pageSize);
  }

  listByStatus(
    status: JobStatus,
    limit: number,
    startKey?: Record<string, unknown>,
    owner?: string,
  ): Promise<{ jobs: Job[]; next?: Record<string, unknown> }> {
    return listByStatus(this.t, status, limit, startKey, owner);
  }

  reconcileCursor(): Promise<Record<string, string>> {
    return readCursor(this.t);
  }

  saveReconcileCursor(done: Record<string, string>): Promise<void> {
    return saveCursor(this.t, done);
  }

  markAnnounced(inferenceId: string, at: string, expires?: number): Promise<void> {
    return markAnnounced(this.t, inferenceId, at, expires);
  }

  announced(inferenceId: string): Promise<boolean> {
    return announced(this.t, inferenceId);
  }

  takeAttempt(baseId: string, from: number, to: number, retriedBy: string): Promise<boolean> {
    return takeAttempt(this.t, baseId, from, to, retriedBy);
  }

  settleCallback(inferenceId: string, callback: TaskCallback): Promise<boolean> {
    return settleCallback(this.t, inferenceId, callback);
  }

  enqueue(claim: Job, enqueuedAt: string): Promise<boolean> {
    return enqueue(this.t, claim, enqueuedAt);
  }

  dispatch(
    inferenceId: string,
    d: { slot: number; at: string; leaseUntil: string },
  ): Promise<{ dispatched: boolean; job?: Job }> {
    return dispatch(this.t, inferenceId, d);
  }

  requeue(inferenceId: string, dispatchedAt: string): Promise<boolean> {
    return requeue(this.t, inferenceId, dispatchedAt);
  }

  requestCancel(inferenceId: string, at: string): Promise<{ requested: boolean; job?: Job }> {
    return requestCancel(this.t, inferenceId, at);
  }
}
