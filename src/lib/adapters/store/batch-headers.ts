import {
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { BatchHeader } from '../../domain/batches.ts';
import { batchKey } from './keys.ts';
import { isConditionFailure, numbers, type Table } from './table.ts';

/*
 * A batch's header (`\0batch\0<batchId>`): its source, the expansion's cursor, its size once
 * expanded, the set of done blocks, and the finish. The lifecycle is
 * created -> expanding (cursor) -> expanded -> finished -> manifest written -> announced.
 */

/** The header in domain fields: the table's key attribute stays in the adapter. */
function toHeader(item: Record<string, AttributeValue>): BatchHeader {
  const { inferenceId: _key, ...raw } = unmarshall(item) as BatchHeader & {
    inferenceId?: string;
    doneBlocks?: Set<number>;
  };
  return { ...raw, doneBlocks: numbers(raw.doneBlocks) };
}

/** (none) -> created; a repeated id (a retried POST) is refused by the condition. */
export async function createHeader(t: Table, header: BatchHeader): Promise<void> {
  await t.client.send(
    new PutItemCommand({
      TableName: t.name,
      Item: { ...marshall(header, { removeUndefinedValues: true }), ...batchKey(header.batchId) },
      ConditionExpression: 'attribute_not_exists(inferenceId)',
    }),
  );
}

export async function readHeader(t: Table, batchId: string): Promise<BatchHeader | undefined> {
  const res = await t.client.send(
    new GetItemCommand({ TableName: t.name, Key: batchKey(batchId), ConsistentRead: true }),
  );
  return res.Item ? toHeader(res.Item) : undefined;
}

/**
 * The expansion's cursor only moves forward: a redelivered step that finds it past itself has
 * nothing left to do. Answers whether this call moved it.
 */
export async function advance(t: Table, batchId: string, next: number): Promise<boolean> {
  try {
    await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: batchKey(batchId),
        UpdateExpression: 'SET #c = :n',
        ConditionExpression:
          'attribute_exists(inferenceId) AND (attribute_not_exists(#c) OR #c < :n)',
        ExpressionAttributeNames: { '#c': 'cursor' },
        ExpressionAttributeValues: { ':n': { N: String(next) } },
      }),
    );
    return true;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return false;
  }
}

/** The expansion reached the end: the batch now knows its size. */
export async function markExpanded(
  t: Table,
  batchId: string,
  total: number,
  blocks: number,
  at: string,
): Promise<void> {
  await t.client.send(
    new UpdateItemCommand({
      TableName: t.name,
      Key: batchKey(batchId),
      UpdateExpression: 'SET #t = :t, blocks = :b, expandedAt = if_not_exists(expandedAt, :at)',
      ExpressionAttributeNames: { '#t': 'total' },
      ExpressionAttributeValues: {
        ':t': { N: String(total) },
        ':b': { N: String(blocks) },
        ':at': { S: at },
      },
    }),
  );
}

/** A block whose every line ended joins the header's set of done blocks (idempotent). */
export async function markBlockDone(
  t: Table,
  batchId: string,
  block: number,
): Promise<BatchHeader | undefined> {
  try {
    const res = await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: batchKey(batchId),
        UpdateExpression: 'ADD doneBlocks :b',
        // Never create a header: a batch that expired (TTL) has nothing left to finish.
        ConditionExpression: 'attribute_exists(inferenceId)',
        ExpressionAttributeValues: { ':b': { NS: [String(block)] } },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toHeader(res.Attributes ?? {});
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return undefined;
  }
}

/**
 * running -> finished, exactly once: only when the expansion is over and every block is done,
 * and only the first caller's condition holds. Answers whether this call finished the batch.
 */
export async function finishBatch(
  t: Table,
  batchId: string,
  blocks: number,
  at: string,
): Promise<boolean> {
  try {
    await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: batchKey(batchId),
        UpdateExpression: 'SET finishedAt = :at',
        // Transition running -> finished: the batch is complete and nobody finished it yet.
        ConditionExpression:
          'attribute_not_exists(finishedAt) AND blocks = :n AND size(doneBlocks) = :n',
        ExpressionAttributeValues: { ':at': { S: at }, ':n': { N: String(blocks) } },
      }),
    );
    return true;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return false;
  }
}

/** The finished batch's manifest is written (state COMPLETED for GET). */
export async function setManifest(t: Table, batchId: string, uri: string): Promise<void> {
  await t.client.send(
    new UpdateItemCommand({
      TableName: t.name,
      Key: batchKey(batchId),
      UpdateExpression: 'SET manifestLocation = :m',
      ExpressionAttributeValues: { ':m': { S: uri } },
    }),
  );
}

/**
 * BatchCompleted was accepted by the bus: a redelivered finish does not send it again. On the
 * header itself, unlike a job's marker item: whoever decides whether to announce has just read
 * the header (batch-worker, batch-counts), so no second item is read.
 */
export async function markBatchAnnounced(t: Table, batchId: string, at: string): Promise<void> {
  await t.client.send(
    new UpdateItemCommand({
      TableName: t.name,
      Key: batchKey(batchId),
      UpdateExpression: 'SET announcedAt = :at',
      ExpressionAttributeValues: { ':at': { S: at } },
    }),
  );
}

/**
 * POST /batches/{id}/cancel: the header says so, once (the first time stays), and the worker
 * submits no further line. Answers the header after it; undefined when there is none.
 */
export async function markBatchCancelled(
  t: Table,
  batchId: string,
  at: string,
): Promise<BatchHeader | undefined> {
  try {
    const res = await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: batchKey(batchId),
        UpdateExpression: 'SET cancelledAt = if_not_exists(cancelledAt, :at)',
        ConditionExpression: 'attribute_exists(inferenceId)',
        ExpressionAttributeValues: { ':at': { S: at } },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return res.Attributes ? toHeader(res.Attributes) : undefined;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return undefined;
  }
}
