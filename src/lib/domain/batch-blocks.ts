/*
 * How a batch's lines are grouped into blocks, the unit of expansion and of counting. Apart from
 * batches.ts (the manifest's schemas, zod): every path that ends a job counts its line with these,
 * and getJob and reconcile should not load a schema library at cold start for it.
 */

/** Lines per block: one expansion step, one counter item (docs/batches.md, "numbers"). */
export const BLOCK_LINES = 250;

export type LineStatus = 'submitted' | 'completed' | 'failed' | 'cancelled' | 'expired' | 'refused';

/** The statuses a line ends in (a job's terminal status, or refused before it was one). */
export const ENDED_LINE_STATUSES = [
  'completed',
  'failed',
  'cancelled',
  'expired',
  'refused',
] as const;

export function blockOf(lineNo: number): number {
  return Math.floor((lineNo - 1) / BLOCK_LINES);
}

/** One block's counter item: the lines of each status, as sets (an add is idempotent). */
export interface BatchBlock {
  expected: number;
  submitted: number[];
  completed: number[];
  failed: number[];
  cancelled: number[];
  expired: number[];
  refused: number[];
  /** Why a line was refused, by line number. */
  reasons: Record<string, string>;
}

export function blockDone(block: BatchBlock): boolean {
  return ENDED_LINE_STATUSES.reduce((n, s) => n + block[s].length, 0) >= block.expected;
}
