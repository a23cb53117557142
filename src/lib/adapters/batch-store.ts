import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { awsErrorName } from '../domain/errors.ts';
import type { BatchBlock, LineStatus } from '../domain/batch-blocks.ts';
import type { BatchHeader } from '../domain/batches.ts';

/*
 * Batches live in the jobs table, outside the job id space (ids are printable ASCII; these keys
 * start with NUL), and outside the jobs index (they carry no shardKey):
 *   \0batch\0<batchId>             the header: source, cursor, totals, done blocks, finish
 *   \0batch\0<batchId>#<block>     one block's counters: a number set of line numbers per status
 *   \0batch\0<batchId>#<block>#ids the inferenceIds lines gave themselves (others are derived)
 * Counting is exact under any repetition because every count is the size of a set and adding a
 * line to a set twice changes nothing: no per-job marker, no transaction (dynalite has none), and
 * a crash between two writes is repaired by the retry that makes the same writes again.
 */

const PREFIX = '\u0000batch\u0000';

function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    awsErrorName(err) === 'ConditionalCheckFailedException'
  );
}

function numbers(value: unknown): number[] {
  return value instanceof Set ? [...(value as Set<number>)].map(Number).sort((a, b) => a - b) : [];
}

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
    refused: numbers(raw.refused),
    reasons,
  };
}

function toHeader(item: Record<string, AttributeValue>): BatchHeader {
  const raw = unmarshall(item) as BatchHeader & { doneBlocks?: Set<number> };
  return { ...raw, doneBlocks: numbers(raw.doneBlocks) };
}

export class BatchStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  private key(id: string): Record<string, AttributeValue> {
    return { inferenceId: { S: `${PREFIX}${id}` } };
  }

  /** (none) -> created; a repeated id (a retried POST) is refused by the condition. */
  async create(header: BatchHeader): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: {
          ...marshall(header, { removeUndefinedValues: true }),
          ...this.key(header.batchId),
        },
        ConditionExpression: 'attribute_not_exists(inferenceId)',
      }),
    );
  }

  async header(batchId: string): Promise<BatchHeader | undefined> {
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: this.key(batchId), ConsistentRead: true }),
    );
    return res.Item ? toHeader(res.Item) : undefined;
  }

  /**
   * A block is opened before any of its lines is queued: its expected count (and the ids its
   * lines gave) are known before an outcome can be counted into it. Idempotent: a retried
   * expansion writes the same values.
   */
  async openBlock(
    batchId: string,
    block: number,
    expected: number,
    ids: Record<string, string>,
    expiresAt: number,
  ): Promise<void> {
    if (Object.keys(ids).length > 0) {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...this.key(`${batchId}#${block}#ids`),
            ids: { M: marshall(ids) },
            expiresAt: { N: String(expiresAt) },
          },
        }),
      );
    }
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: this.key(`${batchId}#${block}`),
        UpdateExpression: 'SET expected = :n, expiresAt = :x',
        ExpressionAttributeValues: {
          ':n': { N: String(expected) },
          ':x': { N: String(expiresAt) },
        },
      }),
    );
  }

  async ids(batchId: string, block: number): Promise<Record<string, string>> {
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: this.key(`${batchId}#${block}#ids`) }),
    );
    const ids = res.Item?.ids?.M;
    return ids ? (unmarshall(ids) as Record<string, string>) : {};
  }

  /**
   * Adds a line to one status set of its block (ADD to a set: a repeat is a no-op) and answers
   * the block after it. A refused line keeps its reason in an attribute of its own.
   */
  async addLine(
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
    const res = await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: this.key(`${batchId}#${block}`),
        UpdateExpression: update,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toBlock(res.Attributes);
  }

  /** Blocks 0..count-1, eventually consistent, 25 requests at a time. */
  async blocks(batchId: string, count: number): Promise<BatchBlock[]> {
    const out: BatchBlock[] = [];
    for (let i = 0; i < count; i += 25) {
      const part = await Promise.all(
        Array.from({ length: Math.min(25, count - i) }, async (_, j) => {
          const res = await this.client.send(
            new GetItemCommand({ TableName: this.table, Key: this.key(`${batchId}#${i + j}`) }),
          );
          return toBlock(res.Item);
        }),
      );
      out.push(...part);
    }
    return out;
  }

  /**
   * The expansion's cursor only moves forward: a redelivered step that finds it past itself has
   * nothing left to do. Answers whether this call moved it.
   */
  async advance(batchId: string, next: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(batchId),
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
  async markExpanded(batchId: string, total: number, blocks: number, at: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: this.key(batchId),
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
  async markBlockDone(batchId: string, block: number): Promise<BatchHeader | undefined> {
    try {
      const res = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(batchId),
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
  async finish(batchId: string, blocks: number, at: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(batchId),
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
  async setManifest(batchId: string, uri: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: this.key(batchId),
        UpdateExpression: 'SET manifestLocation = :m',
        ExpressionAttributeValues: { ':m': { S: uri } },
      }),
    );
  }

  /** BatchCompleted was accepted by the bus: a redelivered finish does not send it again. */
  async markAnnounced(batchId: string, at: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: this.key(batchId),
        UpdateExpression: 'SET announcedAt = :at',
        ExpressionAttributeValues: { ':at': { S: at } },
      }),
    );
  }
}
