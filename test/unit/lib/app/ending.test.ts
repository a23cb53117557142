import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import type { BatchStore } from '../../../../src/lib/adapters/batch-store.ts';
import type { JobStore } from '../../../../src/lib/adapters/job-store.ts';
import { afterEffects, endJob, type EndingDeps } from '../../../../src/lib/app/ending.ts';
import { checkJob } from '../../../../src/lib/app/reconcile.ts';
import type { ResultDeps } from '../../../../src/lib/app/results.ts';
import { processEvent } from '../../../../src/lib/wiring/results.ts';
import { eventsOnDemand } from '../../../../src/lib/adapters/lazy.ts';
import { endingPorts } from '../../../../src/lib/wiring/endings.ts';
import { loadConfig } from '../../../../src/lib/config.ts';
import {
  blockOf,
  type BatchBlock,
  type LineStatus,
} from '../../../../src/lib/domain/batch-blocks.ts';
import type { BatchHeader } from '../../../../src/lib/domain/batches.ts';
import { EXPIRY_GRACE_SECONDS, type Job, type Outcome } from '../../../../src/lib/domain/jobs.ts';
import { MemoryQueue } from '../../../support/fakes/batch-queue.ts';
import {
  ERROR_TOPIC,
  OUTPUT_BUCKET,
  SUCCESS_TOPIC,
  completed,
  failed,
  snsEvent,
} from '../../../support/notifications.ts';

/*
 * The one ending (src/lib/app/ending.ts) and every path that calls it, against in-memory fakes of
 * the job store, the batch store, S3 and the bus: whichever path ends the last job of a batch, the
 * line is counted and the batch finishes once (one finish message, which batchWorker turns into
 * the one BatchCompleted), and the job is announced once.
 */

/** The job store's ending calls, with its conditions: IN_PROGRESS (or no record) -> terminal. */
class MemoryJobs {
  readonly jobs = new Map<string, Job>();
  readonly markers = new Set<string>();
  transitions = 0;

  async transition(id: string, outcome: Outcome) {
    this.transitions++;
    const old = this.jobs.get(id);
    if (old && old.status !== 'IN_PROGRESS') return { applied: false, job: { ...old } };
    const { receivedAt: _r, ...terminal } = outcome;
    const job = { ...old, ...terminal, inferenceId: id } as Job;
    this.jobs.set(id, job);
    return { applied: true, job: { ...job } };
  }
  async get(id: string) {
    const job = this.jobs.get(id);
    return job && { ...job };
  }
  async announced(id: string) {
    return this.markers.has(id);
  }
  async markAnnounced(id: string) {
    this.markers.add(id);
  }
}

/** The batch store's counting calls: sets of lines per block, done blocks, a finish once. */
class MemoryBatches {
  readonly headers = new Map<string, BatchHeader>();
  readonly blocks = new Map<string, BatchBlock>();
  finishes = 0;

  /** A batch of `lines` lines, expanded, every line submitted. */
  add(batchId: string, lines: number) {
    this.headers.set(batchId, {
      batchId,
      createdAt: '2026-11-24T00:00:00.000Z',
      source: { kind: 'manifest', uri: `s3://in/batches/${batchId}/manifest.jsonl` },
      blocks: 1,
      doneBlocks: [],
    });
    this.blocks.set(`${batchId}#0`, {
      expected: lines,
      submitted: Array.from({ length: lines }, (_, i) => i + 1),
      completed: [],
      failed: [],
      cancelled: [],
      expired: [],
      refused: [],
      reasons: {},
    });
  }
  async addLine(batchId: string, block: number, line: number, status: LineStatus) {
    const b = this.blocks.get(`${batchId}#${block}`)!;
    if (!b[status].includes(line)) b[status] = [...b[status], line];
    return structuredClone(b);
  }
  async markBlockDone(batchId: string, block: number) {
    const h = this.headers.get(batchId)!;
    if (!h.doneBlocks!.includes(block)) h.doneBlocks = [...h.doneBlocks!, block];
    return structuredClone(h);
  }
  async finish(batchId: string, blocks: number, at: string) {
    const h = this.headers.get(batchId)!;
    if (h.finishedAt || h.doneBlocks!.length !== blocks) return false;
    h.finishedAt = at;
    this.finishes++;
    return true;
  }
  lines(batchId: string, status: LineStatus) {
    return this.blocks.get(`${batchId}#0`)![status];
  }
}

/** S3 GetObject from a map of keys; a key not there is NoSuchKey, as S3 answers a lister. */
function fakeS3(objects: Map<string, string>) {
  return {
    async send(cmd: { input: { Key: string } }) {
      const body = objects.get(cmd.input.Key);
      if (body === undefined) throw Object.assign(new Error('missing'), { name: 'NoSuchKey' });
      return {
        Body: Readable.from([Buffer.from(body)]),
        ContentLength: Buffer.byteLength(body),
        ContentType: 'text/csv',
      };
    },
  } as unknown as S3Client;
}

function fakeBus(fail = false) {
  const events: { DetailType?: string; Detail?: string }[] = [];
  const client = {
    async send(cmd: { input: { Entries: { DetailType?: string; Detail?: string }[] } }) {
      if (fail) throw Object.assign(new Error('bus down'), { name: 'InternalException' });
      events.push(...cmd.input.Entries);
      return { FailedEntryCount: 0, Entries: [{ EventId: 'e' }] };
    },
  };
  return { client: () => client as unknown as EventBridgeClient, events };
}

const BATCH = 'b-0123456789abcdef01234567';
const now = new Date('2026-11-24T12:00:00.000Z');
const config = { ...loadConfig(), eventBusName: 'test-bus' };

let jobs: MemoryJobs;
let batches: MemoryBatches;
let queue: MemoryQueue;
let bus: ReturnType<typeof fakeBus>;
let objects: Map<string, string>;
let deps: ResultDeps;

/** An IN_PROGRESS job of line `line`, queued with SageMaker (so its S3 locations are known). */
function unfinished(line: number, extra: Partial<Job> = {}): Job {
  const id = `${BATCH}-${line}`;
  const job: Job = {
    inferenceId: id,
    status: 'IN_PROGRESS',
    endpointName: 'demo-endpoint',
    submittedAt: '2026-11-24T11:00:00.000Z',
    expectedBy: '2026-11-24T11:30:00.000Z',
    outputLocation: `s3://${OUTPUT_BUCKET}/outputs/${id}.out`,
    failureLocation: `s3://${OUTPUT_BUCKET}/failures/${id}-error.out`,
    batchId: BATCH,
    batchLine: line,
    expiresAt: 2_000_000_000,
    ...extra,
  } as Job;
  jobs.jobs.set(id, job);
  return job;
}

beforeEach(() => {
  jobs = new MemoryJobs();
  batches = new MemoryBatches();
  queue = new MemoryQueue();
  bus = fakeBus();
  objects = new Map();
  deps = endingPorts({
    config,
    store: jobs as unknown as JobStore,
    s3: () => fakeS3(objects),
    eventBridge: bus.client,
    batches: { batches: batches as unknown as BatchStore, queue, now: () => now },
    now: () => now,
  });
  // Two lines: the first already ended and counted, the second ends by the path under test.
  batches.add(BATCH, 2);
  jobs.jobs.set(`${BATCH}-1`, { ...unfinished(1), status: 'COMPLETED' });
  jobs.markers.add(`${BATCH}-1`);
  void batches.addLine(BATCH, blockOf(1), 1, 'completed');
});

const finishMessages = () =>
  [...queue.messages.values()].map((m) => JSON.parse(m.body)).filter((m) => m.t === 'finish');
const outcomeEvents = () =>
  bus.events.filter((e) => e.DetailType === 'JobCompleted' || e.DetailType === 'JobFailed');

const id2 = `${BATCH}-2`;
const late = new Date(now.getTime() + (3600 + EXPIRY_GRACE_SECONDS) * 1000);

/** Each path, given the job as it read it (IN_PROGRESS). */
const paths: [string, 'completed' | 'failed', (job: Job) => Promise<unknown>][] = [
  [
    'a success notification',
    'completed',
    () =>
      processEvent(
        snsEvent({
          topic: SUCCESS_TOPIC,
          message: completed(id2, { responseBody: Buffer.from('0.5') }),
        }),
        SUCCESS_TOPIC,
        deps,
      ),
  ],
  [
    'an error notification',
    'failed',
    () => processEvent(snsEvent({ topic: ERROR_TOPIC, message: failed(id2) }), ERROR_TOPIC, deps),
  ],
  [
    'reconcile finding its output',
    'completed',
    (job) => {
      objects.set(`outputs/${id2}.out`, '0.5\n');
      return checkJob(job, deps);
    },
  ],
  [
    'reconcile finding its failure',
    'failed',
    (job) => {
      objects.set(`failures/${id2}-error.out`, 'out of memory');
      return checkJob(job, deps);
    },
  ],
  [
    'reconcile at its deadline (expiry)',
    'failed',
    (job) => checkJob(job, { ...deps, now: () => late }),
  ],
  [
    "the sandbox's restart",
    'failed',
    (job) =>
      endJob(
        job.inferenceId,
        {
          outcome: {
            status: 'FAILED',
            endpointName: 'demo-endpoint',
            completedAt: now.toISOString(),
            expiresAt: 2_000_000_000,
            failureReason: 'the sandbox stopped',
          },
          endedBy: 'restart',
        },
        deps,
      ),
  ],
];

describe.each(paths)('the last job of a batch ended by %s', (_name, status, end) => {
  it('counts its line, finishes the batch once and announces the job once', async () => {
    const job = unfinished(2);
    await end(job);
    expect(batches.lines(BATCH, status)).toContain(2);
    expect(batches.finishes).toBe(1);
    expect(finishMessages()).toEqual([{ t: 'finish', batchId: BATCH }]);
    expect(outcomeEvents()).toHaveLength(1);
    expect(JSON.parse(outcomeEvents()[0]!.Detail!)).toMatchObject({
      inferenceId: id2,
      batchId: BATCH,
    });

    // The same ending again (a redelivery, a second reconcile, a racing notification): nothing new.
    await end(job);
    expect(batches.finishes).toBe(1);
    expect(finishMessages()).toHaveLength(1);
    expect(outcomeEvents()).toHaveLength(1);
  });
});

describe('endJob', () => {
  it('a job of no batch ends with its event and no count', async () => {
    const { batchId: _b, batchLine: _l, ...solo } = unfinished(2);
    jobs.jobs.set('solo', { ...solo, inferenceId: 'solo' });
    const ended = await endJob(
      'solo',
      {
        outcome: {
          status: 'COMPLETED',
          endpointName: 'demo-endpoint',
          completedAt: '',
          expiresAt: 1,
        },
        endedBy: 'reconcile',
      },
      deps,
    );
    expect(ended).toMatchObject({ applied: true, job: { status: 'COMPLETED' } });
    expect(outcomeEvents()).toHaveLength(1);
    expect(batches.lines(BATCH, 'completed')).toEqual([1]);
  });

  it('when another ending won but stopped before its after-effects, runs them for the record found', async () => {
    // reconcile read the job IN_PROGRESS; meanwhile a notification made it FAILED and its process
    // died before the event and the count.
    const seen = unfinished(2);
    jobs.jobs.set(id2, { ...seen, status: 'FAILED', failureReason: 'model error' });
    objects.set(`outputs/${id2}.out`, '0.5\n');
    const found = await checkJob(seen, deps);
    expect(found).toEqual({ verdict: 'completed', job: undefined });
    expect(jobs.jobs.get(id2)?.status).toBe('FAILED');
    expect(outcomeEvents().map((e) => e.DetailType)).toEqual(['JobFailed']);
    expect(batches.lines(BATCH, 'failed')).toEqual([2]);
    expect(batches.finishes).toBe(1);
  });

  it('counts the batch line even when the bus refuses the event, then throws for a retry', async () => {
    const down = fakeBus(true);
    unfinished(2);
    await expect(
      processEvent(snsEvent({ topic: ERROR_TOPIC, message: failed(id2) }), ERROR_TOPIC, {
        ...deps,
        events: eventsOnDemand(down.client, config.eventBusName),
      }),
    ).rejects.toThrow(/1 of 1 notifications not processed/);
    expect(batches.lines(BATCH, 'failed')).toEqual([2]);
    expect(batches.finishes).toBe(1);
    // The redelivery (a duplicate for the state machine) sends the event the first one could not.
    await processEvent(snsEvent({ topic: ERROR_TOPIC, message: failed(id2) }), ERROR_TOPIC, deps);
    expect(outcomeEvents()).toHaveLength(1);
    expect(finishMessages()).toHaveLength(1);
  });

  it('afterEffects of a record already ended and announced only counts its line (idempotent)', async () => {
    jobs.jobs.set(id2, { ...unfinished(2), status: 'COMPLETED' });
    jobs.markers.add(id2);
    const effects: EndingDeps = deps;
    await afterEffects(await jobs.get(id2), effects);
    await afterEffects(await jobs.get(id2), effects);
    expect(outcomeEvents()).toHaveLength(0);
    expect(batches.lines(BATCH, 'completed')).toEqual([1, 2]);
    expect(finishMessages()).toHaveLength(1);
  });
});
