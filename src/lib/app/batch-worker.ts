import {
  backoffSeconds,
  batchView,
  lineInferenceId,
  parseBatchMessage,
  type BatchMessage,
} from '../domain/batches.ts';
import type { QueuedMessage } from '../domain/queue.ts';
import { parseLine, splitLines, type BatchLine } from '../domain/manifest.ts';
import { BLOCK_LINES, blockOf } from '../domain/batch-blocks.ts';
import { AppError, Conflict, awsErrorName } from '../domain/errors.ts';
import { expiresAt, publicView, type JobStatus } from '../domain/jobs.ts';
import type { BatchBlock } from '../domain/batch-blocks.ts';
import { parseS3Uri, s3Uri } from '../domain/locations.ts';
import { logger } from '../adapters/logger.ts';
import { announceBatch } from './announce.ts';
import { batchPrefix, nowOf, type BatchDeps } from './batches.ts';
import type { ObjectStore } from './ports/object-store.ts';
import { submitJob, type SubmitDeps } from './submit.ts';
import { countLine, maybeFinish, recordOutcome } from './batch-counts.ts';
import { cancelBatchBlock, type BlockCancelDeps } from './cancel.ts';

/** Thrown for a message that asked to be delivered again later (its visibility already set). */
export class RedeliveryRequested extends Error {
  override name = 'RedeliveryRequested';
}

/**
 * One message of the batch queue, under ReportBatchItemFailures (returning: done; throwing: the
 * message comes back). A throttled line throws after its visibility timeout was set to its
 * back-off (ChangeMessageVisibility), so the queue delivers it again only then; an error leaves
 * it to the queue's own visibility timeout and, after maxReceiveCount, its dead-letter queue. A
 * malformed message is dropped with a log line.
 */
export async function processBatchMessage(queued: QueuedMessage, deps: WorkerDeps): Promise<void> {
  let message;
  try {
    message = parseBatchMessage(queued.body);
  } catch {
    logger.error('batch message malformed; dropped', { messageId: queued.id });
    return;
  }
  let retryAfterSeconds;
  try {
    ({ retryAfterSeconds } = await handleMessage(message, queued.receiveCount, deps));
  } catch (err) {
    logger.error('batch message failed', {
      batchId: message.batchId,
      messageId: queued.id,
      error: err instanceof Error ? err.name : 'unknown',
    });
    throw err;
  }
  if (retryAfterSeconds === undefined) return;
  await deps.queue
    .retryLater(queued.receiptHandle, retryAfterSeconds)
    .catch((err: unknown) => logger.warn('visibility not changed', { error: String(err) }));
  throw new RedeliveryRequested(`delivered again in ${retryAfterSeconds} s`);
}

/** What one message asks of the worker: done, or to be delivered again after a while. */
export type MessageResult = { retryAfterSeconds?: number };

export interface WorkerDeps extends BatchDeps {
  submit: Omit<SubmitDeps, 'config'>;
  /** POST /batches/{id}/cancel's work: a block's jobs cancelled as POST /jobs/{id}/cancel does. */
  cancel: BlockCancelDeps;
}

export async function handleMessage(
  message: BatchMessage,
  receiveCount: number,
  deps: WorkerDeps,
): Promise<MessageResult> {
  switch (message.t) {
    case 'expand':
      await expand(message, deps);
      return {};
    case 'submit':
      return submitLine(message, receiveCount, deps);
    case 'finish':
      await finishBatch(message.batchId, deps);
      return {};
    case 'cancel':
      await cancelBatchBlock(message.batchId, message.block, deps.cancel);
      return {};
  }
}

/** One block of raw lines of the stored manifest from a byte offset, read in 256 KiB ranges. */
async function readBlock(
  objects: ObjectStore,
  uri: string,
  offset: number,
  firstLine: number,
): Promise<{ lines: { lineNo: number; text: string }[]; next: number; end: boolean }> {
  const loc = parseS3Uri(uri)!;
  const lastLine = (blockOf(firstLine) + 1) * BLOCK_LINES;
  const lines: { lineNo: number; text: string }[] = [];
  let carry = Buffer.alloc(0);
  let pos = offset;
  let lineNo = firstLine;
  let size = Number.POSITIVE_INFINITY;
  while (lineNo <= lastLine && pos < size) {
    const range = await objects.readRange(loc, pos, 256 * 1024);
    size = range.size;
    const chunk = range.bytes;
    pos += chunk.byteLength;
    carry = Buffer.concat([carry, chunk]);
    let nl: number;
    while (lineNo <= lastLine && (nl = carry.indexOf(10)) >= 0) {
      lines.push({ lineNo, text: carry.subarray(0, nl).toString('utf8') });
      carry = carry.subarray(nl + 1);
      lineNo++;
    }
    if (chunk.byteLength === 0) break;
  }
  // The last line of the file may have no newline.
  if (lineNo <= lastLine && pos >= size && carry.byteLength > 0) {
    lines.push({ lineNo, text: carry.toString('utf8') });
    carry = Buffer.alloc(0);
  }
  return { lines, next: pos - carry.byteLength, end: pos >= size && carry.byteLength === 0 };
}

/**
 * One expansion step. Idempotent: the block's counter is opened with the same values, repeated
 * lines are no-ops at submit, and the cursor (forward only) drops a step already done.
 */
async function expand(m: Extract<BatchMessage, { t: 'expand' }>, deps: BatchDeps): Promise<void> {
  const header = await deps.batches.header(m.batchId);
  if (!header) {
    logger.warn('expansion of an unknown batch dropped', { batchId: m.batchId });
    return;
  }
  if ((header.cursor ?? 0) > m.block) {
    logger.info('expansion step already done', { batchId: m.batchId, block: m.block });
    return;
  }
  let specs: { line: number; spec: BatchLine }[] = [];
  const refused: { line: number; reason: string }[] = [];
  let next: BatchMessage | undefined;
  let lastLine = m.line - 1;
  if (header.source.kind === 'manifest') {
    const read = await readBlock(deps.objects, header.source.uri, m.offset, m.line);
    for (const { lineNo, text } of splitLines(read.lines.map((l) => l.text).join('\n'), m.line)) {
      try {
        specs.push({ line: lineNo, spec: parseLine(text, lineNo) });
      } catch (err) {
        // Checked at POST; a manifest that changed since is refused line by line.
        refused.push({ line: lineNo, reason: (err as Error).message });
      }
    }
    lastLine = read.lines.at(-1)?.lineNo ?? lastLine;
    if (!read.end) {
      next = {
        t: 'expand',
        batchId: m.batchId,
        block: m.block + 1,
        offset: read.next,
        line: lastLine + 1,
      };
    }
  } else {
    const prefix = parseS3Uri(header.source.uri)!;
    const page = await deps.objects.list(prefix, BLOCK_LINES, m.token);
    // Folder placeholders ("a/b/") are not inputs.
    const keys = page.keys.filter((key) => !key.endsWith('/'));
    specs = keys.map((key, i) => ({
      line: m.line + i,
      spec: { input: s3Uri({ bucket: prefix.bucket, key }) },
    }));
    lastLine = m.line + keys.length - 1;
    if (page.next) {
      next = {
        t: 'expand',
        batchId: m.batchId,
        block: m.block + 1,
        offset: 0,
        // Blocks are fixed ranges of line numbers: a short page leaves numbers unused.
        line: (m.block + 1) * BLOCK_LINES + 1,
        token: page.next,
      };
    }
  }
  const given = Object.fromEntries(
    specs.flatMap((s) => (s.spec.inferenceId ? [[String(s.line), s.spec.inferenceId]] : [])),
  );
  await deps.batches.openBlock(
    m.batchId,
    m.block,
    specs.length + refused.length,
    given,
    header.expiresAt ?? expiresAt(nowOf(deps), deps.config.jobTtlDays),
  );
  for (const r of refused) await countLine(m.batchId, r.line, 'refused', deps, r.reason);
  if (specs.length + refused.length === 0) {
    // A block of blank lines (or an empty listing) has nothing to wait for.
    await maybeFinish(await deps.batches.markBlockDone(m.batchId, m.block), deps);
  }
  await deps.queue.send(
    specs.map(({ line, spec }) => ({
      t: 'submit',
      batchId: m.batchId,
      line,
      spec,
      endpoint: header.endpoint,
    })),
  );
  if (next) {
    // The next step is queued before the cursor moves: a crash between them repeats this step
    // (harmless), never skips the next.
    await deps.queue.send([next]);
    await deps.batches.advance(m.batchId, m.block + 1);
    logger.info('batch block expanded', {
      batchId: m.batchId,
      block: m.block,
      lines: specs.length,
    });
    return;
  }
  await deps.batches.advance(m.batchId, m.block + 1);
  await deps.batches.markExpanded(
    m.batchId,
    Math.max(0, lastLine),
    m.block + 1,
    nowOf(deps).toISOString(),
  );
  logger.info('batch expanded', { batchId: m.batchId, blocks: m.block + 1, lines: lastLine });
  // Every block may have ended before the batch knew its size: then finishing is up to this step.
  await maybeFinish(await deps.batches.header(m.batchId), deps);
}

/** One line: submitJob, as POST /jobs does, with the line's id so a repeat never invokes again. */
async function submitLine(
  m: Extract<BatchMessage, { t: 'submit' }>,
  receiveCount: number,
  deps: WorkerDeps,
): Promise<MessageResult> {
  const { spec } = m;
  const inferenceId = lineInferenceId(m.batchId, m.line, spec.inferenceId);
  const header = await deps.batches.header(m.batchId);
  // POST /batches/{id}/cancel: a line not yet submitted never is; it counts as cancelled.
  if (header?.cancelledAt) {
    await countLine(m.batchId, m.line, 'cancelled', deps);
    return {};
  }
  try {
    const body =
      spec.body === undefined
        ? Buffer.alloc(0)
        : Buffer.from(spec.body, spec.encoding === 'base64' ? 'base64' : 'utf8');
    const { job } = await submitJob(
      {
        query: {
          inferenceId,
          inputLocation: spec.input,
          customAttributes: spec.customAttributes,
          endpoint: m.endpoint,
          priority: spec.priority,
          maxQueueSeconds:
            spec.maxQueueSeconds === undefined ? undefined : String(spec.maxQueueSeconds),
          tenant: spec.tenant,
          ...(spec.taskToken !== undefined ? { taskToken: spec.taskToken } : {}),
        },
        contentType: spec.contentType,
        body,
        // Owner mode: the batch's submitter owns its jobs and is their tenant, as for POST /jobs.
        owner: header?.owner,
        batch: { batchId: m.batchId, line: m.line },
      },
      { config: deps.config, ...deps.submit },
    );
    if (job.batchId !== m.batchId || job.batchLine !== m.line) {
      throw new Conflict(`inferenceId ${inferenceId} is already in use`, inferenceId);
    }
    await countLine(m.batchId, m.line, 'submitted', deps);
    // A job whose outcome outran its submit record: its outcome is counted here.
    await recordOutcome(job, deps);
    return {};
  } catch (err) {
    if (err instanceof AppError && err.retryable) {
      const wait = backoffSeconds(receiveCount);
      logger.info('batch line throttled; retried later', {
        batchId: m.batchId,
        line: m.line,
        error: err.name,
        retryAfterSeconds: wait,
      });
      return { retryAfterSeconds: wait };
    }
    if (err instanceof AppError) {
      logger.warn('batch line refused', { batchId: m.batchId, line: m.line, reason: err.message });
      await countLine(m.batchId, m.line, 'refused', deps, err.message);
      return {};
    }
    logger.error('batch line failed', {
      batchId: m.batchId,
      line: m.line,
      error: awsErrorName(err),
    });
    throw err;
  }
}

/** One line of the output manifest. */
export interface ManifestEntry {
  line: number;
  inferenceId?: string;
  status: JobStatus | 'REFUSED';
  outputLocation?: string;
  failureLocation?: string;
  failureReason?: string;
  reason?: string;
}

/** The status a line was counted with, when its job's record has expired. */
function countedStatus(block: BatchBlock, line: number): JobStatus {
  if (block.completed.includes(line)) return 'COMPLETED';
  if (block.cancelled.includes(line)) return 'CANCELLED';
  if (block.expired.includes(line)) return 'EXPIRED';
  return 'FAILED';
}

/**
 * The finish: the output manifest (every line, its job and where its output is), written to S3,
 * then BatchCompleted. Idempotent: a redelivered finish writes the same manifest and sends the
 * event only if the first did not get as far as recording it.
 */
export async function finishBatch(batchId: string, deps: WorkerDeps): Promise<void> {
  const header = await deps.batches.header(batchId);
  if (!header?.finishedAt || header.blocks === undefined) return;
  const blocks = await deps.batches.blocks(batchId, header.blocks);
  const parts: string[] = [];
  for (let b = 0; b < blocks.length; b++) {
    const block = blocks[b]!;
    const ids = await deps.batches.ids(batchId, b);
    const ended = [...block.completed, ...block.failed, ...block.cancelled, ...block.expired].sort(
      (x, y) => x - y,
    );
    const jobs = new Map(
      (
        await deps.submit.store.getMany(
          ended.map((l) => lineInferenceId(batchId, l, ids[String(l)])),
        )
      ).map((j) => [j.inferenceId, j]),
    );
    const entries: ManifestEntry[] = [
      ...ended.map((line): ManifestEntry => {
        const id = lineInferenceId(batchId, line, ids[String(line)]);
        const job = jobs.get(id);
        const view = job ? publicView(job) : undefined;
        return {
          line,
          inferenceId: id,
          status: job?.status ?? countedStatus(block, line),
          outputLocation: view?.outputLocation,
          failureLocation: view?.failureLocation,
          failureReason: view?.failureReason,
        };
      }),
      ...block.refused.map((line) => ({
        line,
        status: 'REFUSED' as const,
        reason: block.reasons[String(line)],
      })),
    ].sort((x, y) => x.line - y.line);
    for (const e of entries) parts.push(JSON.stringify(e));
  }
  const loc = { bucket: deps.config.inputBucket, key: `${batchPrefix(batchId)}results.jsonl` };
  const body = Buffer.from(parts.length ? `${parts.join('\n')}\n` : '', 'utf8');
  await deps.objects.put(loc, body, 'application/x-ndjson');
  await deps.batches.setManifest(batchId, s3Uri(loc));
  if (header.announcedAt) return;
  const view = batchView({ ...header, manifestLocation: s3Uri(loc) }, blocks);
  // One finish per batch: the bus's adapter (and its SDK) is loaded then, not in the worker's INIT.
  if (deps.events) await announceBatch(deps.events, view);
  await deps.batches.markAnnounced(batchId, nowOf(deps).toISOString());
  logger.info('batch completed', { batchId, ...view.counts });
}
