import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { BatchBlock, LineStatus } from '../domain/batch-blocks.ts';
import type { BatchHeader } from '../domain/batches.ts';
import { addLine, blockIds, openBlock, readBlock, readBlocks } from './store/batch-blocks.ts';
import {
  advance,
  createHeader,
  finishBatch,
  markBatchAnnounced,
  markBlockDone,
  markExpanded,
  readHeader,
  setManifest,
  markBatchCancelled,
} from './store/batch-headers.ts';
import type { Table } from './store/table.ts';

/**
 * Batches as the use cases see them: their items live in the jobs table outside the job id space
 * and the jobs index (src/lib/adapters/store/keys.ts, docs/store.md). Headers and blocks are each
 * one module of src/lib/adapters/store/.
 */
export class BatchStore {
  private readonly t: Table;

  constructor(client: DynamoDBClient, table: string) {
    this.t = { client, name: table };
  }

  create(header: BatchHeader): Promise<void> {
    return createHeader(this.t, header);
  }

  header(batchId: string): Promise<BatchHeader | undefined> {
    return readHeader(this.t, batchId);
  }

  openBlock(
    batchId: string,
    block: number,
    expected: number,
    ids: Record<string, string>,
    expiresAt: number,
  ): Promise<void> {
    return openBlock(this.t, batchId, block, expected, ids, expiresAt);
  }

  ids(batchId: string, block: number): Promise<Record<string, string>> {
    return blockIds(this.t, batchId, block);
  }

  addLine(
    batchId: string,
    block: number,
    line: number,
    status: LineStatus,
    reason?: string,
  ): Promise<BatchBlock> {
    return addLine(this.t, batchId, block, line, status, reason);
  }

  blocks(batchId: string, count: number): Promise<BatchBlock[]> {
    return readBlocks(this.t, batchId, count);
  }

  block(batchId: string, block: number): Promise<BatchBlock> {
    return readBlock(this.t, batchId, block);
  }

  advance(batchId: string, next: number): Promise<boolean> {
    return advance(this.t, batchId, next);
  }

  markExpanded(batchId: string, total: number, blocks: number, at: string): Promise<void> {
    return markExpanded(this.t, batchId, total, blocks, at);
  }

  markBlockDone(batchId: string, block: number): Promise<BatchHeader | undefined> {
    return markBlockDone(this.t, batchId, block);
  }

  /** running -> finished, exactly once (a state change of its own, not a wrapper). */
  finish(batchId: string, blocks: number, at: string): Promise<boolean> {
    return finishBatch(this.t, batchId, blocks, at);
  }

  setManifest(batchId: string, uri: string): Promise<void> {
    return setManifest(this.t, batchId, uri);
  }

  markAnnounced(batchId: string, at: string): Promise<void> {
    return markBatchAnnounced(this.t, batchId, at);
  }

  markCancelled(batchId: string, at: string): Promise<BatchHeader | undefined> {
    return markBatchCancelled(this.t, batchId, at);
  }
}
