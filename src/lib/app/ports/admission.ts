import type {
  Lane,
  QueueSnapshot,
  Slot,
  TenantLane,
  WaitingEntry,
} from '../../domain/admission.ts';
import type { Job } from '../../domain/jobs.ts';

/*
 * The project's own queue in front of SageMaker's (docs/queue.md): the waiting index of the jobs
 * table read lane by lane, the window's slots, and the dispatcher's snapshot. A job enters and
 * leaves its lane through the job repository (claim with its lane fields; dispatch, requeue and
 * the CANCELLED/EXPIRED transitions), in the write that decides each race. Each conditional
 * method decides a race: of two callers exactly one is answered that it won. Production:
 * src/lib/adapters/store/ (DynamoDB); fake: test/support/fakes/admission.ts; both held to
 * test/contract/admission.contract.ts.
 */
export interface AdmissionQueue {
  /** The oldest waiting entries of one lane: up to `limit` per shard, merged oldest first. */
  heads(endpointName: string, lane: Lane, limit: number): Promise<WaitingEntry[]>;
  /**
   * The oldest waiting entries of one tenant in one lane (the by-tenant index): up to `limit`
   * per shard, merged oldest first.
   */
  tenantHeads(
    endpointName: string,
    lane: Lane,
    tenant: string,
    limit: number,
  ): Promise<WaitingEntry[]>;
  /** The registered tenant-lanes of an endpoint (one consistent read). */
  tenants(endpointName: string): Promise<TenantLane[]>;
  /**
   * Registers a tenant-lane at `at`; never moves a registration back (a later one stays).
   * Before the write that puts a job of it in the lane.
   */
  registerTenant(endpointName: string, lane: Lane, tenant: string, at: string): Promise<void>;
  /**
   * Forgets a tenant-lane, only while its registration is still `registeredAt` (the one read):
   * false when it was registered again meanwhile (or is gone).
   */
  forgetTenant(
    endpointName: string,
    lane: Lane,
    tenant: string,
    registeredAt: string,
  ): Promise<boolean>;
  /**
   * Waiting entries of one lane enqueued before `before` (a `waitSort`; all of them when absent),
   * reading at most `cap`: `exact` false when the cap was reached.
   */
  count(
    endpointName: string,
    lane: Lane,
    cap: number,
    before?: string,
  ): Promise<{ count: number; exact: boolean }>;
  /** Slots 0..size-1 of an endpoint's window, free ones included. */
  slots(endpointName: string, size: number): Promise<Slot[]>;
  /** Takes a free slot for a job; false when another holder has it. */
  claimSlot(
    endpointName: string,
    index: number,
    holder: NonNullable<Slot['holder']>,
  ): Promise<boolean>;
  /** Frees a slot held by `inferenceId`; false when it was not (already freed, or another's). */
  releaseSlot(endpointName: string, index: number, inferenceId: string): Promise<boolean>;
  snapshot(endpointName: string): Promise<QueueSnapshot | undefined>;
  saveSnapshot(snapshot: QueueSnapshot): Promise<void>;
}

/** What wakes the dispatcher (an SQS message in production); at least once, coalesced. */
export interface DispatchWake {
  wake(endpointName: string): Promise<void>;
}

/**
 * The job repository's side of queue control (implemented by the same adapter as
 * JobRepository). A job enters its lane with its claim: a claim carrying `priority`,
 * `queueDeadline` and the marker `enqueuedAt` (under admission) is written with the waiting index
 * keys (`waitKey`, `waitSort`), in the same write; or, when its input is stored after the claim,
 * with `enqueue` once it is. A record that entered a lane is never taken over or released.
 */
export interface AdmissionJobs {
  /**
   * Claimed -> waiting in its lane, once, for a submit that stores the input after its claim (a
   * claim marked `enqueuedAt` would be in its lane, so dispatchable, before its input exists):
   * only this claim (its claimToken, endpointName and priority), never queued, not yet in a lane,
   * not cancel-requested. A repeat of the same call is its own (true).
   */
  enqueue(claim: Job, enqueuedAt: string): Promise<boolean>;
  /**
   * Waiting -> handed to SageMaker, once: only while the job is in its lane, not
   * cancel-requested and `at` is before its queueDeadline. Leaves the lane (REMOVE waitKey), sets
   * `dispatchedAt` = at, `slot` and `leaseUntil` (no request of this dispatch reaches SageMaker
   * after it). Answers the record after it, or as found when refused.
   */
  dispatch(
    inferenceId: string,
    d: { slot: number; at: string; leaseUntil: string },
  ): Promise<{ dispatched: boolean; job?: Job }>;
  /**
   * Handed but never queued -> back in its lane at its old place (its original waitSort), once:
   * only while `dispatchedAt` is still `dispatchedAt` and no output location was recorded.
   */
  requeue(inferenceId: string, dispatchedAt: string): Promise<boolean>;
  /**
   * An IN_PROGRESS job no longer in its lane (handed to SageMaker, or admission off) is marked
   * `cancelRequested`; its ending becomes CANCELLED (Outcome.from 'cancelRequested'). Answers the
   * record after it, or as found when refused (waiting, terminal or unknown).
   */
  requestCancel(inferenceId: string, at: string): Promise<{ requested: boolean; job?: Job }>;
}
