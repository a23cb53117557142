import { UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Slot } from '../../domain/admission.ts';
import { slotKey } from './keys.ts';
import { batchGetItems, isConditionFailure, type Table } from './table.ts';

/*
 * The window's slots (docs/queue.md): one item per place, `\0slot\0<endpointName>\0<k>`, held
 * by the job handed to SageMaker in it. A slot is claimed and released with conditional writes,
 * so of two dispatchers racing one slot exactly one holds it, and only its holder frees it, once.
 * Each slot item is written twice per job that runs in it, and a window's slots are as many keys
 * as the window is wide: no hot key.
 */

/** Unprocessed keys (throttling) are asked for again, a few rounds at most. */
const BATCH_GET_ROUNDS = 8;

const HOLDER = { '#h': 'holder', '#t': 'tenant', '#s': 'since', '#l': 'lane', '#a': 'aged' };

function slotOf(index: number, item: Record<string, AttributeValue> | undefined): Slot {
  const inferenceId = item?.holder?.S;
  if (!inferenceId) return { index };
  const holder: NonNullable<Slot['holder']> = {
    inferenceId,
    tenant: item?.tenant?.S ?? '',
    since: item?.since?.S ?? '',
  };
  const lane = item?.lane?.S;
  if (lane === 'high' || lane === 'normal' || lane === 'low') holder.lane = lane;
  if (item?.aged?.BOOL !== undefined) holder.aged = item.aged.BOOL;
  return { index, holder };
}

/**
 * Slots 0..size-1, consistent (a slot just released is seen free), 100 keys a request. A slot
 * never written is free.
 */
export async function slots(t: Table, endpointName: string, size: number): Promise<Slot[]> {
  const keys = Array.from({ length: size }, (_, index) => slotKey(endpointName, index));
  const byId = new Map(
    (
      await batchGetItems(t, keys, { consistent: true, rounds: BATCH_GET_ROUNDS, what: 'slots' })
    ).map((item) => [item.inferenceId?.S as string, item]),
  );
  return keys.map((key, index) => slotOf(index, byId.get(key.inferenceId!.S as string)));
}

/** Free -> held by `holder`, once: false when someone holds it (another dispatcher won). */
export async function claimSlot(
  t: Table,
  endpointName: string,
  index: number,
  holder: NonNullable<Slot['holder']>,
): Promise<boolean> {
  // A free slot has no class: the release removes it with the holder.
  const set: [string, string, AttributeValue][] = [
    ['#h', 'holder', { S: holder.inferenceId }],
    ['#t', 'tenant', { S: holder.tenant }],
    ['#s', 'since', { S: holder.since }],
  ];
  if (holder.lane) set.push(['#l', 'lane', { S: holder.lane }]);
  if (holder.aged !== undefined) set.push(['#a', 'aged', { BOOL: holder.aged }]);
  try {
    await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: slotKey(endpointName, index),
        UpdateExpression: `SET ${set.map(([n]) => `${n} = :${n.slice(1)}`).join(', ')}`,
        // Strict: not even the same job may claim a held slot again, or a dispatcher whose
        // dispatch then lost would release the slot its winner runs in.
        ConditionExpression: 'attribute_not_exists(#h)',
        ExpressionAttributeNames: Object.fromEntries(set.map(([n, name]) => [n, name])),
        ExpressionAttributeValues: Object.fromEntries(set.map(([n, , v]) => [`:${n.slice(1)}`, v])),
      }),
    );
    return true;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return false;
  }
}

/** Held by `inferenceId` -> free, once: false when it was free or another job's. */
export async function releaseSlot(
  t: Table,
  endpointName: string,
  index: number,
  inferenceId: string,
): Promise<boolean> {
  try {
    await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: slotKey(endpointName, index),
        UpdateExpression: 'REMOVE #h, #t, #s, #l, #a',
        ConditionExpression: '#h = :h',
        ExpressionAttributeNames: HOLDER,
        ExpressionAttributeValues: { ':h': { S: inferenceId } },
      }),
    );
    return true;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return false;
  }
}
