import * as z from 'zod/mini';
import { BadRequest, PayloadTooLarge } from './errors.ts';
import { CLIENT_INFERENCE_ID } from './jobs.ts';
import { inputLocation } from './locations.ts';
import type { BatchBlock } from './batch-blocks.ts';

/*
 * A batch: a manifest of inputs (JSON Lines, or every object under an S3 prefix), each line one
 * job. What a line may hold, how lines are grouped into blocks (the unit of expansion and of
 * counting), and the batch's public view. Pure: the store and the queue live in adapters.
 */

/** A manifest line carries its inline body through SQS (256 KiB a message): well under it. */
export const MAX_LINE_BYTES = 100_000;
/** Lines per batch: 400 blocks; GET /batches reads every block, so the count stays bounded. */
export const MAX_LINES = 100_000;

export const BATCH_ID = /^b-[0-9a-f]{24}$/;

/** One manifest line, as checked up front. Exactly one of `input` and `body`. */
export interface BatchLine {
  input?: string;
  body?: string;
  encoding?: 'base64';
  inferenceId?: string;
  contentType?: string;
  customAttributes?: string;
  /** Passed on to the job submit when it accepts one (Step Functions callbacks); else ignored. */
  taskToken?: string;
}

const Line = z.object({
  input: z.optional(z.string().check(z.maxLength(2048), z.startsWith('s3://'))),
  body: z.optional(z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())])),
  encoding: z.optional(z.literal('base64')),
  inferenceId: z.optional(z.string().check(z.regex(CLIENT_INFERENCE_ID))),
  contentType: z.optional(z.string().check(z.maxLength(1024))),
  customAttributes: z.optional(z.string().check(z.maxLength(1024))),
  taskToken: z.optional(z.string().check(z.maxLength(8192))),
});

/** Parses line `lineNo` (1-based) of a manifest; a BadRequest names the line. */
export function parseLine(text: string, lineNo: number): BatchLine {
  if (Buffer.byteLength(text) > MAX_LINE_BYTES) {
    throw new BadRequest(`line ${lineNo}: longer than ${MAX_LINE_BYTES} bytes; use "input"`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequest(`line ${lineNo}: not JSON`);
  }
  const parsed = Line.safeParse(value);
  if (!parsed.success || typeof value !== 'object' || value === null || Array.isArray(value)) {
    const path = parsed.success ? '' : parsed.error.issues[0]?.path.join('.');
    throw new BadRequest(`line ${lineNo}: not a manifest line${path ? ` (field ${path})` : ''}`);
  }
  const line = parsed.data;
  if ((line.input === undefined) === (line.body === undefined)) {
    throw new BadRequest(`line ${lineNo}: give exactly one of "input" and "body"`);
  }
  if (line.encoding && typeof line.body !== 'string') {
    throw new BadRequest(`line ${lineNo}: "encoding" applies to a string "body" only`);
  }
  const body =
    line.body === undefined || typeof line.body === 'string'
      ? line.body
      : JSON.stringify(line.body);
  return {
    ...line,
    body,
    contentType:
      line.contentType ??
      (line.body !== undefined && typeof line.body !== 'string' ? 'application/json' : undefined),
  };
}

/** Non-empty lines of a manifest chunk with their 1-based numbers (blank lines keep a number). */
export function splitLines(text: string, firstLine = 1): { lineNo: number; text: string }[] {
  const parts = text.split('\n');
  if (parts.at(-1) === '') parts.pop();
  return parts
    .map((t, i) => ({ lineNo: firstLine + i, text: t.replace(/\r$/, '') }))
    .filter((l) => l.text.trim() !== '');
}

/**
 * Checks a whole manifest body up front (it is in hand: at most one Lambda payload): every line
 * parses, ids are unique. Answers the number of lines (blank ones included in the numbering).
 */
export function checkManifest(text: string, inputBucket: string): { lines: number; jobs: number } {
  const lines = splitLines(text);
  if (lines.length === 0) throw new BadRequest('the manifest has no lines');
  const last = lines.at(-1)!.lineNo;
  if (last > MAX_LINES) {
    throw new PayloadTooLarge(`a batch holds at most ${MAX_LINES} lines; split the manifest`);
  }
  const seen = new Map<string, number>();
  for (const { lineNo, text: t } of lines) {
    const line = parseLine(t, lineNo);
    if (line.input !== undefined) {
      try {
        inputLocation(line.input, inputBucket);
      } catch (err) {
        throw new BadRequest(
          `line ${lineNo}: ${(err as Error).message.replace('inputLocation', 'input')}`,
        );
      }
    }
    if (line.inferenceId) {
      const before = seen.get(line.inferenceId);
      if (before) {
        throw new BadRequest(`line ${lineNo}: inferenceId repeats line ${before}`);
      }
      seen.set(line.inferenceId, lineNo);
    }
  }
  return { lines: last, jobs: lines.length };
}

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
}

export interface BatchCounts {
  expected?: number;
  submitted: number;
  inProgress: number;
  completed: number;
  failed: number;
  refused: number;
  pending?: number;
}

export function countsOf(header: BatchHeader, blocks: BatchBlock[]): BatchCounts {
  const sum = (f: (b: BatchBlock) => number) => blocks.reduce((n, b) => n + f(b), 0);
  const completed = sum((b) => b.completed.length);
  const failed = sum((b) => b.failed.length);
  const refused = sum((b) => b.refused.length);
  // A job that ended is submitted, even when its outcome was counted before its submit.
  const submitted = sum((b) => new Set([...b.submitted, ...b.completed, ...b.failed]).size);
  const expected = header.total === undefined ? undefined : sum((b) => b.expected);
  return {
    expected,
    submitted,
    inProgress: submitted - completed - failed,
    completed,
    failed,
    refused,
    pending: expected === undefined ? undefined : expected - submitted - refused,
  };
}

export type BatchState = 'EXPANDING' | 'IN_PROGRESS' | 'COMPLETED';

export interface BatchView {
  batchId: string;
  state: BatchState;
  counts: BatchCounts;
  /** Ended lines over expected lines, 0..1; absent while the expansion has not reached the end. */
  progress?: number;
  createdAt: string;
  expandedAt?: string;
  finishedAt?: string;
  callbackUrl?: string;
  manifestLocation?: string;
}

export function batchView(header: BatchHeader, blocks: BatchBlock[]): BatchView {
  const counts = countsOf(header, blocks);
  const ended = counts.completed + counts.failed + counts.refused;
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
  | { t: 'finish'; batchId: string };

export function parseMessage(body: string): BatchMessage {
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
