import { BadRequest } from './errors.ts';
import type { BatchBlock } from './batch-blocks.ts';
import type { BatchLine } from './manifest.ts';
import type { BatchCounts, BatchRecord } from './wire.ts';

/*
 * A batch: a manifest of inputs (JSON Lines, or every object under an S3 prefix), each line one
 * job. Its header, its counts and its public view, and the messages of its queue; what a line may
 * hold is manifest.ts (its schema is built at import: getBatch, which reads this module, never
 * parses a line). Pure: the store and the queue live in adapters.
 */

export const BATCH_ID = /^b-[0-9a-f]{24}$/;

/** The job id of a line: its own, or derived so that a repeated submit of the line is a no-op. */
export function lineInferenceId(batchId: string, lineNo: number, given?: string): string {
  return given ?? `${batchId}-${lineNo}`;
}

/** The batch header: written at POST, advanced by the expansion, closed by the last outcome. */
export interface BatchHeader {
  batchId: string;
  createdAt: string;
  /** Where the manifest is: the stored JSON Lines object, or the prefix to list. */
  source: { kind: 'manifest'; uri: string } | { kind: 'prefix'; uri: string };
  callbackUrl?: string;
  endpoint?: string;
  owner?: string;
  /** Blocks expanded so far (the expansion's cursor). */
  cursor?: number;
  /** Set when the expansion reached the end: the number of lines and of blocks. */
  total?: number;
  blocks?: number;
  expandedAt?: string;
  /** Blocks whose every line has ended. */
  doneBlocks?: number[];
  finishedAt?: string;
  manifestLocation?: string;
  announcedAt?: string;
  expiresAt?: number;
  /** POST /batches/{id}/cancel: lines not yet submitted are not submitted (ISO-8601). */
  cancelledAt?: string;
}

export type { BatchCounts, BatchState } from './wire.ts';

export function countsOf(header: BatchHeader, blocks: BatchBlock[]): BatchCounts {
  const sum = (f: (b: BatchBlock) => number) => blocks.reduce((n, b) => n + f(b), 0);
  const completed = sum((b) => b.completed.length);
  const failed = sum((b) => b.failed.length);
  const cancelled = sum((b) => b.cancelled.length);
  const expired = sum((b) => b.expired.length);
  const refused = sum((b) => b.refused.length);
  // A job that ended is submitted, even when its outcome was counted before its submit.
  const submitted = sum(
    (b) =>
      new Set([...b.submitted, ...b.completed, ...b.failed, ...b.cancelled, ...b.expired]).size,
  );
  const expected = header.total === undefined ? undefined : sum((b) => b.expected);
  return {
    expected,
    submitted,
    inProgress: submitted - completed - failed - cancelled - expired,
    completed,
    failed,
    cancelled,
    expired,
    refused,
    pending: expected === undefined ? undefined : expected - submitted - refused,
  };
}

/** The batch as GET /batches/{batchId} answers it, but for the presigned link (wire.ts). */
export type BatchView = Omit<BatchRecord, 'manifestUrl'>;

export function batchView(header: BatchHeader, blocks: BatchBlock[]): BatchView {
  const counts = countsOf(header, blocks);
  const ended =
    counts.completed + counts.failed + counts.cancelled + counts.expired + counts.refused;
  return {
    batchId: header.batchId,
    state: header.manifestLocation ? 'COMPLETED' : header.expandedAt ? 'IN_PROGRESS' : 'EXPANDING',
    counts,
    progress: counts.expected ? Math.min(1, ended / counts.expected) : undefined,
    createdAt: header.createdAt,
    expandedAt: header.expandedAt,
    finishedAt: header.finishedAt,
    callbackUrl: header.callbackUrl,
    manifestLocation: header.manifestLocation,
  };
}

/** Work on the batch queue. */
export type BatchMessage =
  | { t: 'expand'; batchId: string; block: number; offset: number; line: number; token?: string }
  | { t: 'submit'; batchId: string; line: number; spec: BatchLine; endpoint?: string }
  | { t: 'finish'; batchId: string }
  /** POST /batches/{id}/cancel's work on one block: its submitted, unended jobs cancelled. */
  | { t: 'cancel'; batchId: string; block: number };

export function parseBatchMessage(body: string): BatchMessage {
  const m = JSON.parse(body) as BatchMessage;
  if (!m || typeof m !== 'object' || !BATCH_ID.test(m.batchId)) {
    throw new BadRequest('not a batch message');
  }
  return m;
}

/**
 * How long a throttled submit waits before SQS delivers it again: doubling with each receive,
 * from 2 s up to 15 minutes, with jitter so that the throttled lines do not return together.
 */
export function backoffSeconds(receiveCount: number, random = Math.random()): number {
  const base = Math.min(900, 2 ** Math.min(receiveCount, 10));
  return Math.max(1, Math.min(900, Math.round(base * (0.5 + random / 2))));
}
