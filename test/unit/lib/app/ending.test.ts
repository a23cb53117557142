import { beforeEach, describe, expect, it } from 'vitest';
import { afterEffects, endJob, type EndingDeps } from '../../../../src/lib/app/ending.ts';
import { checkJob } from '../../../../src/lib/app/reconcile.ts';
import type { ResultDeps } from '../../../../src/lib/app/results.ts';
import { processEvent } from '../../../../src/lib/wiring/results.ts';
import { loadConfig } from '../../../../src/lib/config.ts';
import { blockOf, type LineStatus } from '../../../../src/lib/domain/batch-blocks.ts';
import { EXPIRY_GRACE_SECONDS, type Job } from '../../../../src/lib/domain/jobs.ts';
import { MemoryQueue } from '../../../support/fakes/batch-queue.ts';
import { FakeBatchRepository } from '../../../support/fakes/batch-repository.ts';
import { FakeEventPublisher } from '../../../support/fakes/event-publisher.ts';
import type { FakeJobRepository } from '../../../support/fakes/job-repository.ts';
import type { FakeObjectStore } from '../../../support/fakes/object-store.ts';
import { endingFakes } from '../../../support/fakes/ports.ts';
import {
  ERROR_TOPIC,
  OUTPUT_BUCKET,
  SUCCESS_TOPIC,
  completed,
  failed,
  snsEvent,
} from '../../../support/notifications.ts';

/*
 * The one ending (src/lib/app/ending.ts) and every path that calls it, on the fakes of its ports
 * (test/support/fakes): whichever path ends the last job of a batch, the line is counted and the
 * batch finishes once (one finish message, which batchWorker turns into the one BatchCompleted),
 * and the job is announced once. How the adapters speak to AWS is theirs to test: a missing key
 * read as OutputMissing in test/unit/lib/adapters/storage.test.ts ("turns NoSuchKey into
 * OutputMissing") and test/contract/object-store.contract.ts ("answers a missing key as
 * OutputMissing"), a bus that refuses the entry in test/contract/event-publisher.contract.ts
 * ("throws when the bus refuses the entry").
 */

/** The batch repository, counting the finishes that applied (the condition held). */
class CountingBatches extends FakeBatchRepository {
  finishes = 0;

  override async finish(batchId: string, blocks: number, at: string): Promise<boolean> {
    const applied = await super.finish(batchId, blocks, at);
    if (applied) this.finishes++;
    return applied;
  }

  /** A batch of `lines` lines in one block, expanded, every line submitted. */
  async add(batchId: string, lines: number): Promise<void> {
    await this.create({
      batchId,
      createdAt: '2026-11-24T00:00:00.000Z',
      source: { kind: 'manifest', uri: `s3://in/batches/${batchId}/manifest.jsonl` },
      blocks: 1,
      doneBlocks: [],
    });
    await this.openBlock(batchId, 0, lines, {}, 2_000_000_000);
    for (let line = 1; line <= lines; line++) await this.addLine(batchId, 0, line, 'submitted');
  }

  async lines(batchId: string, status: LineStatus): Promise<number[]> {
    const [block] = await this.blocks(batchId, 1);
    return block![status];
  }
}

const BATCH = 'b-0123456789abcdef01234567';
const now = new Date('2026-11-24T12:00:00.000Z');
const config = loadConfig();
const at = (key: string) => ({ bucket: OUTPUT_BUCKET, key });

let store: FakeJobRepository;
let objects: FakeObjectStore;
let batches: CountingBatches;
let queue: MemoryQueue;
let events: FakeEventPublisher;
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
  store.put(job);
  return job;
}

beforeEach(async () => {
  batches = new CountingBatches();
  queue = new MemoryQueue();
  events = new FakeEventPublisher();
  ({ deps, store, objects } = endingFakes(
    { events, batches: { batches, queue, now: () => now }, now: () => now },
    config,
  ));
  // Two lines: the first already ended and counted, the second ends by the path under test.
  await batches.add(BATCH, 2);
  store.put({ ...unfinished(1), status: 'COMPLETED' });
  store.markers.set(`${BATCH}-1`, { announcedAt: now.toISOString() });
  await batches.addLine(BATCH, blockOf(1), 1, 'completed');
});

const finishMessages = () =>
  [...queue.messages.values()].map((m) => JSON.parse(m.body)).filter((m) => m.t === 'finish');
const outcomeEvents = () =>
  events.published.filter((e) => e.type === 'JobCompleted' || e.type === 'JobFailed');

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
      objects.seed(at(`outputs/${id2}.out`), '0.5\n', 'text/csv');
      return checkJob(job, deps);
    },
  ],
  [
    'reconcile finding its failure',
    'failed',
    (job) => {
      objects.seed(at(`failures/${id2}-error.out`), 'out of memory', 'text/csv');
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
    expect(await batches.lines(BATCH, status)).toContain(2);
    expect(batches.finishes).toBe(1);
    expect(finishMessages()).toEqual([{ t: 'finish', batchId: BATCH }]);
    expect(outcomeEvents()).toHaveLength(1);
    expect(outcomeEvents()[0]!.detail).toMatchObject({
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
    store.put({ ...solo, inferenceId: 'solo' });
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
    expect(await batches.lines(BATCH, 'completed')).toEqual([1]);
  });

  it('when another ending won but stopped before its after-effects, runs them for the record found', async () => {
    // reconcile read the job IN_PROGRESS; meanwhile a notification made it FAILED and its process
    // died before the event and the count.
    const seen = unfinished(2);
    store.put({ ...seen, status: 'FAILED', failureReason: 'model error' });
    objects.seed(at(`outputs/${id2}.out`), '0.5\n', 'text/csv');
    const found = await checkJob(seen, deps);
    expect(found).toEqual({ verdict: 'completed', job: undefined });
    expect(store.records.get(id2)?.status).toBe('FAILED');
    expect(outcomeEvents().map((e) => e.type)).toEqual(['JobFailed']);
    expect(await batches.lines(BATCH, 'failed')).toEqual([2]);
    expect(batches.finishes).toBe(1);
  });

  it('counts the batch line even when the bus refuses the event, then throws for a retry', async () => {
    const down = new FakeEventPublisher();
    down.refuse = () => Object.assign(new Error('bus down'), { name: 'InternalException' });
    unfinished(2);
    await expect(
      processEvent(snsEvent({ topic: ERROR_TOPIC, message: failed(id2) }), ERROR_TOPIC, {
        ...deps,
        events: down,
      }),
    ).rejects.toThrow(/1 of 1 notifications not processed/);
    expect(await batches.lines(BATCH, 'failed')).toEqual([2]);
    expect(batches.finishes).toBe(1);
    // The redelivery (a duplicate for the state machine) sends the event the first one could not.
    await processEvent(snsEvent({ topic: ERROR_TOPIC, message: failed(id2) }), ERROR_TOPIC, deps);
    expect(outcomeEvents()).toHaveLength(1);
    expect(finishMessages()).toHaveLength(1);
  });

  it('afterEffects of a record already ended and announced only counts its line (idempotent)', async () => {
    store.put({ ...unfinished(2), status: 'COMPLETED' });
    store.markers.set(id2, { announcedAt: now.toISOString() });
    const effects: EndingDeps = deps;
    await afterEffects(await store.get(id2), effects);
    await afterEffects(await store.get(id2), effects);
    expect(outcomeEvents()).toHaveLength(0);
    expect(await batches.lines(BATCH, 'completed')).toEqual([1, 2]);
    expect(finishMessages()).toHaveLength(1);
  });
});
