import type { AdmissionJobs } from '../../../src/lib/app/ports/admission.ts';
import type { JobRepository } from '../../../src/lib/app/ports/job-repository.ts';
import {
  shardKey,
  tenantWaitKeyOf,
  waitKeyOf,
  waitSortOf,
  waitingKeys,
  waitingTenantOf,
  type IndexEntry,
  type Job,
  type Outcome,
  type Transition,
} from '../../../src/lib/domain/jobs.ts';
import type { TaskCallback } from '../../../src/lib/domain/task-callback.ts';

/*
 * The JobRepository port (and queue control's AdmissionJobs) in memory, with the conditions of the
 * DynamoDB adapter (src/lib/adapters/job-store.ts) as plain checks: held to the same contract
 * suites (test/contract/job-repository.contract.ts, admission.contract.ts) against dynalite, so a
 * use-case test on this fake sees what the table would do. Records are copied in and out, as a
 * wire would. The waiting indexes are the records' `waitKey`/`tenantWaitKey`/`waitSort`
 * (FakeAdmissionQueue reads them, as the indexes would).
 */

type Method = keyof JobRepository | keyof AdmissionJobs;

/** What a CANCELLED job never keeps (job-transitions.ts). */
const RESULT_FIELDS = ['result', 'resultEncoding', 'resultBytes', 'outputContentType'] as const;

const copy = <T>(value: T): T => structuredClone(value);

/** Stored as DynamoDB stores it: undefined attributes are not kept. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export class FakeJobRepository implements JobRepository, AdmissionJobs {
  readonly records = new Map<string, Job>();
  readonly markers = new Map<string, { announcedAt: string; expiresAt?: number }>();
  cursor: Record<string, string> = {};
  /** Every call, by method name, in order. */
  readonly calls: Method[] = [];
  /** A fault: the next calls of `method` throw what `failWith` returns (undefined: no fault). */
  private readonly faults = new Map<Method, () => unknown>();

  constructor(jobs: Job[] = []) {
    for (const job of jobs) this.put(job);
  }

  /** A record as if written before the test (its index key included). */
  put(job: Job): void {
    this.records.set(
      job.inferenceId,
      defined({
        ...waitingKeys(job),
        ...copy(job),
        shardKey: job.shardKey ?? shardKey(job.status, job.inferenceId),
      }),
    );
  }

  /** Calls of `method` throw `err()` until `heal(method)`. */
  fail(method: Method, err: () => unknown = () => new Error(`${method} failed`)): this {
    this.faults.set(method, err);
    return this;
  }

  heal(method: Method): this {
    this.faults.delete(method);
    return this;
  }

  count(method: Method): number {
    return this.calls.filter((m) => m === method).length;
  }

  private enter(method: Method): void {
    this.calls.push(method);
    const fault = this.faults.get(method);
    if (fault) throw fault();
  }

  private read(inferenceId: string): Job | undefined {
    const job = this.records.get(inferenceId);
    return job ? copy(job) : undefined;
  }

  async get(inferenceId: string): Promise<Job | undefined> {
    this.enter('get');
    return this.read(inferenceId);
  }

  async peek(inferenceId: string): Promise<Job | undefined> {
    this.enter('peek');
    return this.read(inferenceId);
  }

  async getMany(ids: string[]): Promise<Job[]> {
    this.enter('getMany');
    return ids.flatMap((id) => {
      const job = this.read(id);
      return job ? [job] : [];
    });
  }

  async claim(job: Job): Promise<Job | undefined> {
    this.enter('claim');
    const existing = this.read(job.inferenceId);
    if (!existing) {
      this.records.set(job.inferenceId, claimed(job));
      return undefined;
    }
    if (existing.claimToken !== undefined && existing.claimToken === job.claimToken)
      return undefined;
    return existing;
  }

  async markQueued(
    inferenceId: string,
    locations: { outputLocation?: string; failureLocation?: string },
  ): Promise<Job> {
    this.enter('markQueued');
    const job = this.records.get(inferenceId);
    const given = Object.entries(locations).filter(([, v]) => v);
    if (given.length === 0) return this.read(inferenceId) as Job;
    if (!job) throw conditionFailed();
    for (const [k, v] of given) {
      const field = k as 'outputLocation' | 'failureLocation';
      job[field] ??= v;
    }
    return copy(job);
  }

  private unqueuedClaimOf(job: Job | undefined, token: string): boolean {
    return (
      job !== undefined &&
      job.status === 'IN_PROGRESS' &&
      job.claimToken === token &&
      job.outputLocation === undefined &&
      job.enqueuedAt === undefined
    );
  }

  async takeOver(
    claim: Job,
    staleToken: string,
  ): Promise<{ taken: true } | { taken: false; current?: Job }> {
    this.enter('takeOver');
    const current = this.read(claim.inferenceId);
    if (this.unqueuedClaimOf(current, staleToken)) {
      this.records.set(claim.inferenceId, claimed(claim));
      return { taken: true };
    }
    if (current?.claimToken !== undefined && current.claimToken === claim.claimToken) {
      return { taken: true };
    }
    return { taken: false, current };
  }

  async release(inferenceId: string, claimToken: string): Promise<boolean> {
    this.enter('release');
    if (!this.unqueuedClaimOf(this.records.get(inferenceId), claimToken)) return false;
    this.records.delete(inferenceId);
    return true;
  }

  async transition(inferenceId: string, outcome: Outcome): Promise<Transition> {
    this.enter('transition');
    const existing = this.records.get(inferenceId);
    const holds =
      outcome.from === 'waiting'
        ? existing?.status === 'IN_PROGRESS' && existing.waitKey !== undefined
        : outcome.from === 'cancelRequested'
          ? existing?.status === 'IN_PROGRESS' && existing.cancelRequested === true
          : existing === undefined ||
            (existing.status === 'IN_PROGRESS' &&
              existing.waitKey === undefined &&
              existing.cancelRequested === undefined);
    if (!holds) return { applied: false, job: existing ? copy(existing) : undefined };
    const {
      endpointName,
      inputLocation,
      inputContentType,
      receivedAt,
      expiresAt,
      from,
      ...terminal
    } = outcome;
    if (outcome.status === 'CANCELLED') for (const f of RESULT_FIELDS) delete terminal[f];
    const job: Job = existing ?? ({ inferenceId } as Job);
    Object.assign(job, defined(terminal));
    if (from === 'waiting') {
      delete job.waitKey;
      delete job.tenantWaitKey;
    }
    job.shardKey = shardKey(outcome.status, inferenceId);
    if (endpointName !== undefined) job.endpointName ??= endpointName;
    if (inputLocation !== undefined) job.inputLocation ??= inputLocation;
    if (inputContentType !== undefined) job.inputContentType ??= inputContentType;
    if (receivedAt !== undefined) job.submittedAt ??= receivedAt;
    if (expiresAt !== undefined) job.expiresAt ??= expiresAt;
    this.records.set(inferenceId, job);
    return { applied: true, job: copy(job) };
  }

  async markChecked(inferenceId: string, at: string): Promise<void> {
    this.enter('markChecked');
    const job = this.records.get(inferenceId);
    if (job?.status === 'IN_PROGRESS') job.checkedAt = at;
  }

  async *entries(key: string, from?: string, to?: string): AsyncGenerator<IndexEntry> {
    this.enter('entries');
    const found = [...this.records.values()]
      .filter(
        (j) =>
          j.shardKey === key &&
          j.submittedAt !== undefined &&
          (from === undefined || j.submittedAt >= from) &&
          (to === undefined || j.submittedAt < to),
      )
      .sort((a, b) =>
        a.submittedAt === b.submittedAt
          ? a.inferenceId < b.inferenceId
            ? -1
            : 1
          : (a.submittedAt as string) < (b.submittedAt as string)
            ? -1
            : 1,
      );
    for (const j of found) {
      yield defined({
        inferenceId: j.inferenceId,
        submittedAt: j.submittedAt,
        shardKey: j.shardKey,
        owner: j.owner,
      });
    }
  }

  async reconcileCursor(): Promise<Record<string, string>> {
    this.enter('reconcileCursor');
    return copy(this.cursor);
  }

  async saveReconcileCursor(done: Record<string, string>): Promise<void> {
    this.enter('saveReconcileCursor');
    this.cursor = copy(done);
  }

  async markAnnounced(inferenceId: string, at: string, expires?: number): Promise<void> {
    this.enter('markAnnounced');
    this.markers.set(inferenceId, defined({ announcedAt: at, expiresAt: expires }));
  }

  async announced(inferenceId: string): Promise<boolean> {
    this.enter('announced');
    return this.markers.has(inferenceId);
  }

  async takeAttempt(baseId: string, from: number, to: number, retriedBy: string): Promise<boolean> {
    this.enter('takeAttempt');
    const job = this.records.get(baseId);
    const holds =
      from === 1
        ? job !== undefined && (job.attempts === undefined || job.attempts === from)
        : job?.attempts === from;
    if (!holds || !job) return false;
    job.attempts = to;
    job.retriedBy = retriedBy;
    return true;
  }

  async settleCallback(inferenceId: string, callback: TaskCallback): Promise<boolean> {
    this.enter('settleCallback');
    const job = this.records.get(inferenceId);
    if (job?.taskCallback?.status !== 'PENDING') return false;
    job.taskCallback = defined(copy(callback));
    delete job.taskToken;
    return true;
  }

  async enqueue(claim: Job, enqueuedAt: string): Promise<boolean> {
    this.enter('enqueue');
    const { inferenceId, endpointName, priority, claimToken } = claim;
    if (!endpointName || !priority || !claimToken) {
      throw new Error('enqueue needs the claim as written: endpointName, priority, claimToken');
    }
    const job = this.records.get(inferenceId);
    if (
      job?.status !== 'IN_PROGRESS' ||
      job.claimToken !== claimToken ||
      job.endpointName !== endpointName ||
      job.priority !== priority ||
      job.queueDeadline === undefined ||
      job.enqueuedAt !== undefined ||
      job.outputLocation !== undefined ||
      job.cancelRequested !== undefined
    ) {
      return job?.claimToken === claimToken && job.enqueuedAt === enqueuedAt;
    }
    job.enqueuedAt = enqueuedAt;
    job.waitKey = waitKeyOf(endpointName, priority, inferenceId);
    job.waitSort = waitSortOf(enqueuedAt, inferenceId);
    job.tenantWaitKey = tenantWaitKeyOf(endpointName, priority, waitingTenantOf(job), inferenceId);
    return true;
  }

  async dispatch(
    inferenceId: string,
    d: { slot: number; at: string; leaseUntil: string },
  ): Promise<{ dispatched: boolean; job?: Job }> {
    this.enter('dispatch');
    const job = this.records.get(inferenceId);
    if (
      job?.status !== 'IN_PROGRESS' ||
      job.waitKey === undefined ||
      job.cancelRequested !== undefined ||
      job.queueDeadline === undefined ||
      !(job.queueDeadline > d.at)
    ) {
      return { dispatched: false, job: job ? copy(job) : undefined };
    }
    delete job.waitKey;
    delete job.tenantWaitKey;
    Object.assign(job, { dispatchedAt: d.at, slot: d.slot, leaseUntil: d.leaseUntil });
    return { dispatched: true, job: copy(job) };
  }

  async requeue(inferenceId: string, dispatchedAt: string): Promise<boolean> {
    this.enter('requeue');
    const job = this.records.get(inferenceId);
    if (
      job?.status !== 'IN_PROGRESS' ||
      !job.endpointName ||
      !job.priority ||
      !job.waitSort ||
      job.waitKey !== undefined ||
      job.dispatchedAt !== dispatchedAt ||
      job.outputLocation !== undefined ||
      job.cancelRequested !== undefined
    ) {
      return false;
    }
    job.waitKey = waitKeyOf(job.endpointName, job.priority, inferenceId);
    job.tenantWaitKey = tenantWaitKeyOf(
      job.endpointName,
      job.priority,
      waitingTenantOf(job),
      inferenceId,
    );
    delete job.dispatchedAt;
    delete job.slot;
    return true;
  }

  async requestCancel(inferenceId: string, at: string): Promise<{ requested: boolean; job?: Job }> {
    this.enter('requestCancel');
    const job = this.records.get(inferenceId);
    if (
      job?.status !== 'IN_PROGRESS' ||
      job.waitKey !== undefined ||
      job.cancelRequested !== undefined
    ) {
      return { requested: false, job: job ? copy(job) : undefined };
    }
    job.cancelRequested = true;
    job.cancelRequestedAt = at;
    return { requested: true, job: copy(job) };
  }
}

/** A claim as the adapter writes it: its index key, and its lane's keys when it waits. */
function claimed(job: Job): Job {
  return defined({
    ...copy(job),
    shardKey: shardKey(job.status, job.inferenceId),
    ...waitingKeys(job),
  });
}

/** What the adapter lets through from DynamoDB when a condition it does not expect fails. */
function conditionFailed(): Error {
  return Object.assign(new Error('The conditional request failed'), {
    name: 'ConditionalCheckFailedException',
  });
}
