import { UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  ACTIVITY_SHARDS,
  ACTIVITY_TTL_SECONDS,
  addInto,
  bucketOf,
  emptyMinute,
  type ActivityEnding,
  type MinuteCounts,
} from '../../domain/activity.ts';
import type { ActivityLog } from '../../app/ports/activity.ts';
import { activityKey, type Key } from './keys.ts';
import { batchGetItems, type Table } from './table.ts';

/*
 * The activity buckets (docs/store.md): `\0activity\0<endpoint>\0<minute>\0<shard>`, counters
 * `c` `f` `x` `e` (completed, failed, cancelled, expired) and `h<i>` (histogram bucket i), each
 * created by its first ADD. Short names keep a full bucket (100 histogram attributes) under
 * 1 KiB, one write unit per ADD.
 */

const STATUS_ATTRIBUTE = { COMPLETED: 'c', FAILED: 'f', CANCELLED: 'x', EXPIRED: 'e' } as const;

/** Rounds of UnprocessedKeys before the read fails rather than answer a partial count. */
const UNPROCESSED_ROUNDS = 5;

export async function countEnding(t: Table, ending: ActivityEnding): Promise<void> {
  const names: Record<string, string> = {
    '#s': STATUS_ATTRIBUTE[ending.status],
    '#t': 'expiresAt',
  };
  const values: Record<string, AttributeValue> = {
    ':one': { N: '1' },
    ':ttl': {
      N: String(Math.floor(Date.parse(`${ending.minute}:00Z`) / 1000) + ACTIVITY_TTL_SECONDS),
    },
  };
  let add = '#s :one';
  if (ending.toResultMs !== undefined) {
    names['#h'] = `h${bucketOf(ending.toResultMs)}`;
    add += ', #h :one';
  }
  await t.client.send(
    new UpdateItemCommand({
      TableName: t.name,
      Key: activityKey(ending.endpointName, ending.minute, ending.shard),
      UpdateExpression: `ADD ${add} SET #t = if_not_exists(#t, :ttl)`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

function countsOf(item: Record<string, AttributeValue>): Omit<MinuteCounts, 'minute'> {
  const n = (name: string) => Number(item[name]?.N ?? 0);
  const histogram: Record<number, number> = {};
  for (const [name, value] of Object.entries(item)) {
    if (/^h\d+$/.test(name) && value.N !== undefined)
      histogram[Number(name.slice(1))] = Number(value.N);
  }
  return { completed: n('c'), failed: n('f'), cancelled: n('x'), expired: n('e'), histogram };
}

export async function readMinutes(
  t: Table,
  endpointNames: readonly string[],
  minutes: readonly string[],
): Promise<MinuteCounts[]> {
  const byMinute = new Map(minutes.map((m) => [m, emptyMinute(m)]));
  const keys: Key[] = [];
  const minuteOfKey = new Map<string, string>();
  for (const endpointName of endpointNames) {
    for (const minute of minutes) {
      for (let shard = 0; shard < ACTIVITY_SHARDS; shard++) {
        const key = activityKey(endpointName, minute, shard);
        keys.push(key);
        minuteOfKey.set(key.inferenceId!.S!, minute);
      }
    }
  }
  const items = await batchGetItems(t, keys, { rounds: UNPROCESSED_ROUNDS, what: 'activity read' });
  for (const item of items) {
    const minute = minuteOfKey.get(item.inferenceId?.S ?? '');
    const into = minute === undefined ? undefined : byMinute.get(minute);
    if (into) addInto(into, { minute: into.minute, ...countsOf(item) });
  }
  return minutes.map((m) => byMinute.get(m)!);
}

/** The ActivityLog port over the jobs table. */
export function activityLog(t: Table): ActivityLog {
  return {
    count: (ending) => countEnding(t, ending),
    read: (endpointNames, minutes) => readMinutes(t, endpointNames, minutes),
  };
}
