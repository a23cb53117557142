/*
 * How a batch's lines are grouped into blocks, the unit of expansion and of counting. Apart from
 * batches.ts (the manifest's schemas, zod): every path that ends a job counts its line with these,
 * and getJob and reconcile should not load a schema library at cold start for it.
 */

/** Lines per block: one expansion step, one counter item (docs/batches.md, "numbers"). */
export const BLOCK_LINES = 250;

export type LineStatus = 'submitted' | 'completed' | 'failed' | 'refused';

export function blockOf(lineNo: number): number {
  return Math.floor((lineNo - 1) / BLOCK_LINES);
}

/** One block's counter item: the lines of each status, as sets (an add is idempotent). */
export interface BatchBlock {
  expected: number;
  submitted: number[];
  completed: number[];
  failed: number[];
  refused: number[];
  /** Why a line was refused, by line number. */
  reasons: Record<string, string>;
}

export function blockDone(block: BatchBlock): boolean {
  return block.completed.length + block.failed.length + block.refused.length >= block.expected;
}
