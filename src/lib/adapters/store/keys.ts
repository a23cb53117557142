import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/*
 * The jobs table's key space (docs/store.md lists every item type). The partition key is
 * `inferenceId`; a job's record is under its id, and every other item is under a key that starts
 * with NUL: ids are printable ASCII (ANY_INFERENCE_ID), so no id can ever take one of these keys.
 * None of these other items carries a `shardKey`, so none enters the jobs index.
 */

export type Key = Record<string, AttributeValue>;

const ANNOUNCED = '\u0000announced\u0000';
const RECONCILE_CURSOR = '\u0000reconcile';
const BATCH = '\u0000batch\u0000';
const SLOT = '\u0000slot\u0000';
const QUEUE = '\u0000queue\u0000';
const ACTIVITY = '\u0000activity\u0000';
const TENANTS = '\u0000tenants\u0000';

/** A job's record: the item GET /jobs/{id} answers. */
export function recordKey(inferenceId: string): Key {
  return { inferenceId: { S: inferenceId } };
}

/** The marker that a job's outcome event was sent: an item of its own, never the record. */
export function announcedKey(inferenceId: string): Key {
  return { inferenceId: { S: `${ANNOUNCED}${inferenceId}` } };
}

/** Reconcile's cursor: one item for the whole table. */
export function reconcileCursorKey(): Key {
  return { inferenceId: { S: RECONCILE_CURSOR } };
}

/** A batch's header. */
export function batchKey(batchId: string): Key {
  return { inferenceId: { S: `${BATCH}${batchId}` } };
}

/** One block's counters of a batch. */
export function blockKey(batchId: string, block: number): Key {
  return { inferenceId: { S: `${BATCH}${batchId}#${block}` } };
}

/** The inferenceIds a block's lines gave themselves. */
export function blockIdsKey(batchId: string, block: number): Key {
  return { inferenceId: { S: `${BATCH}${batchId}#${block}#ids` } };
}

/** One slot of an endpoint's window (store/slots.ts). */
export function slotKey(endpointName: string, index: number): Key {
  return { inferenceId: { S: `${SLOT}${endpointName}\u0000${index}` } };
}

/** The dispatcher's last snapshot of an endpoint's queue (store/queue-snapshot.ts). */
export function queueSnapshotKey(endpointName: string): Key {
  return { inferenceId: { S: `${QUEUE}${endpointName}` } };
}

/** One part of the registry of an endpoint's tenant-lanes (store/tenant-registry.ts). */
export function tenantsKey(endpointName: string, part: number): Key {
  return { inferenceId: { S: `${TENANTS}${endpointName}\u0000${part}` } };
}

/** One shard of an endpoint's activity bucket for a minute (store/activity.ts). */
export function activityKey(endpointName: string, minute: string, shard: number): Key {
  return { inferenceId: { S: `${ACTIVITY}${endpointName}\u0000${minute}\u0000${shard}` } };
}
