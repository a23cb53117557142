/*
 * Queue control in front of SageMaker's own queue (docs/queue.md): jobs wait in the project's
 * lanes and a dispatcher hands SageMaker only what its instances can run soon (the window). Only
 * what has not reached SageMaker can be reordered, expired or cancelled for free. Types and pure
 * rules only; the waiting index and the slots are the store's (src/lib/adapters/store/), the
 * rounds are the use cases' (src/lib/app/).
 */

import type { EndpointQueue, JobQueuePosition, QueueLane } from './wire.ts';

/** Strict priority lanes, most urgent first (the wire's QueueLane: one definition). */
export type Lane = QueueLane;
export const LANES: readonly Lane[] = ['high', 'normal', 'low'];

/** `maxQueueSeconds`: the default, and the bounds (SageMaker's RequestTTLSeconds ceiling). */
export const DEFAULT_MAX_QUEUE_SECONDS = 600;
export const MIN_MAX_QUEUE_SECONDS = 10;
export const MAX_MAX_QUEUE_SECONDS = 21_600;

/** The tenant of a job submitted without one (and not in owner mode). */
export const DEFAULT_TENANT = 'default';
export const TENANT_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Position answers read at most this many index entries, whatever the queue's depth. */
export const POSITION_CAP = 1_000;

/** A tenant's share: its weight within a lane and, optionally, its cap on jobs in flight. */
export interface TenantQuota {
  weight: number;
  maxInFlight?: number;
}

/** One waiting job as the waiting index holds it (the keys plus what it projects). */
export interface WaitingEntry {
  inferenceId: string;
  endpointName: string;
  lane: Lane;
  tenant: string;
  /** When it entered its lane (ISO-8601): the lane's order, and aging's clock. */
  enqueuedAt: string;
  /** After it, the job is never handed to SageMaker (ISO-8601). */
  queueDeadline: string;
}

/**
 * A tenant-lane the dispatcher reads (the registry, docs/queue.md "Fair shares"): a submit
 * registers its (endpoint, lane, tenant) before its claim, a requeue before it puts a job back.
 */
export interface TenantLane {
  lane: Lane;
  tenant: string;
  /** The last registration (ISO-8601). */
  registeredAt: string;
}

/** A process writes a registration again once its own is this old (its cache skips it before). */
export const REGISTER_REFRESH_SECONDS = 300;
/**
 * The dispatcher forgets a tenant-lane whose heads came back empty only once its registration is
 * this old: longer than REGISTER_REFRESH_SECONDS plus the index's lag and the clocks' skew, so a
 * process that skipped its write (its cache fresh) registered recently enough never to be
 * forgotten before its job is seen.
 */
export const FORGET_SECONDS = 900;

/** One place in the window: free, or held by a job handed to SageMaker. */
export interface Slot {
  index: number;
  holder?: {
    inferenceId: string;
    tenant: string;
    since: string;
    /** The lane it was handed over in, and whether aging had moved it there (pickFair's classes). */
    lane?: Lane;
    aged?: boolean;
  };
}

/** Where a waiting job stands (GET /jobs/{id} while waiting): the wire's, one definition. */
export type QueuePosition = JobQueuePosition;

/** What the dispatcher saw on its last round for one endpoint (GET /queue): the wire's. */
export type QueueSnapshot = EndpointQueue;
