import type { BatchBlock, LineStatus } from '../../domain/batch-blocks.ts';
import type { BatchHeader } from '../../domain/batches.ts';

/*
 * Batches: the header, one counter per block of lines (a set of line numbers per status, so a
 * repeated count changes nothing) and the ids lines gave themselves. Production:
 * src/lib/adapters/batch-store.ts (DynamoDB); fake: test/support/fakes/batch-repository.ts.
 */
export interface BatchRepository {
  /** (none) -> created; a repeated id is refused (throws). */
  create(header: BatchHeader): Promise<void>;
  header(batchId: string): Promise<BatchHeader | undefined>;
  openBlock(
    batchId: string,
    block: number,
    expected: number,
    ids: Record<string, string>,
    expiresAt: number,
  ): Promise<void>;
  ids(batchId: string, block: number): Promise<Record<string, string>>;
  /** Adds a line to one status set of its block; answers the block after it. */
  addLine(
    batchId: string,
    block: number,
    line: number,
    status: LineStatus,
    reason?: string,
  ): Promise<BatchBlock>;
  blocks(batchId: string, count: number): Promise<BatchBlock[]>;
  /** One block, read strongly consistent (a line counted just before is in it). */
  block(batchId: string, block: number): Promise<BatchBlock>;
  /** The expansion's cursor, forward only; answers whether this call moved it. */
  advance(batchId: string, next: number): Promise<boolean>;
  markExpanded(batchId: string, total: number, blocks: number, at: string): Promise<void>;
  /** Joins the header's done blocks; undefined when the batch has no header (expired). */
  markBlockDone(batchId: string, block: number): Promise<BatchHeader | undefined>;
  /** running -> finished, once, when every block is done; answers whether this call did it. */
  finish(batchId: string, blocks: number, at: string): Promise<boolean>;
  setManifest(batchId: string, uri: string): Promise<void>;
  markAnnounced(batchId: string, at: string): Promise<void>;
  /** Cancelled: no further line is submitted (the first time stays); undefined: no batch. */
  markCancelled(batchId: string, at: string): Promise<BatchHeader | undefined>;
}
