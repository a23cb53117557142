import * as z from 'zod/mini';
import { BadRequest, PayloadTooLarge } from './errors.ts';
import { CLIENT_INFERENCE_ID } from './jobs.ts';
import { inputLocation } from './locations.ts';
import { Tenant } from './submission.ts';

/*
 * A batch's manifest: JSON Lines, each line one job. What a line may hold, checked at POST for the
 * whole manifest and again by the worker line by line. Pure.
 */

/** A manifest line carries its inline body through SQS (256 KiB a message): well under it. */
export const MAX_LINE_BYTES = 100_000;
/** Lines per batch: 400 blocks; GET /batches reads every block, so the count stays bounded. */
export const MAX_LINES = 100_000;

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
  /** Queue control (docs/queue.md): the line's lane and queue deadline, checked at submit. */
  priority?: 'high' | 'normal' | 'low';
  maxQueueSeconds?: number;
  /**
   * Whose share the job counts in, checked as `?tenant=` is, here and at submit; in owner mode
   * the batch's owner instead, as for POST /jobs.
   */
  tenant?: string;
}

const Line = z.object({
  input: z.optional(z.string().check(z.maxLength(2048), z.startsWith('s3://'))),
  body: z.optional(z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())])),
  encoding: z.optional(z.literal('base64')),
  inferenceId: z.optional(z.string().check(z.regex(CLIENT_INFERENCE_ID))),
  contentType: z.optional(z.string().check(z.maxLength(1024))),
  customAttributes: z.optional(z.string().check(z.maxLength(1024))),
  taskToken: z.optional(z.string().check(z.maxLength(8192))),
  priority: z.optional(z.enum(['high', 'normal', 'low'])),
  maxQueueSeconds: z.optional(z.number().check(z.int())),
  tenant: Tenant,
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
    const issue = parsed.success ? undefined : parsed.error.issues[0];
    // A tenant string refused says why, in the words ?tenant= is refused with.
    if (issue?.path[0] === 'tenant' && typeof (value as { tenant?: unknown }).tenant === 'string') {
      throw new BadRequest(`line ${lineNo}: ${issue.message}`);
    }
    const path = issue?.path.join('.');
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
