import {
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { BatchBlock, LineStatus } from '../../domain/batch-blocks.ts';
import { blockIdsKey, blockKey } from './keys.ts';
import { numbers, type Table } from './table.ts';

/*
 * A batch's blocks of lines: `\0batch\0<batchId>#<block>` holds one number set of line numbers
 * per status, `...#<block>#ids` the inferenceIds lines gave themselves (others are derived).
 * Counting is exact under any repetition because every count is the size of a set and adding a
 * line to a set twice changes nothing: no per-job marker, no transaction, and a crash between two
 * writes is repaired by the retry that makes the same writes again.
 */

function toBlock(item: Record<string, AttributeValue> | undefined): BatchBlock {
  const raw = item ? (unmarshall(item) as Record<string, unknown>) : {};
  const reasons: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (/^r\d+$/.test(k) && typeof v === 'string') reasons[k.slice(1)] = v;
  }
  return {
    // Not yet opened: unknown, so never "done".
    expected: typeof raw.expected === 'number' ? raw.expected : Number.POSITIVE_INFINITY,
    submitted: numbers(raw.submitted),
    completed: numbers(raw.completed),
    failed: numbers(raw.failed),
    cancelled: numbers(raw.cancelled),
    expired: numbers(raw.expired),
    refused: numbers(raw.refused),
    reasons,
  };
}

/**
 * A block is opened before any of its lines is queued: its expected count (and the ids its
 * lines gave) are known before an outcome can be counted into it. Idempotent: a retried
 * expansion writes the same values.
 */
export async function openBlock(
  t: Table,
  batchId: string,
  block: number,
  expected: number,
  ids: Record<string, string>,
  expiresAt: number,
): Promise<void> {
  if (Object.keys(ids).length > 0) {
    await t.client.send(
      new PutItemCommand({
        TableName: t.name,
        Item: {
          ...blockIdsKey(batchId, block),
          ids: { M: marshall(ids) },
          expiresAt: { N: String(expiresAt) },
        },
      }),
    );
  }
  await t.client.send(
    new UpdateItemCommand({
      TableName: t.name,
      Key: blockKey(batchId, block),
      UpdateExpression: 'SET expected = :n, expiresAt = :x',
      ExpressionAttributeValues: {
        ':n': { N: String(expected) },
        ':x': { N: String(expiresAt) },
      },
    }),
  );
}

export async function blockIds(
  t: Table,
  batchId: string,
  block: number,
): Promise<Record<string, string>> {
  const res = await t.client.send(
    new GetItemCommand({ TableName: t.name, Key: blockIdsKey(batchId, block) }),
  );
  const ids = res.Item?.ids?.M;
  return ids ? (unmarshall(ids) as Record<string, string>) : {};
}

/**
 * Adds a line to one status set of its block (ADD to a set: a repeat is a no-op) and answers
 * the block after it. A refused line keeps its reason in an attribute of its own.
 */
export async function addLine(
  t: Table,
  batchId: string,
  block: number,
  line: number,
  status: LineStatus,
  reason?: string,
): Promise<BatchBlock> {
  const names: Record<string, string> = { '#s': status };
  const values: Record<string, AttributeValue> = { ':l': { NS: [String(line)] } };
  let update = 'ADD #s :l';
  if (reason !== undefined) {
    names['#r'] = `r${line}`;
    values[':r'] = { S: reason.slice(0, 300) };
    update += ' SET #r = :r';
  }
  const res = await t.client.send(
    new UpdateItemCommand({
      TableName: t.name,
      Key: blockKey(batchId, block),
      UpdateExpression: update,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    }),
  );
  return toBlock(res.Attributes);
}

/** One block, strongly consistent: a line counted just before is in it. */
export async function readBlock(t: Table, batchId: string, block: number): Promise<BatchBlock> {
  const res = await t.client.send(
    new GetItemCommand({ TableName: t.name, Key: blockKey(batchId, block), ConsistentRead: true }),
  );
  return toBlock(res.Item);
}

/** Blocks 0..count-1, eventually consistent, 25 requests at a time. */
export async function readBlocks(t: Table, batchId: string, count: number): Promise<BatchBlock[]> {
  const out: BatchBlock[] = [];
  for (let i = 0; i < count; i += 25) {
    const part = await Promise.all(
      Array.from({ length: Math.min(25, count - i) }, async (_, j) => {
        const res = await t.client.send(
          new GetItemCommand({ TableName: t.name, Key: blockKey(batchId, i + j) }),
        );
        return toBlock(res.Item);
      }),
    );
    out.push(...part);
  }
  return out;
}
